"""The one exception type of the evaluation toolkit."""

from __future__ import annotations


class EvaluationError(ValueError):
    """Bad input, described in one readable line that names the file or case and the problem."""
