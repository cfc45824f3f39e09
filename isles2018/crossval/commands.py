"""``isles2018 crossval``: a thin command over :mod:`isles2018.crossval.evaluate`.

torch is imported inside the command, never at module level, so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from evaluation.conventions import PRESETS
from isles2018.cli import DEVICE_OPTION


@click.command("crossval")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The TRAINING folder the run was trained on (its OT is the reference).",
)
@DEVICE_OPTION
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    default="default",
    show_default=True,
    help="Metric conventions of the scoring (see evaluation/README.md).",
)
@click.option("--tta", is_flag=True, help="Average over the x-, y- and xy-flipped inputs too.")
@click.option("--workers", type=click.IntRange(min=1), help="Scoring processes [default: CPUs].")
def crossval(
    run: Path, data: Path, device: str, preset: str, tta: bool, workers: int | None
) -> None:
    """Predict each fold's validation cases with that fold's checkpoint and score them.

    RUN is a run folder (splits.json, fold_<k>/) or an ablation folder (RUN/<stage>/ per
    stage). Writes RUN/crossval/{predictions,eval}/ per run (predictions still newer than their
    checkpoint are reused) and, for an ablation, RUN/crossval/table1.md. Folds without a
    checkpoint are listed and not scored; a case that fails counts as Dice 0 and makes the exit
    code 1, after every other case is scored.
    """
    from isles2018.crossval.evaluate import CrossvalResult, run_markdown
    from isles2018.crossval.table1 import evaluate_stages
    from isles2018.data.layout import training_cases
    from isles2018.errors import CrossvalError
    from isles2018.models.device import resolve_device

    options = {"device": resolve_device(device), "tta": tta, "preset": preset, "workers": workers}
    results, table = evaluate_stages(run, training_cases(data), **options)
    failed = []
    for stage, result in results.items():
        if isinstance(result, CrossvalResult):
            click.echo(run_markdown(result))
            failed += [(stage + ": " if stage else "") + row["case_id"] for row in result.failed]
        else:
            click.echo(f"{stage}: {result}")
    if table is not None:
        click.echo(table.read_text())
        click.echo(f"written: {table}")
    if failed:
        names = ", ".join(failed)
        raise CrossvalError(f"{len(failed)} case(s) failed, counted as Dice 0 ({names})")
