"""ISLES'24 reference trees (BIDS): every subject's lesion mask and NCCT, for pairing.

An ISLES'24 tree holds ``derivatives/`` (every modality co-registered to the NCCT) and possibly
``rawdata/`` and ``phenotype/``, each with one ``sub-*`` folder per subject, in either spelling:
``sub-strokecase0001/ses-0001`` or ``sub-stroke0014/ses-01``. Session 1 is the acute CT, session
2 the follow-up MRI. The rules:

* **Subjects folder**: ``<folder>/derivatives`` when it holds ``sub-*`` folders, else the folder
  itself when it does (``derivatives/`` given directly, or any folder of subjects), else
  ``<folder>/rawdata`` (refused: it holds no lesion masks).
* **Case**: one per ``sub-*`` folder; the case id is the folder name (``sub-stroke0014``), so
  predictions pair by plain naming, ``sub-stroke0014.nii[.gz]``.
* **Lesion mask**: ``<sub>/<ses>/<sub>_<ses>[_space-ncct]_lesion-msk.nii[.gz]`` where ``<ses>`` is
  the follow-up session (``ses-02``, ``ses-0002``: label 2 in any width) and the name repeats the
  subject's and session's folder names. The whole suffix must be ``lesion-msk`` (``lvo-msk`` and
  ``cow-msk`` are never taken); a ``space`` other than ``ncct`` is not taken. Among several:
  ``space-ncct`` before none, then ``.nii.gz`` before ``.nii``; two of the best rank are a
  per-case problem (a failed row), as is a subject without any lesion mask.
* **Background** (report overlays): the acute NCCT, ``<sub>_<ses>[_space-ncct]_ncct.nii[.gz]`` of
  session 1, in the subject's folder before the sibling ``rawdata/``, then ranked as the masks
  (the first by path on a tie); none found: a blank background.

Self-contained: it imports nothing of :mod:`evaluation.pairing`, which imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from evaluation.errors import EvaluationError

DERIVATIVES = "derivatives"
RAWDATA = "rawdata"
SUBJECT = re.compile(r"^sub-[A-Za-z0-9]+$")
SESSION = re.compile(r"^ses-(\d+)$")
#: ``<sub>_<ses>[_space-<label>]_<suffix>.nii[.gz]`` with one of the two suffixes read, whole.
FILE_NAME = re.compile(
    r"^(?P<subject>sub-[A-Za-z0-9]+)_(?P<session>ses-\d+)(?:_space-(?P<space>[A-Za-z0-9]+))?"
    r"_(?P<suffix>lesion-msk|ncct)\.nii(?P<gz>\.gz)?$"
)
LESION_MASK = "lesion-msk"
NCCT = "ncct"
NCCT_SPACE = "ncct"
ACUTE_SESSION = 1
FOLLOW_UP_SESSION = 2
EXPECTED_MASK = "ses-02|ses-0002/<sub>_<ses>[_space-ncct]_lesion-msk.nii[.gz]"


@dataclass(frozen=True)
class Subject:
    """One subject as a case; the fields are named as :class:`evaluation.pairing.CasePair`'s.

    Attributes:
        case_id: the subject folder's name (``sub-stroke0014``).
        reference_path: its lesion mask, or None (none, or a tie: see ``problem``).
        background_path: its acute NCCT, or None.
        problem: why the subject has no lesion mask to score against, else None.
    """

    case_id: str
    reference_path: Path | None
    background_path: Path | None = None
    problem: str | None = None


def _subject_folders(folder: Path) -> list[Path]:
    """The ``sub-*`` folders of ``folder`` (hidden entries and files ignored), by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if SUBJECT.match(p.name) and p.is_dir())


def subjects_folder(folder: str | Path) -> Path | None:
    """The folder holding the ``sub-*`` folders of the ISLES'24 tree at ``folder``, or None.

    ``<folder>/derivatives``, else ``folder``, else ``<folder>/rawdata``: the first holding a
    ``sub-*`` folder. None when none does (``folder`` is no ISLES'24 tree).
    """
    folder = Path(folder)
    for candidate in (folder / DERIVATIVES, folder, folder / RAWDATA):
        if _subject_folders(candidate):
            return candidate
    return None


def _files(subject_dir: Path, session: int, suffix: str) -> list[tuple[tuple[bool, bool], Path]]:
    """``(rank, path)`` of the subject's ``suffix`` files in its sessions labelled ``session``.

    The rank is ``(space-ncct, .nii.gz)``: higher is better. Files in a ``space`` other than
    ``ncct`` and files whose name does not repeat the subject and session are left out.
    """
    found = []
    if not subject_dir.is_dir():
        return found
    for session_dir in sorted(subject_dir.iterdir()):
        label = SESSION.match(session_dir.name)
        if label is None or int(label[1]) != session or not session_dir.is_dir():
            continue
        for path in sorted(session_dir.iterdir()):
            name = FILE_NAME.match(path.name)
            if (
                name is None
                or name["suffix"] != suffix
                or (name["subject"], name["session"]) != (subject_dir.name, session_dir.name)
                or (name["space"] or NCCT_SPACE).lower() != NCCT_SPACE
                or not path.is_file()
            ):
                continue
            found.append(((name["space"] is not None, name["gz"] is not None), path))
    return found


def _best(ranked: list[tuple[tuple, Path]]) -> list[Path]:
    """The paths of the best rank (more than one: a tie), in path order."""
    if not ranked:
        return []
    top = max(rank for rank, _ in ranked)
    return [path for rank, path in ranked if rank == top]


def read_subject(subject_dir: Path, rawdata: Path | None = None) -> Subject:
    """The lesion mask and NCCT of one ``sub-*`` folder (``rawdata``: the tree's raw folder)."""
    masks = _best(_files(subject_dir, FOLLOW_UP_SESSION, LESION_MASK))
    problem = None
    if not masks:
        problem = f"{subject_dir}: no lesion mask ({EXPECTED_MASK})"
    elif len(masks) > 1:
        names = ", ".join(str(p.relative_to(subject_dir)) for p in masks)
        problem = f"{subject_dir}: {len(masks)} lesion masks of equal rank ({names})"
    ncct = [((True, *rank), path) for rank, path in _files(subject_dir, ACUTE_SESSION, NCCT)]
    if rawdata is not None:
        raw = _files(rawdata / subject_dir.name, ACUTE_SESSION, NCCT)
        ncct += [((False, *rank), path) for rank, path in raw]
    backgrounds = _best(ncct)
    return Subject(
        case_id=subject_dir.name,
        reference_path=masks[0] if len(masks) == 1 else None,
        background_path=backgrounds[0] if backgrounds else None,
        problem=problem,
    )


def read_subjects(subjects: str | Path) -> list[Subject]:
    """Every subject of a subjects folder (:func:`subjects_folder`), by folder name."""
    subjects = Path(subjects)
    rawdata = subjects.parent / RAWDATA
    rawdata = rawdata if rawdata.is_dir() and rawdata.resolve() != subjects.resolve() else None
    return [read_subject(folder, rawdata) for folder in _subject_folders(subjects)]


def find_subjects(folder: str | Path) -> Path | None:
    """The subjects folder to score when ``folder`` is an ISLES'24 tree, else None.

    Raises:
        EvaluationError: no subject of that folder holds a lesion mask (one line naming it).
    """
    subjects = subjects_folder(folder)
    if subjects is None:
        return None
    folders = _subject_folders(subjects)
    if not any(_files(f, FOLLOW_UP_SESSION, LESION_MASK) for f in folders):
        raise EvaluationError(
            f"{subjects}: no lesion mask in any of its {len(folders)} sub-* folders (expected "
            f"{EXPECTED_MASK}; point --reference at the ISLES'24 root or its derivatives/)"
        )
    return subjects
