"""Pair prediction files with reference masks, for the two naming schemes.

* **challenge**: the reference is an ISLES-layout folder (``case_<n>/SMIR.Brain.XX.O.<MOD>.<ID>/
  SMIR.Brain.XX.O.<MOD>.<ID>.nii[.gz]``) holding ``OT`` (ground truth) and ``CT_MTT`` (or the
  early release's ``MR_MTT``); a prediction ``SMIR.<method>.<ID>.nii`` names the ``<ID>`` of the
  case's MTT volume.
* **plain**: ``<case_id>.nii[.gz]`` on both sides (``case_3.nii.gz``). Plain prediction names
  also pair with an ISLES-layout reference by case folder name, and with an ISLES'24 (BIDS) tree
  by subject folder name (``sub-stroke0014.nii.gz``; the tree's rules: :mod:`evaluation.bids`).

The reference may also be a data-set root, as every ``isles2018`` command accepts: a folder
holding ``TRAINING/`` and/or ``TESTING/`` partitions (or ``REFERENCE/``, the phantom's ground
truth of its testing cases), or an unpacked zip a few levels higher. The partition holding OT
volumes is used (:func:`resolve_reference`).

Self-contained on purpose: ``evaluation`` never imports ``isles2018``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from evaluation import bids
from evaluation.errors import EvaluationError

#: A volume folder or file stem of the ISLES layout: modality token and SMIR id.
SMIR_VOLUME = re.compile(r"^SMIR\.Brain\.XX\.O\.([A-Za-z0-9_]+)\.(\d+)$")
#: A challenge submission file name: method name and the case's MTT SMIR id.
SUBMISSION = re.compile(r"^SMIR\.(.+)\.(\d+)\.nii(?:\.gz)?$")
CASE_FOLDER = re.compile(r"^case_\d+$")
#: Partition folders searched first under a data-set root (as ``isles2018`` does, + REFERENCE).
PARTITION_FOLDER = re.compile(r"^(TRAIN|TEST|REFERENCE)", re.IGNORECASE)
_MAX_DEPTH = 4
GROUND_TRUTH_TOKEN = "OT"
#: Tokens whose SMIR id names a submission: current and early release.
MTT_TOKENS = ("CT_MTT", "MR_MTT")


@dataclass(frozen=True)
class CasePair:
    """One case to score.

    Attributes:
        case_id: ``"case_12"`` or the plain file stem.
        reference_path: the ground-truth mask, or None when the case has none.
        prediction_path: the matching prediction, or None when missing.
        background_path: an image to draw overlays on (the case's MTT), or None.
        smir_id: the MTT volume's SMIR id (challenge layout), else None.
        problem: why the case cannot be scored before reading it (no OT, two predictions…).
    """

    case_id: str
    reference_path: Path | None
    prediction_path: Path | None = None
    background_path: Path | None = None
    smir_id: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Pairing:
    """Every reference case with its prediction, and the predictions nobody asked for.

    ``reference_dir`` is the folder whose cases were used (a partition of a data-set root).
    """

    pairs: tuple[CasePair, ...]
    unmatched_predictions: tuple[Path, ...]
    layout: str
    reference_dir: Path


def _visible(path: Path) -> bool:
    """False for macOS resource forks (``._x``), ``__MACOSX`` and hidden entries."""
    return not path.name.startswith((".", "__MACOSX"))


def _nifti_stem(path: Path) -> str | None:
    for suffix in (".nii.gz", ".nii"):
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.name[: -len(suffix)]
    return None


def case_sort_key(case_id: str) -> tuple:
    """Natural order: ``case_2`` before ``case_10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", case_id))


def _volume_file(folder: Path) -> Path | None:
    for suffix in (".nii", ".nii.gz"):
        candidate = folder / f"{folder.name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def is_isles_layout(folder: Path) -> bool:
    """Whether ``folder`` holds ``case_<n>`` sub-folders (a TRAINING or TESTING folder)."""
    return any(p.is_dir() and CASE_FOLDER.match(p.name) for p in folder.iterdir() if _visible(p))


def read_isles_case(folder: Path) -> CasePair:
    """Find the OT and MTT volumes of one ``case_<n>`` folder (prediction not yet paired)."""
    ground_truth: list[Path] = []
    mtt: list[tuple[Path, str]] = []
    problems = []
    for entry in sorted(p for p in folder.iterdir() if p.is_dir() and _visible(p)):
        match = SMIR_VOLUME.match(entry.name)
        if not match:
            continue
        token, smir_id = match.group(1).upper(), match.group(2)
        if token not in (GROUND_TRUTH_TOKEN, *MTT_TOKENS):
            continue
        volume = _volume_file(entry)
        if volume is None:
            problems.append(f"{entry}: no {entry.name}.nii or .nii.gz inside")
        elif token == GROUND_TRUTH_TOKEN:
            ground_truth.append(volume)
        else:
            mtt.append((volume, smir_id))
    if len(ground_truth) > 1:
        problems.append(f"{folder}: {len(ground_truth)} OT volumes")
    if not ground_truth and not problems:
        problems.append(f"{folder}: no OT ground-truth volume")
    if len(mtt) > 1:
        problems.append(f"{folder}: {len(mtt)} MTT volumes")
    return CasePair(
        case_id=folder.name,
        reference_path=ground_truth[0] if len(ground_truth) == 1 else None,
        background_path=mtt[0][0] if len(mtt) == 1 else None,
        smir_id=mtt[0][1] if len(mtt) == 1 else None,
        problem="; ".join(problems) or None,
    )


def _case_folders(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_dir() and CASE_FOLDER.match(p.name)]


def find_partitions(root: Path, depth: int = _MAX_DEPTH) -> list[Path]:
    """Folders under ``root`` (itself included, ``depth`` levels) holding ``case_<n>`` folders.

    Below a folder with ``TRAINING``, ``TESTING`` or ``REFERENCE`` sub-folders only those are
    searched (other folders beside them, such as run outputs, are not partitions).
    """
    if is_isles_layout(root):
        return [root]
    if depth <= 0:
        return []
    children = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    named = [p for p in children if PARTITION_FOLDER.match(p.name)]
    return [f for child in (named or children) for f in find_partitions(child, depth - 1)]


def resolve_reference(reference_dir: str | Path, prediction_dir: str | Path | None = None) -> Path:
    """The folder whose cases are the reference.

    An ISLES'24 tree's subjects folder (:func:`evaluation.bids.find_subjects`); else
    ``reference_dir`` itself when it holds ``case_<n>`` folders or NIfTI files; else the one
    partition below it whose cases hold OT volumes (a TESTING partition has none). When several
    do (a phantom root: ``TRAINING/`` and ``REFERENCE/``, whose case ids overlap), the one that
    the files of ``prediction_dir`` pair with is used, if exactly one pairs with the most.

    Raises:
        EvaluationError: the folder is missing, holds no ground truth, or the partition to
            use cannot be told.
    """
    reference_dir = Path(reference_dir)
    if not reference_dir.is_dir():
        raise EvaluationError(f"{reference_dir}: reference folder not found")
    if (subjects := bids.find_subjects(reference_dir)) is not None:
        return subjects  # an ISLES'24 tree: its derivatives/ (or the folder of sub-* folders)
    if is_isles_layout(reference_dir) or any(
        p.is_file() and _visible(p) and _nifti_stem(p) for p in reference_dir.iterdir()
    ):
        return reference_dir
    partitions = find_partitions(reference_dir)
    if not partitions:
        raise EvaluationError(
            f"{reference_dir}: no case_<n> folders (in it, or in TRAINING/, TESTING/ or "
            "REFERENCE/ below it) and no .nii/.nii.gz reference files"
        )
    cases = {p: [read_isles_case(c) for c in _case_folders(p)] for p in partitions}
    usable = [p for p in partitions if any(c.reference_path for c in cases[p])]
    names = ", ".join(str(p.relative_to(reference_dir)) for p in usable or partitions)
    if not usable:
        raise EvaluationError(
            f"{reference_dir}: no OT ground truth in {names} (testing cases have none; "
            "point --reference at the folder holding their OT volumes)"
        )
    paired = {p: 0 for p in usable}
    if len(usable) > 1 and prediction_dir is not None and Path(prediction_dir).is_dir():
        for partition in usable:
            found, _ = _match_predictions(Path(prediction_dir), cases[partition])
            paired[partition] = sum(len(paths) for paths in found.values())
    ranked = sorted(paired.values(), reverse=True)
    if len(usable) == 1 or (ranked[0] > 0 and ranked[0] > ranked[1]):
        return max(paired, key=lambda p: paired[p])
    raise EvaluationError(
        f"{reference_dir}: ground truth in several partitions ({names}) and the predictions "
        "do not tell which; pass one of them as --reference"
    )


def find_reference_cases(reference_dir: str | Path) -> tuple[list[CasePair], str]:
    """Every case of a reference folder, in natural order, and the layout (``isles``, ``plain``
    or ``isles24``: ISLES'24 ``sub-*`` folders).

    Raises:
        EvaluationError: see :func:`resolve_reference` (called without predictions).
    """
    reference_dir = resolve_reference(reference_dir)
    if is_isles_layout(reference_dir):
        cases, layout = [read_isles_case(p) for p in _case_folders(reference_dir)], "isles"
    elif bids.subjects_folder(reference_dir) == reference_dir:
        cases, layout = [CasePair(**vars(s)) for s in bids.read_subjects(reference_dir)], "isles24"
    else:
        cases = [
            CasePair(case_id=stem, reference_path=p)
            for p in reference_dir.iterdir()
            if p.is_file() and _visible(p) and (stem := _nifti_stem(p)) is not None
        ]
        layout = "plain"
    cases.sort(key=lambda c: case_sort_key(c.case_id))
    return cases, layout


def _match_predictions(
    prediction_dir: Path, cases: list[CasePair]
) -> tuple[dict[str, list[Path]], list[Path]]:
    """Prediction files by case id, and the NIfTI files that match no case."""
    by_case = {c.case_id: c for c in cases}
    by_smir = {c.smir_id: c.case_id for c in cases if c.smir_id is not None}
    found: dict[str, list[Path]] = {}
    unmatched: list[Path] = []
    for path in sorted(prediction_dir.iterdir()):
        stem = _nifti_stem(path)
        if not path.is_file() or not _visible(path) or stem is None:
            continue
        submission = SUBMISSION.match(path.name)
        if submission and submission.group(2) in by_smir:
            found.setdefault(by_smir[submission.group(2)], []).append(path)
        elif stem in by_case:
            found.setdefault(stem, []).append(path)
        else:
            unmatched.append(path)
    return found, unmatched


def pair_cases(prediction_dir: str | Path, reference_dir: str | Path) -> Pairing:
    """Match every reference case with its prediction file.

    A prediction named ``SMIR.<method>.<ID>.nii[.gz]`` pairs with the case whose MTT has SMIR id
    ``<ID>``; any other ``<name>.nii[.gz]`` pairs with case ``<name>``. A case with no
    prediction gets ``prediction_path=None``; a case with two gets a ``problem``; NIfTI files
    that match no case are returned as unmatched.

    Raises:
        EvaluationError: a folder is missing or the reference holds no case
            (:func:`resolve_reference`).
    """
    prediction_dir = Path(prediction_dir)
    if not prediction_dir.is_dir():
        raise EvaluationError(f"{prediction_dir}: prediction folder not found")
    reference_dir = resolve_reference(reference_dir, prediction_dir)
    cases, layout = find_reference_cases(reference_dir)
    found, unmatched = _match_predictions(prediction_dir, cases)
    pairs = []
    for case in cases:
        predictions = found.get(case.case_id, [])
        problem = case.problem
        if len(predictions) > 1:
            names = ", ".join(p.name for p in predictions)
            problem = "; ".join(filter(None, [problem, f"several predictions: {names}"]))
        prediction = predictions[0] if len(predictions) == 1 else None
        pairs.append(replace(case, prediction_path=prediction, problem=problem))
    return Pairing(tuple(pairs), tuple(unmatched), layout, reference_dir)


def find_backgrounds(background_dir: str | Path) -> dict[str, Path]:
    """Background images by case id: each case's MTT (ISLES layout) or ``<case_id>.nii[.gz]``.

    Raises:
        EvaluationError: the folder is missing.
    """
    background_dir = Path(background_dir)
    if not background_dir.is_dir():
        raise EvaluationError(f"{background_dir}: background folder not found")
    if is_isles_layout(background_dir):
        cases = (read_isles_case(folder) for folder in _case_folders(background_dir))
        return {c.case_id: c.background_path for c in cases if c.background_path is not None}
    return {
        stem: p
        for p in background_dir.iterdir()
        if p.is_file() and _visible(p) and (stem := _nifti_stem(p)) is not None
    }
