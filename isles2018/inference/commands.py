"""``isles2018 predict``: a thin command over :class:`isles2018.inference.Predictor`."""

from __future__ import annotations

from pathlib import Path

import click

from isles2018.data.modalities import DEFAULT_METHOD_NAME, THRESHOLD_METHOD_NAME

METHODS = ("gan", "threshold")


@click.command("predict")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--weights",
    "weights",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Checkpoint folder, run folder or weights folder; repeat to ensemble (probabilities "
    "are averaged). Required for --method gan.",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--method", type=click.Choice(METHODS), default="gan", show_default=True)
@click.option(
    "--method-name",
    default=None,
    help=f"The <method> in SMIR.<method>.<id>.nii [default: {DEFAULT_METHOD_NAME}, or "
    f"{THRESHOLD_METHOD_NAME}].",
)
@click.option("--tta", is_flag=True, help="Average over the x-, y- and xy-flipped inputs too.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Slices per forward pass.",
)
@click.option(
    "--save-probabilities",
    is_flag=True,
    help="Also write SMIR.<method>.<id>.probability.nii.gz (not part of a submission).",
)
@click.option(
    "--save-dwi",
    is_flag=True,
    help="Also write the synthetic DWI as SMIR.<method>.<id>.dwi.nii.gz (not part of a "
    "submission).",
)
def predict(
    data: Path,
    weights: tuple[Path, ...],
    out: Path,
    method: str,
    method_name: str | None,
    tta: bool,
    device: str,
    precision: str,
    batch_size: int,
    save_probabilities: bool,
    save_dwi: bool,
) -> None:
    """Predict lesion masks for every case under DATA (a TESTING folder or one case folder).

    A case that fails (bad or missing file) is reported and skipped; every other case is still
    written; the exit code is 1 if any case failed.
    """
    from isles2018.data.layout import discover_cases
    from isles2018.errors import ConfigError
    from isles2018.inference.predictor import Predictor

    cases = discover_cases(data)
    if method == "threshold":
        predictor = Predictor.threshold(method_name=method_name)
    else:
        if not weights:
            raise ConfigError("--weights is required for --method gan")
        predictor = Predictor.from_checkpoints(
            weights,
            device=device,
            tta=tta,
            batch_size=batch_size,
            precision=precision,
            method_name=method_name,
        )
        click.echo(f"ensemble of {len(predictor.members)} checkpoint(s) on {predictor.device}")
    report = predictor.predict_folder(
        cases, out, save_probabilities=save_probabilities, save_dwi=save_dwi
    )
    click.echo(report.summary(out))
    if report.failed:
        raise SystemExit(1)
