"""The calibration anchors of a generated data set, read back from its files (ISLES 2018 layout).

For every case: the written CBF, Tmax, MR_DWI and OT (testing cases: DWI and OT from
``REFERENCE/``) and the truth sidecar's true rCBF, Tmax and tissue fractions go through
:func:`isles2018.phantom.anchors.case_stats`; the data set's anchors are their summary. The
generator records them in ``manifest.json``; ``isles2018 phantom … --report`` prints them.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from isles2018.data.io import read_volume
from isles2018.data.modalities import Modality
from isles2018.phantom.anatomy import load_templates
from isles2018.phantom.anchors import BANDS, CaseStats, case_stats, summarise
from isles2018.phantom.sampling import CasePlan, Profile, get_profile, plan_cases, smir_ids
from isles2018.phantom.synthesis import CaseData, synthesize_case
from isles2018.phantom.writer import REFERENCE, TRUTH, volume_relpath

#: How the report names the anchors.
LABELS = {
    "threshold_dice": "threshold rule (rCBF < 30 % and Tmax > 6 s) on the written maps",
    "dwi_ceiling": "DWI ceiling (best single threshold of MR_DWI)",
    "ctp_ceiling": "CTP ceiling (Bayes rule on the true perfusion fields)",
}


def _stats(name: str, maps: dict[Modality, np.ndarray], truth: dict[str, np.ndarray]) -> CaseStats:
    parenchyma = truth["gm"].astype(np.float32) + truth["wm"].astype(np.float32) >= 0.5
    return case_stats(
        name,
        cbf=maps[Modality.CBF],
        tmax_s=maps[Modality.TMAX],
        dwi=maps[Modality.DWI],
        ot=maps[Modality.OT],
        true_rcbf=truth["rcbf"],
        true_tmax_s=truth["tmax"],
        parenchyma=parenchyma,
        brain=truth["zone"] > 0,
    )


def case_stats_in_memory(case: CaseData) -> CaseStats:
    """Anchor statistics of a generated case before it is written (the same arrays)."""
    return _stats(f"{case.plan.partition}/{case.plan.case_id}", case.volumes, case.truth)


def case_stats_from_files(out: Path, plan: CasePlan, ext: str) -> CaseStats:
    """Anchor statistics of one written case."""
    ids = smir_ids(plan.partition, plan.number)
    mr_partition = REFERENCE if plan.partition == "TESTING" else plan.partition

    def read(modality: Modality, partition: str) -> np.ndarray:
        path = volume_relpath(partition, plan.case_id, modality, ids[modality], ext)
        return read_volume(out / path).array

    with np.load(out / TRUTH / plan.partition / f"{plan.case_id}.npz") as truth:
        fields = {name: truth[name] for name in ("rcbf", "tmax", "gm", "wm", "zone")}
    maps = {m: read(m, plan.partition) for m in (Modality.CBF, Modality.TMAX)}
    maps.update({m: read(m, mr_partition) for m in (Modality.DWI, Modality.OT)})
    return _stats(f"{plan.partition}/{plan.case_id}", maps, fields)


def dataset_anchors(out: Path, plans: list[CasePlan], ext: str) -> dict:
    """The anchors of all cases of a data set (training and testing), JSON-ready."""
    return summarise([case_stats_from_files(Path(out), plan, ext) for plan in plans])


def _simulate(plan: CasePlan, profile: Profile) -> CaseStats:
    return case_stats_in_memory(synthesize_case(plan, profile))


def simulated_anchors(seed: int, cases: int, profile: str = "isles", *, workers: int = 2) -> dict:
    """The anchors of the training cases of a data set, generated in memory, never written."""
    chosen = get_profile(profile)
    plans = plan_cases(seed, cases, 0, chosen)
    if workers == 1:
        return summarise([_simulate(plan, chosen) for plan in plans])
    load_templates()
    with ProcessPoolExecutor(workers, initializer=load_templates) as pool:
        stats = list(pool.map(_simulate, plans, [chosen] * len(plans)))
    return summarise(stats)


def report_lines(anchors: dict) -> list[str]:
    """A short table of the anchors against their bands."""
    lines = [f"calibration anchors over {anchors.get('n_cases', 0)} case(s), mean per-case Dice:"]
    for name, label in LABELS.items():
        if name not in anchors:
            continue
        low, high = BANDS[name]
        verdict = "in band" if anchors["in_band"][name] else "OUT OF BAND"
        lines.append(f"  {label:<68} {anchors[name]:.3f}  [{low:.2f}, {high:.2f}]  {verdict}")
    return lines
