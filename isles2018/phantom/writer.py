"""Writing a phantom data set: ISLES layout, reference tree, truth sidecars, cases.csv, manifest.

```
OUT/TRAINING/case_<n>/SMIR.Brain.XX.O.<MOD>.<id>/SMIR.Brain.XX.O.<MOD>.<id>.nii   8 modalities
OUT/TESTING/case_<n>/…                                        without OT and MR_DWI
OUT/REFERENCE/case_<n>/…   the testing cases' OT, MR_DWI and a copy of their CT_MTT (same id)
OUT/_truth/<PARTITION>/case_<n>.npz + .json                   truth maps and parameters
OUT/cases.csv   OUT/manifest.json
```
A case is written into dot-prefixed temporary folders (ignored by discovery) and renamed when
complete; its partition folder is renamed last, so its presence marks a complete case. Every file
is written atomically and byte-for-byte deterministically (no time stamps in the npz).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from isles2018.data.io import write_volume
from isles2018.data.modalities import REQUIRED, Modality, smir_name
from isles2018.data.patients import SIDECAR as CASES_CSV
from isles2018.files import atomic_path, file_digest
from isles2018.phantom.lesion import ZONES
from isles2018.phantom.sampling import CasePlan, smir_ids
from isles2018.phantom.synthesis import TIME_STEP_S, CaseData

REFERENCE = "REFERENCE"
TRUTH = "_truth"
CASES_COLUMNS = ("partition", "case", "patient", "slices", "ctp_timepoints")
PARTITION_MODALITIES = {"TRAINING": (*REQUIRED, Modality.DWI, Modality.OT), "TESTING": REQUIRED}
REFERENCE_MODALITIES = (Modality.MTT, Modality.OT, Modality.DWI)
#: Written dtypes (ISLES 2018 stores CT int32, CBF/CBV uint16, MTT/Tmax float64, OT uint8).
DTYPES = {
    Modality.CT: "int32",
    Modality.PWI: "int16",
    Modality.CBF: "float32",
    Modality.CBV: "float32",
    Modality.MTT: "float64",
    Modality.TMAX: "float64",
    Modality.DWI: "float32",
    Modality.OT: "uint8",
}
#: Units of each volume, by file-name token (as the manifest records them).
UNITS = {
    modality.token: unit
    for modality, unit in (
        (Modality.CT, "HU"),
        (Modality.PWI, "HU, frames 1 s apart"),
        (Modality.CBF, "mL/100 g/min"),
        (Modality.CBV, "mL/100 g"),
        (Modality.MTT, "s"),
        (Modality.TMAX, "s"),
        (Modality.DWI, "arbitrary (b = 1000 s/mm2)"),
        (Modality.OT, "{0, 1}"),
    )
}


def volume_name(modality: Modality, smir_id: str, ext: str) -> Path:
    """``<stem>/<stem><ext>`` with the SMIR stem of the volume."""
    stem = smir_name(modality, smir_id)
    return Path(stem) / f"{stem}{ext}"


def volume_relpath(
    partition: str, case_id: str, modality: Modality, smir_id: str, ext: str
) -> Path:
    """``<partition>/case_<n>/<stem>/<stem><ext>``."""
    return Path(partition) / case_id / volume_name(modality, smir_id, ext)


def case_paths(plan: CasePlan, ext: str) -> list[Path]:
    """Every file of a case relative to the data-set root (volumes, reference, sidecars)."""
    ids = smir_ids(plan.partition, plan.number)
    paths = [
        volume_relpath(plan.partition, plan.case_id, m, ids[m], ext)
        for m in PARTITION_MODALITIES[plan.partition]
    ]
    if plan.partition == "TESTING":
        paths += [
            volume_relpath(REFERENCE, plan.case_id, m, ids[m], ext) for m in REFERENCE_MODALITIES
        ]
    truth = Path(TRUTH) / plan.partition / plan.case_id
    return [*paths, truth.with_suffix(".npz"), truth.with_suffix(".json")]


def is_complete(out: Path, plan: CasePlan, ext: str) -> bool:
    """Whether every file of the case exists (the partition folder is renamed into place last)."""
    return all((out / path).is_file() for path in case_paths(plan, ext))


def remove_partial(out: Path, plan: CasePlan) -> None:
    """Delete leftovers of an interrupted write of this case (temporary and incomplete folders)."""
    parents = [out / plan.partition] + ([out / REFERENCE] if plan.partition == "TESTING" else [])
    for parent in parents:
        for folder in (parent / f".{plan.case_id}.partial", parent / plan.case_id):
            if folder.exists():
                shutil.rmtree(folder)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Deterministic, compressed ``.npz`` (fixed zip time stamps), written atomically."""
    with atomic_path(path) as temporary:
        with zipfile.ZipFile(temporary, "w") as archive:
            for name in sorted(arrays):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]))
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(
                    info, buffer.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=1
                )


def write_json(path: Path, payload: dict) -> None:
    """Pretty, key-sorted JSON, written atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


def _write_volumes(
    folder: Path, case: CaseData, modalities: tuple[Modality, ...], ext: str, five_d: bool
) -> None:
    ids = smir_ids(case.plan.partition, case.plan.number)
    for modality in modalities:
        array = case.volumes[modality]
        if array.dtype != np.dtype(DTYPES[modality]):
            raise TypeError(f"{modality.token} is {array.dtype}, expected {DTYPES[modality]}")
        is_series = modality is Modality.PWI
        write_volume(
            folder / volume_name(modality, ids[modality], ext),
            array,
            case.affine,
            time_step_s=TIME_STEP_S if is_series else None,
            five_d=five_d and is_series,
        )


def _truth_payload(case: CaseData, ext: str) -> dict:
    plan = case.plan
    ids = smir_ids(plan.partition, plan.number)
    return {
        **case.summary,
        "smir_ids": {m.token: ids[m] for m in ids},
        "files": [p.as_posix() for p in case_paths(plan, ext)[:-2]],
        "zones": {str(code): name for code, name in ZONES.items()},
        "arrays": {name: [str(a.dtype), list(a.shape)] for name, a in sorted(case.truth.items())},
        "units": {
            "cbf": "mL/100 g/min per voxel (CSF dilutes)",
            "cbv": "mL/100 g per voxel",
            "mtt": "s",
            "tmax": "s (arrival delay relative to the AIF)",
            "adc": "mm2/s",
            "baseline_hu": "HU",
            "aif_hu": "HU above baseline at the frames",
            "fractions (gm wm csf skull scalp air brain artery vein)": "volume fraction",
        },
    }


def write_case(case: CaseData, out: Path, *, gzip: bool, five_d: bool) -> dict[str, str]:
    """Write one case (volumes, reference copy for testing cases, truth sidecars).

    Returns:
        ``{path relative to out (posix): sha256}`` of every file written.
    """
    plan = case.plan
    ext = ".nii.gz" if gzip else ".nii"
    remove_partial(out, plan)
    truth = out / TRUTH / plan.partition / plan.case_id
    write_npz(truth.with_suffix(".npz"), case.truth)
    write_json(truth.with_suffix(".json"), _truth_payload(case, ext))

    staging = out / plan.partition / f".{plan.case_id}.partial"
    _write_volumes(staging, case, PARTITION_MODALITIES[plan.partition], ext, five_d)
    if plan.partition == "TESTING":
        reference = out / REFERENCE / f".{plan.case_id}.partial"
        _write_volumes(reference, case, (Modality.OT, Modality.DWI), ext, five_d)
        mtt = volume_name(Modality.MTT, smir_ids(plan.partition, plan.number)[Modality.MTT], ext)
        (reference / mtt).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staging / mtt, reference / mtt)
        os.replace(reference, out / REFERENCE / plan.case_id)
    os.replace(staging, out / plan.partition / plan.case_id)
    return {path.as_posix(): file_digest(out / path) for path in case_paths(plan, ext)}


def write_cases_table(
    out: Path, plans: Sequence[Any], row: Callable[[Any], tuple[str, str, int, int]]
) -> None:
    """``cases.csv`` with the columns of ``isles2018/data/isles2018_cases.csv``, for either layout.

    Testing cases are listed twice: under ``TESTING`` and under ``REFERENCE`` (their ground-truth
    tree), so that a tool reading the reference folder finds its patients by the folder's name.

    Args:
        plans: the cases (each with ``partition``).
        row: plan → ``(case, patient, slices, ctp_timepoints)``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CASES_COLUMNS)
    for partition in (None, REFERENCE):
        for plan in plans:
            if partition is not None and plan.partition != "TESTING":
                continue
            writer.writerow((partition or plan.partition, *row(plan)))
    with atomic_path(out / CASES_CSV) as temporary:
        temporary.write_text(buffer.getvalue())


def write_cases_csv(out: Path, plans: list[CasePlan]) -> None:
    """:func:`write_cases_table` of an ISLES 2018 layout data set."""
    write_cases_table(
        out,
        plans,
        lambda plan: (
            plan.case_id,
            plan.patient.patient_id,
            plan.patient.slices,
            plan.patient.frames,
        ),
    )
