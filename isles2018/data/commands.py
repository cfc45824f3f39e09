"""``isles2018 inspect``, ``split`` and ``unpack``: thin commands over the data layer."""

from __future__ import annotations

from pathlib import Path

import click

from isles2018.data.splits import SPLITS_FILE


def _format_spacing(spacing: tuple[float, ...] | None) -> str:
    return "x".join(f"{s:.3g}" for s in spacing) if spacing else "-"


def run_inspect(data: Path) -> bool:
    """Print the case table and summary; return True when no case has a problem."""
    from tqdm import tqdm

    from isles2018.data.checks import data_set_problems, inspect_case
    from isles2018.data.layout import discover_cases

    cases = discover_cases(data)
    reports = [inspect_case(c) for c in tqdm(cases, desc="inspect", unit="case", leave=False)]
    # ISLES'24 subjects (sub-strokecase0001) are longer than ISLES 2018's case_<n>
    width = max([10, *(len(r.case.case_id) + 1 for r in reports)])
    patient_width = max([14, *(len(r.case.patient_id) + 1 for r in reports)])
    header = f"{'case':<{width}} {'split':<8} {'patient':<{patient_width}} {'slices':>6} "
    header += f"{'frames':>6} {'spacing_mm':<16} modalities"
    click.echo(header)
    for report in reports:
        case = report.case
        modalities = ",".join(sorted(m.token for m in case.files))
        click.echo(
            f"{case.case_id:<{width}} {case.split:<8} {case.patient_id:<{patient_width}} "
            f"{report.slices if report.slices is not None else '-':>6} "
            f"{report.timepoints if report.timepoints is not None else '-':>6} "
            f"{_format_spacing(report.spacing_mm):<16} {modalities}"
        )
    failed = [r for r in reports if r.problems]
    for report in failed:
        for problem in report.problems:
            click.echo(f"problem: {report.case.case_id}: {problem}")
    whole = data_set_problems(data)
    for problem in whole:
        click.echo(f"problem: {problem}")
    patients = {(r.case.split, r.case.patient_id) for r in reports}
    slices = sum(r.slices or 0 for r in reports)
    click.echo(
        f"{len(reports)} case(s), {len(patients)} patient(s), {slices} slice(s); "
        f"{len(failed)} case(s) with problems" + (" and an unfinished data set" if whole else "")
    )
    return not failed and not whole


@click.command("inspect")
@click.argument("data", type=click.Path(path_type=Path))
def inspect(data: Path) -> None:
    """Check an ISLES 2018 folder or ISLES'24 tree: a table of cases and every problem; exit 1
    on any problem."""
    if not run_inspect(data):
        raise SystemExit(1)


@click.command("split")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--folds", "k", default=4, show_default=True, help="Number of folds (paper: 4).")
@click.option("--seed", default=0, show_default=True, help="Seed of the tie-breaking order.")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=Path(SPLITS_FILE),
    show_default=True,
    help="Where to write the split.",
)
def split(data: Path, k: int, seed: int, out: Path) -> None:
    """Write patient-grouped k-fold cross-validation splits of the TRAINING cases."""
    from isles2018.data.layout import training_cases
    from isles2018.data.splits import split_cases

    splits = split_cases(training_cases(data), k=k, seed=seed)
    splits.save(out)
    for fold in splits.folds:
        patients = {splits.patients[c] for c in fold.val}
        n_slices = sum(splits.slices[c] for c in fold.val)
        click.echo(
            f"fold {fold.fold}: {len(fold.val)} case(s), {len(patients)} patient(s), "
            f"{n_slices} slice(s) held out"
        )
    click.echo(f"wrote {out}")


@click.command("unpack")
@click.argument("archive", type=click.Path(path_type=Path))
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--md5", default=None, help="Expected MD5 (default: the official one by file name).")
def unpack(archive: Path, dest: Path, md5: str | None) -> None:
    """Verify a downloaded ISLES 2018 zip, extract it without __MACOSX, and inspect it."""
    from isles2018.data.unpack import unpack_zip

    created = unpack_zip(archive, dest, expected_md5=md5)
    click.echo(f"extracted {', '.join(p.name for p in created)} into {dest}")
    if not run_inspect(dest):
        raise SystemExit(1)
