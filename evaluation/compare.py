"""Paired comparison of two scoring runs on one metric: bootstrap CI and Wilcoxon test."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from evaluation.errors import EvaluationError
from evaluation.run_files import PER_CASE, read_per_case

N_RESAMPLES = 10_000


def _per_case_path(run: str | Path) -> Path:
    run = Path(run)
    return run / PER_CASE if run.is_dir() else run


def _values(rows: list[dict[str, Any]], metric: str, source: Path) -> dict[str, Any]:
    if rows and metric not in rows[0]:
        raise EvaluationError(f"{source}: no column {metric!r}")
    values = {}
    for row in rows:
        value = row.get(metric)
        if value is not None and not isinstance(value, int | float):
            raise EvaluationError(f"{source}: column {metric!r} is not numeric")
        values[row["case_id"]] = value
    return values


def check_same_reference(
    rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]], path_a: Path, path_b: Path
) -> None:
    """Refuse to pair two runs scored against different reference masks.

    Runs record each case's ``reference_sha256`` (the reference mask's digest); a case id whose
    digests are both recorded and differ means the two runs are of unrelated references. Runs
    written before the digest was recorded are not checked.

    Raises:
        EvaluationError: some common case has two different reference digests.
    """
    digests_a = {r["case_id"]: r.get("reference_sha256") for r in rows_a}
    differ = [
        r["case_id"]
        for r in rows_b
        if r.get("reference_sha256")
        and digests_a.get(r["case_id"])
        and digests_a[r["case_id"]] != r["reference_sha256"]
    ]
    if differ:
        shown = ", ".join(differ[:5]) + (", …" if len(differ) > 5 else "")
        raise EvaluationError(
            f"{path_a} and {path_b} were scored against different references "
            f"({len(differ)} case(s) with another reference mask: {shown}); "
            "compare runs of the same reference"
        )


def bootstrap_ci(
    differences: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap 95 % CI of the mean of paired differences.

    Args:
        differences: ``(N,)`` paired differences, N ≥ 1.
        n_resamples: bootstrap resamples.
        seed: seed of the ``np.random.Generator``.
    """
    rng = np.random.default_rng(seed)
    n = differences.size
    means = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // n)  # bounded memory for long runs
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        means[start:stop] = differences[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def wilcoxon_p(differences: np.ndarray) -> tuple[float, float]:
    """Wilcoxon signed-rank statistic and two-sided p-value; (0, 1) when all differences are 0."""
    if not np.any(differences != 0):
        return 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample and tie warnings; the p-value stands
        result = stats.wilcoxon(differences)
    return float(result.statistic), float(result.pvalue)


def compare_runs(
    run_a: str | Path,
    run_b: str | Path,
    metric: str = "dice",
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """Pair two runs by ``case_id`` and test ``metric`` differences (B − A).

    Pairs where either value is missing or infinite are left out and counted.

    Args:
        run_a: run folder (or its ``per_case.csv``) of method A.
        run_b: the same for method B.
        metric: a numeric column of ``per_case.csv``.
        n_resamples: bootstrap resamples.
        seed: bootstrap seed.

    Returns:
        A JSON-ready dict: counts, means, mean and median difference, ``ci95``, Wilcoxon
        statistic and p-value, and the case ids present in one run only.

    Raises:
        EvaluationError: unreadable runs, runs of different references
            (:func:`check_same_reference`), unknown metric or no usable pair.
    """
    path_a, path_b = _per_case_path(run_a), _per_case_path(run_b)
    rows_a, rows_b = read_per_case(path_a), read_per_case(path_b)
    check_same_reference(rows_a, rows_b, path_a, path_b)
    values_a = _values(rows_a, metric, path_a)
    values_b = _values(rows_b, metric, path_b)
    common = [c for c in values_a if c in values_b]
    usable = [
        c
        for c in common
        if values_a[c] is not None
        and values_b[c] is not None
        and math.isfinite(values_a[c])
        and math.isfinite(values_b[c])
    ]
    if not usable:
        raise EvaluationError(
            f"no case with a finite {metric} in both {path_a} and {path_b} "
            f"({len(common)} cases in common)"
        )
    a = np.array([values_a[c] for c in usable], dtype=float)
    b = np.array([values_b[c] for c in usable], dtype=float)
    differences = b - a
    low, high = bootstrap_ci(differences, n_resamples, seed)
    statistic, p_value = wilcoxon_p(differences)
    return {
        "metric": metric,
        "run_a": str(path_a),
        "run_b": str(path_b),
        "difference": "B - A",
        "n_pairs": len(usable),
        "n_left_out": len(common) - len(usable),
        "only_in_a": [c for c in values_a if c not in values_b],
        "only_in_b": [c for c in values_b if c not in values_a],
        "mean_a": float(a.mean()),
        "mean_b": float(b.mean()),
        "mean_difference": float(differences.mean()),
        "median_difference": float(np.median(differences)),
        "ci95": [low, high],
        "n_resamples": n_resamples,
        "seed": seed,
        "wilcoxon_statistic": statistic,
        "p_value": p_value,
    }


def comparison_markdown(result: dict[str, Any]) -> str:
    """The comparison as a short Markdown table."""
    low, high = result["ci95"]
    lines = [
        f"## {result['metric']}: B − A over {result['n_pairs']} paired cases",
        "",
        "| mean A | mean B | mean diff | 95 % CI (bootstrap) | median diff | Wilcoxon p |",
        "|---|---|---|---|---|---|",
        f"| {result['mean_a']:.4f} | {result['mean_b']:.4f} | {result['mean_difference']:+.4f} "
        f"| [{low:+.4f}, {high:+.4f}] | {result['median_difference']:+.4f} "
        f"| {result['p_value']:.4g} |",
        "",
        f"A: {result['run_a']}  ",
        f"B: {result['run_b']}",
    ]
    if result["n_left_out"]:
        lines.append(f"\n{result['n_left_out']} pairs left out (missing or infinite value).")
    for side in ("a", "b"):
        if result[f"only_in_{side}"]:
            cases = ", ".join(result[f"only_in_{side}"])
            lines.append(f"\nOnly in {side.upper()}: {cases}.")
    return "\n".join(lines) + "\n"
