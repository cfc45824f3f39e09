"""``isles-eval``: score, report and compare (a click group; ``isles2018`` may attach it).

Heavy modules are imported inside the commands so that ``--help`` stays fast. ``-h`` is
``--help``; ``--version`` prints the installed ``isles2018`` distribution's version. Every
:class:`EvaluationError` (bad input, or a file that cannot be written) becomes one line,
``Error: <line>``, and exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import click

from evaluation.conventions import INF_POLICIES, PRESETS
from evaluation.errors import EvaluationError
from evaluation.surface_stats import SURFACE_DICE_TOLERANCE_MM

_DIR = click.Path(file_okay=False, path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)
#: Output paths: any path; a file in the way is reported as an EvaluationError when writing.
_OUT = click.Path(path_type=Path)
DISTRIBUTION = "isles2018"


def version() -> str:
    """The installed distribution's version, or ``unknown`` when it is not installed."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed)"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"isles-eval, version {version()}")
        ctx.exit()


@click.group(name="eval", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def main() -> None:
    """Exact evaluation of lesion masks (Dice, HD, HD95, ASSD, volumes, lesion-wise F1)."""


@main.command()
@click.option("--prediction", "prediction_dir", type=_DIR, required=True, help="Prediction folder.")
@click.option(
    "--reference",
    "reference_dir",
    type=_DIR,
    required=True,
    help="ISLES-layout folder (case_<n>/…OT…), a data-set root holding one "
    "(TRAINING/, REFERENCE/), an ISLES'24 root or its derivatives/ (lesion-msk; predictions "
    "named <sub>.nii.gz), or <case_id>.nii[.gz] files.",
)
@click.option("--splits", type=_FILE, help="splits.json: folds and patients.")
@click.option("--patients", "patients_csv", type=_FILE, help="CSV with columns case,patient.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="default", show_default=True)
@click.option(
    "--inf-policy", type=click.Choice(list(INF_POLICIES)), default="report", show_default=True
)
@click.option("--workers", type=click.IntRange(min=1), help="Processes [default: CPU count].")
@click.option(
    "--nsd-tolerance-mm",
    type=click.FloatRange(min=0.0),
    default=SURFACE_DICE_TOLERANCE_MM,
    show_default=True,
    help="Tolerance of the normalised surface Dice (surface_dice column), in mm.",
)
@click.option("--binarise", is_flag=True, help="Accept any labels; lesion = non-zero.")
@click.option("--report", "make_report", is_flag=True, help="Also write report.html.")
@click.option(
    "--background",
    "--background-dir",
    "background_dir",
    type=_DIR,
    help="Overlay backgrounds: ISLES layout (CT_MTT) or <case_id>.nii[.gz].",
)
@click.option("--out", "out_dir", type=_OUT, required=True, help="Output folder.")
def score(
    prediction_dir: Path,
    reference_dir: Path,
    splits: Path | None,
    patients_csv: Path | None,
    preset: str,
    inf_policy: str,
    workers: int | None,
    nsd_tolerance_mm: float,
    binarise: bool,
    make_report: bool,
    background_dir: Path | None,
    out_dir: Path,
) -> None:
    """Score every case; write per_case.csv and summary.json; exit 1 if any case failed."""
    from evaluation.atomic import check_output_folder
    from evaluation.score import score_directory, write_run
    from evaluation.tables import summary_markdown

    try:
        check_output_folder(out_dir)  # before scoring: a file in the way fails at once
        run = score_directory(
            prediction_dir,
            reference_dir,
            splits=splits,
            patients_csv=patients_csv,
            preset=preset,
            inf_policy=inf_policy,
            workers=workers,
            binarise=binarise,
            background_dir=background_dir,
            surface_dice_tolerance_mm=nsd_tolerance_mm,
        )
        write_run(run, out_dir)
        click.echo(summary_markdown(run.summary))
        if make_report:
            from evaluation.report import build_report

            click.echo(f"report: {build_report(out_dir)}")
    except EvaluationError as error:
        raise click.ClickException(str(error)) from None
    if run.failed:
        names = ", ".join(r["case_id"] for r in run.failed)
        raise click.ClickException(
            f"{len(run.failed)} of {len(run.rows)} cases failed ({names}); see {out_dir}"
        )


@main.command()
@click.argument("run_dir", type=_DIR)
@click.option(
    "--background",
    "--background-dir",
    "background_dir",
    type=_DIR,
    help="Overlay backgrounds: ISLES layout (CT_MTT) or <case_id>.nii[.gz].",
)
def report(run_dir: Path, background_dir: Path | None) -> None:
    """Write RUN_DIR/report.html: fold table, box plots, scatter, per-case overlays."""
    from evaluation.report import build_report

    try:
        click.echo(f"report: {build_report(run_dir, background_dir)}")
    except EvaluationError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--metric", default="dice", show_default=True, help="A per_case.csv column.")
@click.option("--seed", default=0, show_default=True, help="Bootstrap seed.")
@click.option(
    "--out",
    "out_path",
    type=_OUT,
    help="JSON output [default: RUN_B/compare_<metric>.json].",
)
def compare(run_a: Path, run_b: Path, metric: str, seed: int, out_path: Path | None) -> None:
    """Paired comparison B − A: bootstrap 95 % CI and Wilcoxon signed-rank p-value."""
    from evaluation.compare import compare_runs, comparison_markdown
    from evaluation.run_files import write_json

    try:
        result = compare_runs(run_a, run_b, metric, seed=seed)
        if out_path is None:
            folder = run_b if run_b.is_dir() else run_b.parent
            out_path = folder / f"compare_{metric}.json"
        write_json(result, out_path)
    except EvaluationError as error:
        raise click.ClickException(str(error)) from None
    click.echo(comparison_markdown(result))
    click.echo(f"written: {out_path}")
