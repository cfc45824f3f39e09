"""Exact evaluation of lesion segmentations: metrics, scoring, reports and comparisons.

numpy/scipy/nibabel only; never imports torch or ``isles2018``. Entry points:
:func:`evaluation.metrics.compute_metrics` (one case) and the ``isles-eval`` command
(:mod:`evaluation.cli`).
"""
