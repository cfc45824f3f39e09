"""Benchmark: the full metric set vs MedPy 0.5.2 (dc + hd + hd95 + assd), and scoring throughput.

Run: ``.venv/bin/python benchmarks/evaluation.py``. Prints, in one run, the time per case of
``evaluation.metrics.compute_metrics`` (every metric: overlap, HD, HD95, ASSD, MASD, directed
means, volumes, lesion-wise counts) and of MedPy computing only dc, hd, hd95 and assd on the same
pair, their ratio, the largest disagreement of the ``medpy`` preset with MedPy, and the scoring
throughput for 100 small cases with 1 and 2 workers. No assertions: figures to read.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# This file is named evaluation.py: keep its own folder off sys.path so that `import evaluation`
# finds the package, not this script.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from medpy.metric import binary as medpy_binary  # noqa: E402
from scipy import ndimage  # noqa: E402

from evaluation.metrics import compute_metrics  # noqa: E402
from evaluation.score import score_directory  # noqa: E402

SPACING_MM = (0.9, 0.9, 5.0)


def _field(shape: tuple[int, ...], sigma: tuple[float, ...], rng: np.random.Generator):
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return field / field.std()


def typical_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """256×256×8: one irregular ~20 ml lesion, prediction shifted and eroded in places."""
    rng = np.random.default_rng(seed)
    shape = (256, 256, 8)
    x, y, z = np.meshgrid(*(np.arange(n, dtype=float) for n in shape), indexing="ij")
    radius = np.sqrt(((x - 100) / 30) ** 2 + ((y - 130) / 22) ** 2 + ((z - 4) / 3) ** 2)
    reference = radius + 0.3 * _field(shape, (4, 4, 1), rng) < 1.0
    prediction = radius + 0.3 * _field(shape, (4, 4, 1), rng) < 0.95
    return reference, np.roll(prediction, 3, axis=0)


def heavy_case(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """256×256×22: a large irregular ~240 ml lesion and a satellite; the prediction has a
    ragged border and ~350 scattered false-positive specks (union box = whole volume)."""
    rng = np.random.default_rng(seed)
    shape = (256, 256, 22)
    x, y, z = np.meshgrid(*(np.arange(n, dtype=float) for n in shape), indexing="ij")
    radius = np.sqrt(((x - 110) / 45) ** 2 + ((y - 140) / 35) ** 2 + ((z - 10) / 7) ** 2)
    border = 0.35 * _field(shape, (4, 4, 1), rng)
    satellite = np.sqrt(((x - 190) / 12) ** 2 + ((y - 70) / 10) ** 2 + ((z - 5) / 3) ** 2)
    reference = (radius + border < 1.0) | (satellite + 0.3 * _field(shape, (3, 3, 1), rng) < 1)
    prediction = radius + border + 0.25 * _field(shape, (2, 2, 1), rng) - 0.05 < 1.0
    prediction |= _field(shape, (2, 2, 0.7), rng) > 3.2
    return reference, prediction


def best_time(function: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def medpy_set(reference: np.ndarray, prediction: np.ndarray) -> tuple[float, ...]:
    """MedPy's dc, hd, hd95, assd (its argument order is result, reference)."""
    return (
        medpy_binary.dc(prediction, reference),
        medpy_binary.hd(prediction, reference, SPACING_MM),
        medpy_binary.hd95(prediction, reference, SPACING_MM),
        medpy_binary.assd(prediction, reference, SPACING_MM),
    )


def compare_with_medpy(name: str, reference: np.ndarray, prediction: np.ndarray) -> None:
    """Interleaved rounds (each tool best of 2) so both see the same machine load;
    prints the best times and the median of the per-round ratios."""
    ratios, ours_best, theirs_best = [], float("inf"), float("inf")
    for _ in range(5):
        ours = best_time(lambda: compute_metrics(reference, prediction, SPACING_MM, "medpy"), 2)
        theirs = best_time(lambda: medpy_set(reference, prediction), 2)
        ratios.append(theirs / ours)
        ours_best, theirs_best = min(ours_best, ours), min(theirs_best, theirs)
    metrics = compute_metrics(reference, prediction, SPACING_MM, "medpy")
    values = (metrics["dice"], metrics["hd_mm"], metrics["hd95_mm"], metrics["assd_mm"])
    pairs = zip(values, medpy_set(reference, prediction), strict=True)
    difference = max(abs(a - b) for a, b in pairs)
    volume_ml = reference.sum() * np.prod(SPACING_MM) / 1000
    print(
        f"| {name} | {volume_ml:.0f} ml | {ours_best * 1000:.1f} ms | {theirs_best * 1000:.0f} ms "
        f"| {np.median(ratios):.1f}× | {difference:.1e} mm |"
    )


def scoring_throughput(n_cases: int = 100) -> None:
    rng = np.random.default_rng(2)
    affine = np.diag([*SPACING_MM, 1.0])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "reference").mkdir()
        (root / "prediction").mkdir()
        for index in range(n_cases):
            reference = _field((96, 96, 8), (3, 3, 1), rng) > 1.2
            prediction = np.roll(reference, int(rng.integers(-2, 3)), axis=0)
            for side, mask in (("reference", reference), ("prediction", prediction)):
                image = nib.Nifti1Image(mask.astype(np.uint8), affine)
                nib.save(image, str(root / side / f"case_{index + 1}.nii.gz"))
        print(f"\nScoring {n_cases} cases of 96×96×8 (read, validate, all metrics):\n")
        print("| workers | seconds | cases/s |\n|---|---|---|")
        for workers in (1, 2):
            seconds = best_time(
                lambda w=workers: score_directory(
                    root / "prediction", root / "reference", workers=w, progress=False
                ),
                2,
            )
            print(f"| {workers} | {seconds:.2f} | {n_cases / seconds:.0f} |")


def main() -> None:
    print("Full metric set (evaluation, preset medpy) vs MedPy dc+hd+hd95+assd (best times;")
    print("ratio = median over 5 interleaved rounds):\n")
    print("| case | reference | evaluation | MedPy | ratio | max abs diff |")
    print("|---|---|---|---|---|---|")
    compare_with_medpy("256×256×8", *typical_case())
    compare_with_medpy("256×256×22 heavy", *heavy_case())
    scoring_throughput()


if __name__ == "__main__":
    main()
