"""``isles2018 predict``: write challenge-format predictions for every case of a folder."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

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
    help="The <method> in SMIR.<method>.<id>.nii [default: GANSeg, or Threshold].",
)
@click.option("--tta", is_flag=True, help="Average over the x-, y- and xy-flipped inputs too.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True)
@click.option("--batch-size", default=8, show_default=True, help="Slices per forward pass.")
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
    from tqdm import tqdm

    from isles2018.data.io import DataError, write_like, write_prediction
    from isles2018.data.layout import discover_cases
    from isles2018.data.modalities import INPUT_CHANNELS, Modality

    name = method_name or ("GANSeg" if method == "gan" else "Threshold")
    try:
        cases = discover_cases(data)
    except DataError as error:
        raise click.ClickException(str(error)) from None
    predictor = (
        _gan_predictor(weights, device, precision, tta, batch_size) if method == "gan" else None
    )
    needed = set(INPUT_CHANNELS) if method == "gan" else {Modality.CBF, Modality.TMAX}
    failed: list[str] = []
    started = time.perf_counter()
    for case in tqdm(cases, desc="predict", unit="case"):
        try:
            if case.duplicated:
                raise DataError(f"{case.case_id}: {case.duplicated[0]}")
            missing = sorted(m.token for m in needed | {Modality.MTT} if not case.has(m))
            if missing:
                raise DataError(f"{case.folder}: missing {', '.join(missing)}")
            probability = dwi = None
            if predictor is None:
                from isles2018.inference.threshold import threshold_case

                mask = threshold_case(case)
            else:
                mask, probability, dwi = predictor(case)
            mtt, smir_id = case.path(Modality.MTT), case.smir_id(Modality.MTT)
            write_prediction(mask, mtt, smir_id, out, name)
            if save_probabilities and probability is not None:
                write_like(out / f"SMIR.{name}.{smir_id}.probability.nii.gz", probability, mtt)
            if save_dwi and dwi is not None:
                write_like(out / f"SMIR.{name}.{smir_id}.dwi.nii.gz", dwi, mtt)
        except (DataError, ValueError) as error:
            failed.append(case.case_id)
            tqdm.write(f"error: {error}", file=sys.stderr)
    seconds = time.perf_counter() - started
    click.echo(
        f"wrote {len(cases) - len(failed)} prediction(s) to {out} in {seconds:.1f} s"
        + (f"; {len(failed)} case(s) failed: {', '.join(failed)}" if failed else "")
    )
    if failed:
        raise SystemExit(1)


def _gan_predictor(
    weights: tuple[Path, ...], device: str, precision: str, tta: bool, batch_size: int
):  # type: ignore[no-untyped-def]
    """Load the ensemble once; return ``case -> (mask, probability, dwi)``."""
    import torch

    from isles2018.data.stack import load_case_arrays
    from isles2018.inference.checkpoint import CheckpointError
    from isles2018.inference.predictor import load_members, predict_arrays, resolve_device

    if not weights:
        raise click.ClickException("--weights is required for --method gan")
    try:
        target = resolve_device(device)
        members = load_members(weights, target)
    except (CheckpointError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"ensemble of {len(members)} checkpoint(s) on {target}")
    amp = torch.bfloat16 if precision == "bf16" else None

    def run(case):  # type: ignore[no-untyped-def]
        arrays = load_case_arrays(case, with_dwi=False, with_label=False)
        prediction = predict_arrays(
            members,
            arrays,
            device=target,
            tta=tta,
            batch_size=batch_size,
            amp=amp,
            channels_last=target.type == "cpu",
        )
        return prediction.mask, prediction.probability, prediction.dwi

    return run
