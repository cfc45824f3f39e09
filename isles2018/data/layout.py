"""Discovery of ISLES 2018 cases in a folder tree (ISLES'24 trees: :mod:`isles2018.data.isles24`).

A data folder holds ``case_<n>`` folders, each holding one folder per volume named like its file:
``case_1/SMIR.Brain.XX.O.CT_MTT.345565/SMIR.Brain.XX.O.CT_MTT.345565.nii``. The folder given may
be a partition (``TRAINING/``), a folder that holds partitions, or an unpacked zip one level
higher. ``__MACOSX`` folders, ``._*`` resource forks and hidden files are ignored. Modalities are
matched by their whole token (see :mod:`isles2018.data.modalities`), never by substring.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from isles2018.data import isles24
from isles2018.data.case import Case, broken_link, is_ignored
from isles2018.data.modalities import REQUIRED, CaseFile, Modality, parse_smir_name
from isles2018.data.patients import assign_patients
from isles2018.errors import DataError

CASE_FOLDER = re.compile(r"^case_(\d+)$")
PARTITION_FOLDER = re.compile(r"^(TRAIN|TEST)", re.IGNORECASE)
_NIFTI = re.compile(r"\.nii(\.gz)?$")
_MAX_DEPTH = 4


def _children(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not is_ignored(p))


def find_partitions(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included) that directly hold ``case_<n>`` folders."""
    found: list[Path] = []

    def walk(folder: Path, depth: int) -> None:
        children = [p for p in _children(folder) if p.is_dir()]
        if any(CASE_FOLDER.match(p.name) for p in children):
            found.append(folder)
            return
        # Beside TRAINING/ and TESTING/, other folders (a reference tree, run outputs) are not
        # partitions of the data set.
        named = [p for p in children if PARTITION_FOLDER.match(p.name)]
        if depth < _MAX_DEPTH:
            for child in named or children:
                walk(child, depth + 1)

    walk(root, 0)
    return found


def _split_of(partition: Path, files: Iterable[dict[Modality, CaseFile]]) -> str:
    match = PARTITION_FOLDER.match(partition.name)
    if match:
        return "training" if match[1].upper() == "TRAIN" else "testing"
    return "training" if any(Modality.OT in f for f in files) else "testing"


def _scan_case(folder: Path) -> tuple[dict[Modality, CaseFile], list[str]]:
    found: dict[Modality, list[CaseFile]] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(is_ignored(Path(part)) for part in relative.parts) or not path.is_file():
            continue
        if not _NIFTI.search(path.name):
            continue
        parsed = parse_smir_name(path.name)
        if parsed is None:
            continue
        modality, smir_id = parsed
        found.setdefault(modality, []).append(CaseFile(modality, smir_id, path))
    files: dict[Modality, CaseFile] = {}
    problems: list[str] = []
    for modality, entries in found.items():
        if len(entries) > 1:
            names = ", ".join(str(e.path.relative_to(folder)) for e in entries)
            problems.append(f"{len(entries)} files for {modality.token}: {names}")
        files[modality] = entries[0]
    return files, problems


def discover_cases(root: Path) -> list[Case]:
    """Find every case under ``root``, training before testing, each sorted by case number.

    ``root`` may also be a single ``case_<n>`` folder. An ISLES'24 BIDS tree (a folder holding
    ``rawdata/`` and/or ``derivatives/`` with ``sub-*`` folders, one of those two folders, a
    ``sub-*`` folder, or a folder holding such trees named ``TRAIN*``/``TEST*``) is recognised
    first and read by :func:`isles2018.data.isles24.discover`.

    Layout problems (a missing or duplicated modality) do not raise: they are recorded on the
    case so that ``isles2018 inspect`` can list every problem at once.

    Raises:
        DataError: ``root`` is not a folder or holds no case folder.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: is a file, not a folder of ISLES cases")
    if isles24.is_bids_tree(root):
        return isles24.discover(root)
    only = None
    if CASE_FOLDER.match(root.name):  # a single case folder
        only, partitions = root, [root.parent]
    else:
        partitions = find_partitions(root)
    if not partitions:
        raise DataError(
            f"{root}: no case_<n> folders found (expected the ISLES 2018 layout, or an "
            "ISLES'24 tree with sub-* folders in rawdata/ or derivatives/)"
        )
    cases: list[Case] = []
    for partition in partitions:
        scanned = []
        for folder in _children(partition):
            if not CASE_FOLDER.match(folder.name):
                continue
            if folder.is_dir():
                scanned.append((folder, *_scan_case(folder)))
            elif folder.is_symlink():  # dangling or looping: report it, never drop it
                scanned.append((folder, {}, [broken_link(folder)]))
        split = _split_of(partition, (files for _, files, _ in scanned))
        required = (*REQUIRED, Modality.OT) if split == "training" else REQUIRED
        scanned.sort(key=lambda item: int(CASE_FOLDER.match(item[0].name)[1]))
        patients = assign_patients(partition, split, [(f.name, files) for f, files, _ in scanned])
        for folder, files, problems in scanned:
            broken = problems[0] if problems and problems[0].startswith(str(folder)) else None
            cases.append(
                Case(
                    case_id=folder.name,
                    patient_id=patients[folder.name],
                    split=split,
                    folder=folder,
                    files=files,
                    missing=() if broken else tuple(m for m in required if m not in files),
                    duplicated=() if broken else tuple(problems),
                    broken=broken,
                )
            )
    cases.sort(key=lambda c: (c.split != "training", c.number, c.case_id))
    if only is not None:
        cases = [c for c in cases if c.folder == only]
    return cases


def split_cases_of(root: Path, split: str) -> list[Case]:
    """The cases of one split under ``root``: ``training`` (with OT) or ``testing`` (without).

    Raises:
        DataError: none found, or ``root`` holds no ISLES case at all.
    """
    cases = [c for c in discover_cases(Path(root)) if c.split == split]
    if not cases:
        ground_truth = " (with OT ground truth)" if split == "training" else ""
        raise DataError(f"{root}: no {split} cases{ground_truth} found")
    return cases


def training_cases(root: Path) -> list[Case]:
    """:func:`split_cases_of` for ``training``: the cases a run trains and validates on."""
    return split_cases_of(root, "training")


def testing_cases(root: Path) -> list[Case]:
    """:func:`split_cases_of` for ``testing``: the cases a submission covers."""
    return split_cases_of(root, "testing")
