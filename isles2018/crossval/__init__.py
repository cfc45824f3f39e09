"""Cross-validation evaluation of a trained run, and Table 1 beside the paper."""
