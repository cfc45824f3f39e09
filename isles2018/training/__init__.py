"""Training: the paper's train step and losses, the cross-validation run loop, its metrics log,
the Table 1 ablation and multi-process training."""
