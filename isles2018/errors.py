"""The errors a user sees: every one derives from :class:`UserError`.

A ``UserError`` is a problem with the user's files, folders, options or configuration. Its
message is one line that names the file (or option) and the problem. The command-line group
(:mod:`isles2018.cli`) turns it into that line on stderr and exit code 1, in one place; loops over
cases catch ``UserError`` alone, so any other exception is a bug and surfaces as one (traceback,
exit code not 0). The evaluation package keeps its own
:class:`evaluation.errors.EvaluationError` (it never imports ``isles2018``); the group converts
it the same way.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, described in one readable line."""


class DataError(UserError):
    """An ISLES folder, case or volume that cannot be used (missing, unreadable, inconsistent)."""


class ConfigError(UserError):
    """An invalid configuration or option; the message names the key or value."""


class CheckpointError(UserError):
    """A checkpoint or weights folder that is missing, tampered with or unusable here."""


class TrainingError(UserError):
    """A training run that cannot start or continue (wrong folder, data or resume state)."""


class CrossvalError(UserError):
    """A run folder that cannot be evaluated by cross-validation."""


class PhantomError(UserError):
    """A phantom request the generator refuses."""


class OutputError(UserError):
    """A file or folder that cannot be written: no permission, a full disk, a read-only mount,
    or a file where a folder is needed (and the other way round)."""


class SubmissionError(UserError):
    """A submission folder or archive that cannot be validated or packaged."""
