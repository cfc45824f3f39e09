"""``isles2018 phantom``: generate a synthetic data set in the ISLES 2018 or ISLES'24 layout."""

from __future__ import annotations

from pathlib import Path

import click

from isles2018.phantom.isles24.names import SPELLINGS
from isles2018.phantom.isles24.plan import GEOMETRIES, MASK_DTYPES
from isles2018.phantom.request import LAYOUTS
from isles2018.phantom.sampling import MAX_CASES, PROFILES


@click.command("phantom")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--cases",
    type=click.IntRange(1, MAX_CASES),
    default=20,
    show_default=True,
    help="Training cases (TRAINING/).",
)
@click.option(
    "--test-cases",
    type=click.IntRange(0, MAX_CASES),
    default=0,
    show_default=True,
    help="Testing cases (TESTING/ + REFERENCE/).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed.")
@click.option(
    "--profile",
    type=click.Choice(list(PROFILES)),
    default="isles",
    show_default=True,
    help="isles (the ISLES 2018 mix), ci (small, 3 HU noise) or clean (no noise).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes."
)
@click.option(
    "--gzip/--no-gzip",
    default=None,
    help="Write .nii.gz or .nii [default: .nii for isles2018, .nii.gz for isles24].",
)
@click.option("--five-d", is_flag=True, help="Store the 4D series as (X, Y, Z, 1, T).")
@click.option(
    "--layout",
    type=click.Choice(LAYOUTS),
    default="isles2018",
    show_default=True,
    help="isles2018 (TRAINING/case_<n>/SMIR…) or isles24 (rawdata/ and derivatives/ trees).",
)
@click.option(
    "--spelling",
    type=click.Choice(list(SPELLINGS)),
    default=None,
    help="isles24: challenge (sub-strokecase0001/ses-0001, default) or sample "
    "(sub-stroke0001/ses-01).",
)
@click.option(
    "--geometry",
    type=click.Choice(list(GEOMETRIES)),
    default=None,
    help="isles24: small (64×70×20, fast, default) or realistic (512×560×90, 0.4 mm, 2 mm slices).",
)
@click.option(
    "--oblique/--axis-aligned",
    default=None,
    help="isles24: tilted affine, or axis-aligned with x and y flipped [default: oblique for "
    "realistic, axis-aligned for small].",
)
@click.option(
    "--mask-dtype",
    type=click.Choice(MASK_DTYPES),
    default=None,
    help="isles24: dtype of the lesion masks [default: uint16].",
)
@click.option(
    "--report",
    is_flag=True,
    help="Print the calibration anchors (threshold rule, DWI and CTP ceilings) of the data set "
    "against their published bands (ISLES 2018 layout).",
)
def phantom(
    out: Path,
    cases: int,
    test_cases: int,
    seed: int,
    profile: str,
    workers: int,
    gzip: bool | None,
    five_d: bool,
    layout: str,
    spelling: str | None,
    geometry: str | None,
    oblique: bool | None,
    mask_dtype: str | None,
    report: bool,
) -> None:
    """Generate a synthetic CT perfusion stroke data set into OUT, in the ISLES 2018 layout or
    (--layout isles24) the ISLES'24 one.

    Rerunning with the same options completes an interrupted run; with --report on a complete
    data set it only reports.
    """
    from isles2018.errors import PhantomError
    from isles2018.phantom.generate import Request, generate_dataset, read_manifest
    from isles2018.phantom.report import report_lines

    if report and layout != "isles2018":
        raise PhantomError("--report computes the anchors of the isles2018 layout only")

    request = Request(
        out=out,
        cases=cases,
        test_cases=test_cases,
        seed=seed,
        profile=profile,
        workers=workers,
        gzip=gzip,
        five_d=five_d,
        layout=layout,
        spelling=spelling,
        geometry=geometry,
        oblique=oblique,
        mask_dtype=mask_dtype,
    )
    result = generate_dataset(request)
    unit = "subject(s)" if layout == "isles24" else "case(s)"
    click.echo(
        f"{out}: {result.generated} {unit} generated, {result.skipped} already complete; "
        f"manifest {result.manifest}"
    )
    if report:
        for line in report_lines(read_manifest(out)["anchors"]):
            click.echo(line)
