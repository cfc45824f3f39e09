"""``isles2018 predict``: a thin command over :class:`isles2018.inference.Predictor`."""

from __future__ import annotations

from pathlib import Path

import click

from isles2018.cli import DEVICE_OPTION
from isles2018.config.schema import COMPILE_MODES
from isles2018.data.modalities import DEFAULT_METHOD_NAME, THRESHOLD_METHOD_NAME

METHODS = ("gan", "threshold")
#: The threshold method's rules (``isles2018.inference.threshold.RULES``, not imported here so
#: that ``--help`` reads no imaging library).
THRESHOLD_RULES = ("tmax6", "delay3")


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
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="gan",
    show_default=True,
    help="gan: the trained networks of --weights; threshold: the classical perfusion rule.",
)
@click.option(
    "--rule",
    type=click.Choice(THRESHOLD_RULES),
    default=None,
    help="Rule of --method threshold [default: tmax6]: tmax6 = rCBF < 30 % and Tmax > 6 s "
    "(RAPID-style CTP software thresholds); delay3 = rCBF < 30 % and Tmax > 3 s (the paper's "
    "§1 'delay time > 3 s', Tmax standing in for delay time).",
)
@click.option(
    "--method-name",
    default=None,
    help=f"The <method> in SMIR.<method>.<id>.nii [default: {DEFAULT_METHOD_NAME}, or "
    f"{THRESHOLD_METHOD_NAME}].",
)
@click.option("--tta", is_flag=True, help="Average over the x-, y- and xy-flipped inputs too.")
@DEVICE_OPTION
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16", "auto"]),
    default="fp32",
    show_default=True,
    help="Arithmetic of the forward pass (bf16 autocast is faster on GPUs, not more exact; "
    "auto: bf16 on CUDA where every checkpoint's runtime.amp allows it, else fp32).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Slices per forward pass.",
)
@click.option(
    "--compile",
    "compile_mode",
    type=click.Choice(COMPILE_MODES),
    default="off",
    show_default=True,
    help="torch.compile the networks, as runtime.compile (meant for GPUs; the first batch "
    "waits for the compiler). Where no compiler is available: one line, then eager.",
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
    rule: str | None,
    method_name: str | None,
    tta: bool,
    device: str,
    precision: str,
    batch_size: int,
    compile_mode: str,
    save_probabilities: bool,
    save_dwi: bool,
) -> None:
    """Predict lesion masks for every case under DATA (a TESTING folder or one case folder).

    A case that fails (bad or missing file) is reported and skipped; every other case is still
    written; the exit code is 1 if any case failed.
    """
    from isles2018.data.case import ISLES24
    from isles2018.data.layout import discover_cases
    from isles2018.errors import ConfigError
    from isles2018.inference.predictor import Predictor

    cases = discover_cases(data)
    if method == "threshold":
        if compile_mode != "off":
            raise ConfigError("--compile applies to --method gan only")
        predictor = Predictor.threshold(rule=rule, method_name=method_name)
    else:
        if rule is not None:
            raise ConfigError("--rule applies to --method threshold only")
        if not weights:
            raise ConfigError("--weights is required for --method gan")
        predictor = Predictor.from_checkpoints(
            weights,
            device=device,
            tta=tta,
            batch_size=batch_size,
            precision=precision,
            method_name=method_name,
            compile=compile_mode,
        )
        click.echo(f"ensemble of {len(predictor.members)} checkpoint(s) on {predictor.device}")
    layouts = sorted({"ISLES'24" if c.layout == ISLES24 else "ISLES 2018" for c in cases})
    click.echo(f"{len(cases)} case(s) in {data} ({' and '.join(layouts)} layout)")
    report = predictor.predict_folder(
        cases, out, save_probabilities=save_probabilities, save_dwi=save_dwi
    )
    click.echo(report.summary(out))
    if report.failed:
        raise SystemExit(1)
