"""Writing ISLES'24-layout subjects: data trees, reference tree, truth sidecars, cases.csv.

```
OUT/TRAINING/{rawdata,derivatives}/<sub>/…      training subjects, every file (names.py)
OUT/TESTING/{rawdata,derivatives}/<sub>/<ses1>/…   testing subjects: the acute session only
OUT/REFERENCE/{rawdata,derivatives}/<sub>/<ses2>/… their follow-up session: DWI, ADC and mask
OUT/_truth/<PARTITION>/<sub>.npz + .json          compact truth and parameters
OUT/cases.csv   OUT/manifest.json
```
Each of ``TRAINING``, ``TESTING`` and ``REFERENCE`` is an ISLES'24 root. A subject is written
into a dot-prefixed staging folder per root and its ``rawdata/<sub>`` and ``derivatives/<sub>``
folders are renamed into place when complete (the partition's ``derivatives/<sub>`` last); a
rerun deletes the leftovers of an incomplete subject and writes it again. The 4D CTP is streamed
slice by slice into a raw file in the staging folder and written from a read-only memory map,
so no copy of it is ever held in memory. Raw-data files are byte copies of the derivatives (the
phantom has one space).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from isles2018.data.io import write_volume
from isles2018.files import file_digest
from isles2018.phantom.isles24.names import ACUTE, DERIVATIVES, ENTRIES, RAWDATA, Entry
from isles2018.phantom.isles24.plan import Options, SubjectPlan, get_geometry
from isles2018.phantom.isles24.synthesis import SubjectData, synthesize_subject
from isles2018.phantom.lesion import ZONES
from isles2018.phantom.sampling import Profile
from isles2018.phantom.synthesis import TIME_STEP_S
from isles2018.phantom.writer import (
    REFERENCE,
    TRUTH,
    write_cases_table,
    write_json,
    write_npz,
)


def subject_label(plan: SubjectPlan, options: Options) -> str:
    """``sub-strokecase0001`` (challenge spelling) or ``sub-stroke0001`` (sample)."""
    return options.spelled.subject(plan.subject_number)


def entry_root(plan: SubjectPlan, entry: Entry) -> str:
    """The root folder of a file: the partition's, or REFERENCE for a testing follow-up."""
    if plan.partition == "TESTING" and entry.session != ACUTE:
        return REFERENCE
    return plan.partition


def _roots(plan: SubjectPlan) -> tuple[str, ...]:
    return (REFERENCE, plan.partition) if plan.partition == "TESTING" else (plan.partition,)


def entry_path(plan: SubjectPlan, entry: Entry, options: Options) -> Path:
    """Path of a file relative to the data-set root."""
    return Path(entry_root(plan, entry)) / entry.path(
        options.spelled, plan.subject_number, options.ext
    )


def subject_paths(plan: SubjectPlan, options: Options) -> list[Path]:
    """Every file of a subject relative to the data-set root (volumes, then the truth)."""
    truth = Path(TRUTH) / plan.partition / subject_label(plan, options)
    volumes = [entry_path(plan, entry, options) for entry in ENTRIES]
    return [*volumes, truth.with_suffix(".npz"), truth.with_suffix(".json")]


def is_complete(out: Path, plan: SubjectPlan, options: Options) -> bool:
    """Whether every file of the subject exists (its folders are renamed into place last)."""
    return all((out / path).is_file() for path in subject_paths(plan, options))


def _staging(root: str, subject: str) -> Path:
    """A root's staging folder of a subject, relative to the data-set root."""
    return Path(root) / f".{subject}.partial"


def remove_partial(out: Path, plan: SubjectPlan, options: Options) -> None:
    """Delete leftovers of an interrupted write of this subject (staging and final folders)."""
    subject = subject_label(plan, options)
    for root in _roots(plan):
        for folder in (
            out / _staging(root, subject),
            out / root / RAWDATA / subject,
            out / root / DERIVATIVES / subject,
        ):
            if folder.exists():
                shutil.rmtree(folder)


class _SeriesFile:
    """A raw ``(X, Y, Z, T)`` int16 array in Fortran order (NIfTI's), written slice by slice."""

    def __init__(self, path: Path, shape: tuple[int, int, int, int]) -> None:
        self.path = path
        self.shape = shape
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(self._fd, int(np.prod(shape)) * 2)

    def write_slice(self, z: int, frames: np.ndarray) -> None:
        """Store slice ``z``: ``(X, Y, T)`` int16."""
        if frames.dtype != np.int16 or frames.shape != (*self.shape[:2], self.shape[3]):
            raise TypeError(f"CTP slice is {frames.dtype} {frames.shape}, expected int16")
        nx, ny, nz, nt = self.shape
        plane = nx * ny * 2
        for t in range(nt):
            os.pwrite(self._fd, frames[:, :, t].T.tobytes(), (t * nz + z) * plane)

    def close(self) -> None:
        os.close(self._fd)

    def array(self) -> np.memmap:
        """The whole series, read-only and memory-mapped."""
        return np.memmap(self.path, dtype=np.int16, mode="r", shape=self.shape, order="F")


def _truth_payload(data: SubjectData, plan: SubjectPlan, options: Options) -> dict:
    return {
        **data.summary,
        "subject": subject_label(plan, options),
        "grid": {
            "geometry": options.geometry,
            "shape": list(data.volumes["ncct"].shape),
            "oblique": options.oblique,
        },
        "files": [p.as_posix() for p in subject_paths(plan, options)[:-2]],
        "zones": {str(code): name for code, name in ZONES.items()},
        "arrays": {name: [str(a.dtype), list(a.shape)] for name, a in sorted(data.truth.items())},
    }


def _targets(plan: SubjectPlan, options: Options, key: str) -> list[Path]:
    """Staging paths (relative) of a volume: the derivative first, then its raw copy."""
    subject = subject_label(plan, options)
    entries = sorted((e for e in ENTRIES if e.key == key), key=lambda e: e.tree != DERIVATIVES)
    return [
        _staging(entry_root(plan, e), subject)
        / e.path(options.spelled, plan.subject_number, options.ext)
        for e in entries
    ]


def _write_and_copy(
    out: Path,
    targets: list[Path],
    array: np.ndarray,
    affine: np.ndarray,
    *,
    time_step_s: float | None = None,
    five_d: bool = False,
) -> None:
    """Write ``array`` to the first target and byte-copy it to the others."""
    write_volume(out / targets[0], array, affine, time_step_s=time_step_s, five_d=five_d)
    for copy in targets[1:]:
        (out / copy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / targets[0], out / copy)


def write_subject(
    plan: SubjectPlan, profile: Profile, out: Path, options: Options
) -> dict[str, str]:
    """Synthesise and write one subject (all files, truth sidecars).

    Returns:
        ``{path relative to out (posix): sha256}`` of every file written.
    """
    remove_partial(out, plan, options)
    subject = subject_label(plan, options)
    spec = get_geometry(options.geometry)
    series = _SeriesFile(
        out / _staging(plan.partition, subject) / ".ctp.raw", (*spec.shape, plan.patient.frames)
    )
    try:
        data = synthesize_subject(
            plan,
            profile,
            spec,
            oblique=options.oblique,
            mask_dtype=options.mask_dtype,
            on_series_slice=series.write_slice,
        )
    finally:
        series.close()
    truth = out / TRUTH / plan.partition / subject
    write_npz(truth.with_suffix(".npz"), data.truth)
    write_json(truth.with_suffix(".json"), _truth_payload(data, plan, options))
    affine = data.affine
    for key, array in data.volumes.items():
        _write_and_copy(out, _targets(plan, options, key), array, affine)
    del data, array  # free the 3D volumes before the series is written
    _write_and_copy(
        out,
        _targets(plan, options, "ctp"),
        series.array(),
        affine,
        time_step_s=TIME_STEP_S,
        five_d=options.five_d,
    )
    series.path.unlink()
    for root in _roots(plan):  # the partition's derivatives last: they mark a complete subject
        staging = out / _staging(root, subject)
        for tree in (RAWDATA, DERIVATIVES):
            if (staging / tree / subject).exists():
                (out / root / tree).mkdir(parents=True, exist_ok=True)
                os.replace(staging / tree / subject, out / root / tree / subject)
        shutil.rmtree(staging)
    return {path.as_posix(): file_digest(out / path) for path in subject_paths(plan, options)}


def write_cases_csv(out: Path, plans: list[SubjectPlan], options: Options) -> None:
    """``cases.csv``: partition, subject label, patient, slices, CTP time points
    (:func:`isles2018.phantom.writer.write_cases_table`; testing subjects also under
    ``REFERENCE``, the root of their follow-up session)."""
    slices = get_geometry(options.geometry).shape[2]
    write_cases_table(
        out,
        plans,
        lambda plan: (
            subject_label(plan, options),
            plan.patient.patient_id,
            slices,
            plan.patient.frames,
        ),
    )
