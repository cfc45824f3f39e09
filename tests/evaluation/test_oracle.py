"""Brute-force and cross-library oracles for every metric and preset.

The oracle shares no code with ``evaluation``: surfaces by explicit neighbour loops (surfel areas
from surface-distance's own table), distances by ``scipy.spatial.distance.cdist`` over all
surface pairs, percentiles by their textbook formulas, lesions by breadth-first flood fill and
IoU matching by sorting every overlapping pair.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from medpy.metric import binary as medpy_binary
from scipy import ndimage
from scipy.spatial.distance import cdist
from surface_distance import lookup_tables

from evaluation.conventions import PRESETS, Conventions
from evaluation.metrics import compute_metrics

CUSTOM = Conventions(
    name="custom",
    erosion_connectivity=26,
    border_is_background=False,
    percentile_method="linear",
    hd95_pooling="pooled",
    assd_pooling="mean-of-means",
    lesion_connectivity=6,
)
CUSTOM_SURFELS = Conventions(
    name="custom-surfels",
    surface_model="surfels",
    percentile_method="inverted-cdf",
    hd95_pooling="pooled",
    lesion_matching="iou",
    lesion_iou_threshold=0.3,
    lesion_connectivity=18,
)
CUSTOM_WEIGHTLESS = Conventions(name="custom-inverted-cdf", percentile_method="inverted-cdf")
CONVENTIONS = [*PRESETS.values(), CUSTOM, CUSTOM_SURFELS, CUSTOM_WEIGHTLESS]
TOLERANCE_MM = 2.0


def _neighbours(connectivity: int) -> list[tuple[int, int, int]]:
    limit = {6: 1, 18: 2, 26: 3}[connectivity]
    return [
        o
        for o in itertools.product((-1, 0, 1), repeat=3)
        if any(o) and sum(abs(v) for v in o) <= limit
    ]


def oracle_surface(mask: np.ndarray, conventions: Conventions) -> np.ndarray:
    """``(N, 3)`` indices of surface voxels, by checking every neighbour of every voxel."""
    outside = not conventions.border_is_background
    points = []
    for index in zip(*np.nonzero(mask), strict=True):
        for offset in _neighbours(conventions.erosion_connectivity):
            neighbour = tuple(i + o for i, o in zip(index, offset, strict=True))
            inside = all(0 <= n < s for n, s in zip(neighbour, mask.shape, strict=True))
            if not (mask[neighbour] if inside else outside):
                points.append(index)
                break
    if not points and mask.any():  # documented fallback: a surface-less mask is all surface
        points = list(zip(*np.nonzero(mask), strict=True))
    return np.array(points, dtype=float).reshape(-1, 3)


def oracle_surfels(mask: np.ndarray, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Surfel points (mm) and areas: every corner of the voxel grid whose 2×2×2 voxels are
    neither all background nor all lesion, with surface-distance's area for that pattern."""
    table = lookup_tables.create_table_neighbour_code_to_surface_area(spacing)
    points, areas = [], []
    for corner in itertools.product(*(range(n + 1) for n in mask.shape)):
        code = 0
        for a, b, c in itertools.product((0, 1), repeat=3):
            voxel = (corner[0] - 1 + a, corner[1] - 1 + b, corner[2] - 1 + c)
            inside = all(0 <= v < n for v, n in zip(voxel, mask.shape, strict=True))
            if inside and mask[voxel]:
                code |= 1 << (7 - (4 * a + 2 * b + c))
        if code not in (0, 255):
            points.append(corner)
            areas.append(table[code])
    return np.array(points, dtype=float).reshape(-1, 3) * spacing, np.array(areas)


def oracle_weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """First sorted value whose cumulative weight fraction reaches q/100 (no interpolation)."""
    pairs = sorted(zip(values.tolist(), weights.tolist(), strict=True))
    ordered = np.array([v for v, _ in pairs])
    ordered_weights = np.array([w for _, w in pairs])
    fractions = np.cumsum(ordered_weights) / np.sum(ordered_weights)
    reached = [i for i, f in enumerate(fractions) if f >= q / 100]
    return float(ordered[reached[0] if reached else -1])


def oracle_matches(reference_lesions: list[set], prediction_lesions: list[set], threshold):
    """Greedy one-to-one matching: overlapping pairs by decreasing IoU, then by label."""
    pairs = sorted(
        (-len(p & r) / len(p | r), p_index, r_index)
        for p_index, p in enumerate(prediction_lesions)
        for r_index, r in enumerate(reference_lesions)
        if p & r
    )
    taken_p, taken_r = set(), set()
    for negative_iou, p_index, r_index in pairs:
        if -negative_iou >= threshold and p_index not in taken_p and r_index not in taken_r:
            taken_p.add(p_index)
            taken_r.add(r_index)
    return len(taken_r)


def oracle_percentile(values: np.ndarray, q: float, method: str) -> float:
    ordered = np.sort(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    if method == "lower" or low == len(ordered) - 1:
        return float(ordered[low])
    return float(ordered[low] + (position - low) * (ordered[low + 1] - ordered[low]))


def oracle_components(mask: np.ndarray, connectivity: int) -> list[set]:
    seen, components = set(), []
    for start in zip(*np.nonzero(mask), strict=True):
        if start in seen:
            continue
        component, queue = {start}, deque([start])
        seen.add(start)
        while queue:
            current = queue.popleft()
            for offset in _neighbours(connectivity):
                n = tuple(c + o for c, o in zip(current, offset, strict=True))
                if n not in seen and all(0 <= v < s for v, s in zip(n, mask.shape, strict=True)):
                    if mask[n]:
                        seen.add(n)
                        component.add(n)
                        queue.append(n)
        components.append(component)
    return components


def oracle_metrics(reference, prediction, spacing, conventions: Conventions) -> dict:
    n_ref, n_pred = int(reference.sum()), int(prediction.sum())
    tp = int((reference & prediction).sum())
    expected = {
        "dice": 1.0 if n_ref + n_pred == 0 else 2 * tp / (n_ref + n_pred),
        "precision": tp / n_pred if n_pred else float(n_ref == 0),
        "recall": tp / n_ref if n_ref else float(n_pred == 0),
    }
    names = (
        "hd_mm",
        "hd95_mm",
        "assd_mm",
        "masd_mm",
        "asd_reference_to_prediction_mm",
        "asd_prediction_to_reference_mm",
    )
    if n_ref == 0 and n_pred == 0:
        expected.update(dict.fromkeys(names, 0.0), surface_dice=1.0)
    elif n_ref == 0 or n_pred == 0:
        expected.update(dict.fromkeys(names, math.inf), surface_dice=0.0)
    else:
        if conventions.surface_model == "surfels":
            a, weights_a = oracle_surfels(reference, spacing)
            b, weights_b = oracle_surfels(prediction, spacing)
        else:
            a = oracle_surface(reference, conventions) * spacing
            b = oracle_surface(prediction, conventions) * spacing
            weights_a, weights_b = np.ones(len(a)), np.ones(len(b))
        pairwise = cdist(a, b)
        forward, backward = pairwise.min(axis=1), pairwise.min(axis=0)

        def percentile(values, weights):
            if conventions.percentile_method == "inverted-cdf":
                return oracle_weighted_percentile(values, weights, 95)
            return oracle_percentile(values, 95, conventions.percentile_method)

        if conventions.hd95_pooling == "pooled":
            both = np.concatenate([forward, backward]), np.concatenate([weights_a, weights_b])
            hd95 = percentile(*both)
        else:
            hd95 = max(percentile(forward, weights_a), percentile(backward, weights_b))
        mean_forward = (forward * weights_a).sum() / weights_a.sum()
        mean_backward = (backward * weights_b).sum() / weights_b.sum()
        masd = (mean_forward + mean_backward) / 2
        total = weights_a.sum() + weights_b.sum()
        pooled = ((forward * weights_a).sum() + (backward * weights_b).sum()) / total
        within = (
            weights_a[forward <= TOLERANCE_MM].sum() + weights_b[backward <= TOLERANCE_MM].sum()
        )
        expected.update(
            hd_mm=max(forward.max(), backward.max()),
            hd95_mm=hd95,
            masd_mm=masd,
            assd_mm=pooled if conventions.assd_pooling == "pooled" else masd,
            asd_reference_to_prediction_mm=mean_forward,
            asd_prediction_to_reference_mm=mean_backward,
            surface_dice=within / total,
        )
    voxel_ml = float(np.prod(spacing)) / 1000
    expected["avd_ml"] = abs(n_pred - n_ref) * voxel_ml
    expected["volume_difference_ml"] = (n_pred - n_ref) * voxel_ml
    reference_lesions = oracle_components(reference, conventions.lesion_connectivity)
    prediction_lesions = oracle_components(prediction, conventions.lesion_connectivity)
    if conventions.lesion_matching == "iou":
        hit = oracle_matches(
            reference_lesions, prediction_lesions, conventions.lesion_iou_threshold
        )
        fp = len(prediction_lesions) - hit
    else:
        hit = sum(any(prediction[v] for v in lesion) for lesion in reference_lesions)
        fp = sum(not any(reference[v] for v in lesion) for lesion in prediction_lesions)
    fn = len(reference_lesions) - hit
    expected["lesion_tp"], expected["lesion_fp"], expected["lesion_fn"] = hit, fp, fn
    expected["lesion_f1"] = 1.0 if hit + fp + fn == 0 else 2 * hit / (2 * hit + fp + fn)
    difference = len(prediction_lesions) - len(reference_lesions)
    expected["lesion_count_difference"] = (
        abs(difference) if conventions.lesion_count_absolute else difference
    )
    return expected


@st.composite
def mask_pairs(draw):
    shape = tuple(draw(st.integers(1, 6)) for _ in range(3))
    size = int(np.prod(shape))
    density = draw(st.sampled_from([0.1, 0.3, 0.6, 0.95]))
    bits = st.lists(st.floats(0, 1), min_size=size, max_size=size)
    reference = np.array(draw(bits)).reshape(shape) < density
    prediction = np.array(draw(bits)).reshape(shape) < density
    spacing = tuple(draw(st.sampled_from([0.5, 0.9, 1.0, 2.5, 5.0])) for _ in range(3))
    return reference, prediction, spacing


@settings(max_examples=60, deadline=None)
@given(mask_pairs())
def test_every_metric_and_preset_matches_the_brute_force_oracle(pair):
    reference, prediction, spacing = pair
    for conventions in CONVENTIONS:
        metrics = compute_metrics(reference, prediction, spacing, conventions)
        for name, value in oracle_metrics(reference, prediction, spacing, conventions).items():
            if math.isinf(value):
                assert metrics[name] == value, (conventions.name, name)
            else:
                assert metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-9), (
                    conventions.name,
                    name,
                )


def _blobs(seed: int, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.standard_normal(shape), (3, 3, 0.8))
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), (2, 2, 0.6))
    reference = field > 0.5 * field.std()
    prediction = field + 0.6 * noise * field.std() / noise.std() > 0.45 * field.std()
    return reference, prediction


CROSS_CASES = [
    (0, (64, 60, 8), (0.9, 0.9, 5.0)),
    (1, (48, 48, 2), (0.8, 0.8, 5.0)),
    (2, (40, 44, 16), (1.0, 1.2, 2.5)),
    (3, (30, 30, 22), (0.5, 0.7, 1.0)),
]


@pytest.mark.parametrize(("seed", "shape", "spacing"), CROSS_CASES)
def test_medpy_preset_reproduces_medpy_0_5_2(seed, shape, spacing):
    reference, prediction = _blobs(seed, shape)
    assert reference.any() and prediction.any()
    metrics = compute_metrics(reference, prediction, spacing, "medpy")
    # MedPy's argument order is (result, reference).
    assert abs(metrics["dice"] - medpy_binary.dc(prediction, reference)) < 1e-9
    assert abs(metrics["hd_mm"] - medpy_binary.hd(prediction, reference, spacing)) < 1e-9
    assert abs(metrics["hd95_mm"] - medpy_binary.hd95(prediction, reference, spacing)) < 1e-9
    assert abs(metrics["assd_mm"] - medpy_binary.assd(prediction, reference, spacing)) < 1e-9


@pytest.mark.parametrize(("seed", "shape", "spacing"), CROSS_CASES)
def test_default_hd95_is_the_max_of_directed_percentiles_on_full_volume_edts(seed, shape, spacing):
    """An independent MONAI-style computation: full-volume EDTs, no cropping, no KD-tree."""
    reference, prediction = _blobs(seed, shape)
    structure = ndimage.generate_binary_structure(3, 1)
    surfaces = [m & ~ndimage.binary_erosion(m, structure) for m in (reference, prediction)]
    to_reference = ndimage.distance_transform_edt(~surfaces[0], sampling=spacing)
    to_prediction = ndimage.distance_transform_edt(~surfaces[1], sampling=spacing)
    forward, backward = to_prediction[surfaces[0]], to_reference[surfaces[1]]
    expected = max(np.percentile(forward, 95), np.percentile(backward, 95))
    metrics = compute_metrics(reference, prediction, spacing, "default")
    assert abs(metrics["hd95_mm"] - expected) < 1e-9
    assert abs(metrics["masd_mm"] - (forward.mean() + backward.mean()) / 2) < 1e-9
