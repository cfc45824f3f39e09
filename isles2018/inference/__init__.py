"""Inference: checkpoints, the shipped weights, prediction of cases and the threshold method."""
