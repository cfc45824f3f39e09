"""``isles2018 phantom``: generate a synthetic ISLES 2018 data set."""

from __future__ import annotations

from pathlib import Path

import click

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
@click.option("--gzip", is_flag=True, help="Write .nii.gz instead of .nii.")
@click.option("--five-d", is_flag=True, help="Store CT_4DPWI as (X, Y, Z, 1, T).")
def phantom(
    out: Path,
    cases: int,
    test_cases: int,
    seed: int,
    profile: str,
    workers: int,
    gzip: bool,
    five_d: bool,
) -> None:
    """Generate a synthetic CT perfusion stroke data set in the ISLES 2018 layout into OUT.

    Rerunning with the same options completes an interrupted run.
    """
    from isles2018.phantom.generate import Request, generate_dataset

    request = Request(
        out=out,
        cases=cases,
        test_cases=test_cases,
        seed=seed,
        profile=profile,
        workers=workers,
        gzip=gzip,
        five_d=five_d,
    )
    result = generate_dataset(request)
    click.echo(
        f"{out}: {result.generated} case(s) generated, {result.skipped} already complete; "
        f"manifest {result.manifest}"
    )
