"""``isles2018 validate-submission`` and ``package-submission``: thin commands."""

from __future__ import annotations

from pathlib import Path

import click


def _validate(folder: Path, data: Path, method_name: str | None) -> bool:
    from isles2018.data.layout import testing_cases
    from isles2018.submission.checks import validate_submission

    report = validate_submission(folder, testing_cases(data), method_name)
    for problem in report.problems:
        click.echo(f"problem: {problem}")
    verdict = "valid" if report.ok else f"INVALID ({len(report.problems)} problem(s))"
    click.echo(f"{folder}: {report.checked} prediction(s) checked; submission {verdict}")
    return report.ok


_data = click.option(
    "--data",
    required=True,
    type=click.Path(path_type=Path),
    help="The ISLES TESTING folder the predictions are for.",
)
_method_name = click.option(
    "--method-name", default=None, help="Require this <method> in every file name."
)


@click.command("validate-submission")
@click.argument("folder", type=click.Path(path_type=Path))
@_data
@_method_name
def validate_submission(folder: Path, data: Path, method_name: str | None) -> None:
    """Check a submission: one file per test case, right CT_MTT ids and headers, values {0,1}."""
    if not _validate(folder, data, method_name):
        raise SystemExit(1)


@click.command("package-submission")
@click.argument("folder", type=click.Path(path_type=Path))
@_data
@_method_name
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=Path("submission.zip"),
    show_default=True,
    help="The zip to write (atomically; nothing is written if the submission is invalid).",
)
def package_submission(folder: Path, data: Path, method_name: str | None, out: Path) -> None:
    """Validate a submission folder, then zip it with a SHA-256 manifest (nothing on failure)."""
    from isles2018.errors import SubmissionError
    from isles2018.submission.package import package_submission as package

    if not _validate(folder, data, method_name):
        raise SubmissionError(f"{folder}: not packaged because the submission is invalid")
    package(folder, out)
    click.echo(f"wrote {out}")
