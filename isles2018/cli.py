"""The ``isles2018`` command line: a click group whose commands load on demand.

Command modules (each stage's ``commands.py``) are imported only when their command runs or help
is shown, and none of them imports torch at module level, so ``isles2018 --help`` is fast. This
group is the one place where a :class:`~isles2018.errors.UserError` (or the evaluation's
``EvaluationError``) becomes one line on stderr and exit code 1; any other exception is a bug
and keeps its traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from isles2018 import __version__

#: command name → "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "phantom": "isles2018.phantom.commands:phantom",
    "inspect": "isles2018.data.commands:inspect",
    "split": "isles2018.data.commands:split",
    "unpack": "isles2018.data.commands:unpack",
    "train": "isles2018.training.commands:train",
    "ablation": "isles2018.training.commands:ablation",
    "predict": "isles2018.inference.commands:predict",
    "crossval": "isles2018.crossval.commands:crossval",
    "validate-submission": "isles2018.submission.commands:validate_submission",
    "package-submission": "isles2018.submission.commands:package_submission",
    "eval": "evaluation.cli:main",
}


#: ``--device`` of the commands that run networks (training overrides ``runtime.device`` instead).
DEVICE_OPTION = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where the networks run (auto: CUDA when present).",
)


class LazyGroup(click.Group):
    """A click group that imports each command's module only when it is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a user error becomes ``Error: <one line>`` and exit code 1."""
        from evaluation.errors import EvaluationError
        from isles2018.errors import UserError

        try:
            return super().invoke(ctx)
        except (UserError, EvaluationError) as error:
            raise click.ClickException(str(error)) from None
        except OSError as error:
            # A file-system fault that no writer turned into an OutputError: still one line.
            if error.filename is None:
                raise
            raise click.ClickException(f"{error.filename}: {error.strerror or error}") from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="isles2018")
def main() -> None:
    """ISLES 2018 stroke lesion segmentation from CT perfusion (Liu, BrainLes 2018).

    Generate synthetic data, inspect and split ISLES folders, train, predict, package a
    submission and score results.
    """
