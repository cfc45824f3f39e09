"""Benchmark: the full metric set vs MedPy 0.5.2 (dc + hd + hd95 + assd) and vs DeepMind's
surface-distance, and scoring throughput.

Run: ``.venv/bin/python benchmarks/evaluation.py [--rounds N] [--skip-large]``. Prints, in one
run:

1. the time per case of ``evaluation.metrics.compute_metrics`` (every metric: overlap, HD, HD95,
   ASSD, MASD, directed means, surface Dice, volumes, lesion-wise counts) with the ``medpy`` and
   ``default`` presets, and of MedPy computing only dc, hd, hd95 and assd on the same pair, their
   ratio and the largest disagreement of the ``medpy`` preset with MedPy: on a 256×256×8 case, a
   heavy 256×256×22 case and a 512×512×100 case with real-looking lesions (hundreds of
   components, anisotropic spacing with three different voxel sizes);
2. the ``deepmind`` preset (surfels) against surface-distance's robust Hausdorff (100, 95),
   average surface distances and surface Dice at 2 mm on the same pairs;
3. the scoring throughput for 100 small cases with 1 and 2 workers.

No assertions: figures to read.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# This file is named evaluation.py: keep its own folder off sys.path so that `import evaluation`
# finds the package, not this script.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import surface_distance  # noqa: E402
from medpy.metric import binary as medpy_binary  # noqa: E402
from scipy import ndimage  # noqa: E402

from evaluation.metrics import compute_metrics  # noqa: E402
from evaluation.score import score_directory  # noqa: E402

SPACING_MM = (0.9, 0.9, 5.0)
#: The 512×512×100 case: thin in-plane pixels, none of the three sizes alike.
LARGE_SPACING_MM = (0.488, 0.465, 1.5)


def _field(
    shape: tuple[int, ...], sigma: tuple[float, ...], rng: np.random.Generator, dtype=np.float64
):
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=dtype), sigma)
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


def large_case(seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """512×512×100: a ~120 ml territorial infarct with a ragged border and a few hundred small
    embolic lesions inside a brain-sized ellipsoid; the prediction's border differs, some small
    lesions are missed and a few hundred false-positive specks appear (~500 reference and ~1000
    predicted 26-connected components)."""
    rng = np.random.default_rng(seed)
    shape = (512, 512, 100)
    x, y, z = np.ogrid[:512, :512, :100]
    brain = ((x - 256) / 200.0) ** 2 + ((y - 250) / 230.0) ** 2 + ((z - 50) / 48.0) ** 2 < 1
    infarct = ((x - 180) / 70.0) ** 2 + ((y - 300) / 55.0) ** 2 + ((z - 55) / 22.0) ** 2
    border = _field(shape, (6, 6, 2), rng, np.float32)  # float32: 100 MB per field
    emboli = _field(shape, (3, 3, 1.2), rng, np.float32)
    reference = (infarct + 0.35 * border < 1.0) | ((emboli > 3.0) & brain)
    ragged = infarct + 0.35 * border + 0.2 * _field(shape, (3, 3, 1), rng, np.float32)
    specks = emboli + 0.5 * _field(shape, (2, 2, 1), rng, np.float32) > 3.1
    return reference, (ragged < 0.97) | (specks & brain)


def best_time(function: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def medpy_set(
    reference: np.ndarray, prediction: np.ndarray, spacing: tuple[float, ...]
) -> tuple[float, ...]:
    """MedPy's dc, hd, hd95, assd (its argument order is result, reference)."""
    return (
        medpy_binary.dc(prediction, reference),
        medpy_binary.hd(prediction, reference, spacing),
        medpy_binary.hd95(prediction, reference, spacing),
        medpy_binary.assd(prediction, reference, spacing),
    )


def deepmind_set(
    reference: np.ndarray, prediction: np.ndarray, spacing: tuple[float, ...]
) -> tuple[float, ...]:
    """surface-distance's HD (robust at 100), HD95, both average distances, surface Dice at 2 mm."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its scipy.ndimage.filters calls
        distances = surface_distance.compute_surface_distances(reference, prediction, spacing)
    forward, backward = surface_distance.compute_average_surface_distance(distances)
    return (
        surface_distance.compute_robust_hausdorff(distances, 100),
        surface_distance.compute_robust_hausdorff(distances, 95),
        forward,
        backward,
        surface_distance.compute_surface_dice_at_tolerance(distances, 2.0),
    )


def compare_with_medpy(
    name: str, pair: tuple[np.ndarray, np.ndarray], spacing: tuple[float, ...], rounds: int
) -> None:
    """Interleaved rounds (ours best of 2, MedPy best of 2, or of 1 when a call takes over 5 s)
    so both see the same machine load; prints the best times and the median of the per-round
    ratios, and the default preset's best time beside the medpy preset's."""
    reference, prediction = pair
    ratios, ours_best, theirs_best, default_best = [], float("inf"), float("inf"), float("inf")
    for _ in range(rounds):
        ours = best_time(lambda: compute_metrics(reference, prediction, spacing, "medpy"), 2)
        default = best_time(lambda: compute_metrics(reference, prediction, spacing), 2)
        repeats = 1 if theirs_best > 5.0 else 2
        theirs = best_time(lambda: medpy_set(reference, prediction, spacing), repeats)
        ratios.append(theirs / ours)
        ours_best, theirs_best = min(ours_best, ours), min(theirs_best, theirs)
        default_best = min(default_best, default)
    metrics = compute_metrics(reference, prediction, spacing, "medpy")
    values = (metrics["dice"], metrics["hd_mm"], metrics["hd95_mm"], metrics["assd_mm"])
    pairs = zip(values, medpy_set(reference, prediction, spacing), strict=True)
    difference = max(abs(a - b) for a, b in pairs)
    volume_ml = reference.sum() * np.prod(spacing) / 1000
    print(
        f"| {name} | {volume_ml:.0f} ml | {ours_best * 1000:.1f} ms | {default_best * 1000:.1f} ms "
        f"| {theirs_best * 1000:.0f} ms | {np.median(ratios):.1f}× | {difference:.1e} mm |"
    )


def compare_with_deepmind(
    name: str, pair: tuple[np.ndarray, np.ndarray], spacing: tuple[float, ...], rounds: int
) -> None:
    """The deepmind preset (full metric set) vs surface-distance, interleaved rounds."""
    reference, prediction = pair
    ratios, ours_best, theirs_best = [], float("inf"), float("inf")
    for _ in range(rounds):
        ours = best_time(lambda: compute_metrics(reference, prediction, spacing, "deepmind"), 2)
        repeats = 1 if theirs_best > 2.0 else 2
        theirs = best_time(lambda: deepmind_set(reference, prediction, spacing), repeats)
        ratios.append(theirs / ours)
        ours_best, theirs_best = min(ours_best, ours), min(theirs_best, theirs)
    metrics = compute_metrics(reference, prediction, spacing, "deepmind")
    names = ("hd_mm", "hd95_mm", "asd_reference_to_prediction_mm")
    values = (*(metrics[n] for n in names), metrics["asd_prediction_to_reference_mm"])
    values = (*values, metrics["surface_dice"])
    pairs = zip(values, deepmind_set(reference, prediction, spacing), strict=True)
    difference = max(abs(a - b) for a, b in pairs)
    print(
        f"| {name} | {ours_best * 1000:.1f} ms | {theirs_best * 1000:.0f} ms "
        f"| {np.median(ratios):.1f}× | {difference:.1e} |"
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
    parser = argparse.ArgumentParser(
        description="Time the metric set against MedPy and surface-distance; scoring throughput."
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per case")
    parser.add_argument(
        "--skip-large", action="store_true", help="leave out the 512×512×100 case (~2 min)"
    )
    args = parser.parse_args()
    cases = [
        ("256×256×8", typical_case(), SPACING_MM, args.rounds),
        ("256×256×22 heavy", heavy_case(), SPACING_MM, args.rounds),
    ]
    if not args.skip_large:
        # MedPy needs ~30 s per call here: two rounds.
        cases.append(("512×512×100 lesions", large_case(), LARGE_SPACING_MM, min(args.rounds, 2)))
    print("Full metric set (evaluation, presets medpy and default) vs MedPy dc+hd+hd95+assd")
    print("(best times; ratio = MedPy / medpy preset, median over interleaved rounds):\n")
    print("| case | reference | evaluation | default preset | MedPy | ratio | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    for name, pair, spacing, rounds in cases:
        compare_with_medpy(name, pair, spacing, rounds)
    print("\nPreset deepmind (full metric set) vs surface-distance HD, HD95, both average")
    print("distances and surface Dice at 2 mm (best times; ratio = median over rounds):\n")
    print("| case | evaluation | surface-distance | ratio | max abs diff |")
    print("|---|---|---|---|---|")
    for name, pair, spacing, rounds in cases:
        compare_with_deepmind(name, pair, spacing, min(rounds, 3))
    scoring_throughput()


if __name__ == "__main__":
    main()
