"""Calibration anchors of the phantom, computed cheaply from a case's written files and truth.

Three figures tie the phantom's difficulty to published ones (``docs/phantom.md``):

* **threshold rule**: mean per-case Dice of the classical rule (rCBF < 30 % and Tmax > 6 s) on
  the written CBF and Tmax maps against OT — 0.30 on the ISLES 2018 test set;
* **DWI ceiling**: mean per-case Dice of the best single threshold of the written MR_DWI
  against OT (an oracle threshold per case, every cut between two voxel values tried) — what
  the image the paper's generator imitates can tell about the delineation at best, by
  intensity alone;
* **CTP ceiling**: mean per-case Dice of the Bayes-optimal voxel rule that predicts OT from the
  *true, noise-free* perfusion fields (true rCBF, true Tmax, parenchyma or not): OT is
  predicted where the data set's own frequency of OT given those fields, pooled over all its
  cases, exceeds a cut (the best of a grid). What stays out of reach is what the acute
  perfusion does not determine: the patient's infarct growth until the DWI, and the rater.

Per case the statistics are small: two Dice values and a histogram of OT over the bins of the
true fields, so the pooled rule and every case's Dice under it follow from the histograms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from isles2018.inference.threshold import threshold_core

#: Bin edges of the true fields for the Bayes rule: rCBF (relative), Tmax (s).
RCBF_EDGES = np.round(np.arange(0.0, 1.05, 0.05), 2)
TMAX_EDGES = np.arange(0.0, 17.0, 0.5)
#: Cuts of P(OT | fields) tried for the CTP ceiling.
PROBABILITY_CUTS = np.round(np.arange(0.2, 0.81, 0.05), 2)
N_BINS = 2 * (len(RCBF_EDGES) + 1) * (len(TMAX_EDGES) + 1)
#: Published anchors and the bands the phantom is calibrated into (``docs/phantom.md``).
BANDS = {
    "threshold_dice": (0.26, 0.34),
    "dwi_ceiling": (0.85, 0.92),
    "ctp_ceiling": (0.60, 0.72),
}


def dice(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Dice of two masks; 1.0 when both are empty (the evaluation package's rule)."""
    p, r = np.asarray(prediction, bool), np.asarray(reference, bool)
    total = int(p.sum()) + int(r.sum())
    return 1.0 if total == 0 else 2.0 * float(np.logical_and(p, r).sum()) / total


def best_threshold_dice(image: np.ndarray, reference: np.ndarray) -> float:
    """Dice of the best single threshold ``image > t`` against ``reference``, over every ``t``.

    Voxels are sorted by value; predicting the ``k`` brightest gives
    ``2·hits(k) / (k + |reference|)``. Ties are cut only between distinct values.
    """
    values = np.asarray(image, dtype=np.float64).ravel()
    truth = np.asarray(reference, dtype=bool).ravel()
    n_true = int(truth.sum())
    if n_true == 0:
        return 1.0  # a threshold above the maximum predicts nothing, as the reference says
    order = np.argsort(-values, kind="stable")
    ranked = values[order]
    hits = np.cumsum(truth[order])
    last_of_value = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])
    k = last_of_value + 1
    return float(np.max(2.0 * hits[last_of_value] / (k + n_true)))


def field_bins(rcbf: np.ndarray, tmax_s: np.ndarray, parenchyma: np.ndarray) -> np.ndarray:
    """Bin index of every voxel in the table of true fields, ``(N,)`` int."""
    r = np.digitize(np.asarray(rcbf, np.float64).ravel(), RCBF_EDGES)
    t = np.digitize(np.asarray(tmax_s, np.float64).ravel(), TMAX_EDGES)
    p = np.asarray(parenchyma, bool).ravel().astype(np.int64)
    return (p * (len(RCBF_EDGES) + 1) + r) * (len(TMAX_EDGES) + 1) + t


@dataclass(frozen=True)
class CaseStats:
    """What one case contributes to the anchors.

    Attributes:
        case: ``TRAINING/case_3`` and the like.
        threshold_dice: Dice of the threshold rule on the written maps.
        dwi_ceiling: Dice of the best threshold of the written DWI.
        total: ``(N_BINS,)`` voxels per bin of the true fields (brain only).
        lesion: ``(N_BINS,)`` OT voxels per bin.
    """

    case: str
    threshold_dice: float
    dwi_ceiling: float
    total: np.ndarray
    lesion: np.ndarray


def case_stats(
    case: str,
    *,
    cbf: np.ndarray,
    tmax_s: np.ndarray,
    dwi: np.ndarray,
    ot: np.ndarray,
    true_rcbf: np.ndarray,
    true_tmax_s: np.ndarray,
    parenchyma: np.ndarray,
    brain: np.ndarray,
) -> CaseStats:
    """Anchor statistics of one case; every array ``(X, Y, Z)`` on the case's grid.

    Args:
        case: the case's name in the data set.
        cbf, tmax_s: written CBF and Tmax maps.
        dwi: written MR_DWI.
        ot: written OT (non-zero = lesion).
        true_rcbf, true_tmax_s: the truth's noise-free relative CBF and Tmax (s).
        parenchyma: voxels at least half grey or white matter.
        brain: voxels where the truth defines perfusion (the others are never lesion).
    """
    lesion = np.asarray(ot) != 0
    inside = np.asarray(brain, bool)
    bins = field_bins(true_rcbf[inside], true_tmax_s[inside], parenchyma[inside])
    outside_lesion = int(np.count_nonzero(lesion & ~inside))
    if outside_lesion:
        raise ValueError(f"{case}: {outside_lesion} OT voxels outside the truth's brain")
    return CaseStats(
        case=case,
        threshold_dice=dice(threshold_core(cbf, tmax_s), lesion),
        dwi_ceiling=best_threshold_dice(dwi, lesion),
        total=np.bincount(bins, minlength=N_BINS),
        lesion=np.bincount(bins, weights=lesion[inside], minlength=N_BINS).astype(np.int64),
    )


def ctp_ceiling(stats: Sequence[CaseStats]) -> tuple[float, float, list[float]]:
    """The CTP ceiling: ``(mean Dice, cut, per-case Dice)`` of the pooled Bayes rule.

    The pooled frequency of OT in each bin is the rule's probability; for each cut of
    :data:`PROBABILITY_CUTS` every case's Dice follows from its histograms, and the cut with the
    best mean is kept.
    """
    total = np.sum([s.total for s in stats], axis=0)
    lesion = np.sum([s.lesion for s in stats], axis=0)
    probability = np.divide(lesion, total, out=np.zeros(N_BINS), where=total > 0)
    best = (-1.0, float(PROBABILITY_CUTS[0]), [])
    for cut in PROBABILITY_CUTS:
        predicted = probability > cut
        scores = []
        for s in stats:
            n_pred, n_true = int(s.total[predicted].sum()), int(s.lesion.sum())
            hits = int(s.lesion[predicted].sum())
            scores.append(1.0 if n_pred + n_true == 0 else 2.0 * hits / (n_pred + n_true))
        if np.mean(scores) > best[0]:
            best = (float(np.mean(scores)), float(cut), scores)
    return best


def summarise(stats: Sequence[CaseStats]) -> dict:
    """The anchors of a set of cases, JSON-ready, with their bands and whether each lands."""
    if not stats:
        return {"n_cases": 0}
    ceiling, cut, _ = ctp_ceiling(stats)
    values = {
        "threshold_dice": float(np.mean([s.threshold_dice for s in stats])),
        "dwi_ceiling": float(np.mean([s.dwi_ceiling for s in stats])),
        "ctp_ceiling": ceiling,
    }
    return {
        "n_cases": len(stats),
        **{name: round(value, 4) for name, value in values.items()},
        "ctp_probability_cut": cut,
        "bands": {name: list(band) for name, band in BANDS.items()},
        "in_band": {
            name: bool(BANDS[name][0] <= value <= BANDS[name][1]) for name, value in values.items()
        },
    }
