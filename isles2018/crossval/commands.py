"""``isles2018 crossval``: a thin command over :mod:`isles2018.crossval.evaluate`.

torch is imported inside the command, never at module level, so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from evaluation.conventions import PRESETS


@click.command("crossval")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The TRAINING folder the run was trained on (its OT is the reference).",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--preset", type=click.Choice(list(PRESETS)), default="default", show_default=True)
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
    from isles2018.crossval.evaluate import (
        FOLDER,
        TABLE,
        CrossvalError,
        CrossvalResult,
        evaluate_run,
        run_markdown,
        stage_runs,
    )
    from isles2018.crossval.table1 import table1_markdown
    from isles2018.data.io import DataError
    from isles2018.data.layout import discover_cases
    from isles2018.inference.predictor import resolve_device

    try:
        target = resolve_device(device)
        cases = [c for c in discover_cases(data) if c.split == "training"]
    except (DataError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if not cases:
        raise click.ClickException(f"{data}: no training cases (with OT ground truth) found")
    options = {"device": target, "tta": tta, "preset": preset, "workers": workers}
    stages = stage_runs(run)
    results: dict[str, CrossvalResult | str] = {}
    for stage, folder in (stages or {"": run}).items():
        try:
            results[stage] = result = evaluate_run(folder, cases, **options)
        except CrossvalError as error:
            if not stages:
                raise click.ClickException(str(error)) from None
            results[stage] = str(error)
            click.echo(f"{stage}: not evaluated: {error}")
            continue
        click.echo(run_markdown(result))
    failed = {s: r.failed for s, r in results.items() if not isinstance(r, str) and r.failed}
    if stages:
        if all(isinstance(r, str) for r in results.values()):
            raise click.ClickException(f"{run}: no stage folder holds a fold checkpoint")
        table = table1_markdown(results)
        (run / FOLDER).mkdir(parents=True, exist_ok=True)
        (run / FOLDER / TABLE).write_text(table)
        click.echo(table)
        click.echo(f"written: {run / FOLDER / TABLE}")
    if failed:
        names = ", ".join(
            f"{stage + ': ' if stage else ''}{row['case_id']}"
            for stage, rows in failed.items()
            for row in rows
        )
        count = sum(map(len, failed.values()))
        raise click.ClickException(f"{count} case(s) failed, counted as Dice 0 ({names})")
