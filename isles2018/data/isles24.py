"""Discovery of ISLES'24 cases in a BIDS tree.

An ISLES'24 tree holds ``rawdata/`` (scans in their acquired space) and ``derivatives/`` (every
modality linearly co-registered to the NCCT, entity ``space-ncct``), each with one ``sub-*``
folder per subject; session 1 is the acute CT, session 2 the follow-up MRI. Both spellings in
circulation are read: ``sub-strokecase0001/ses-0001`` and ``sub-stroke0001/ses-01``, ``.nii.gz``
and ``.nii``. The folder given may be the tree, its ``rawdata/`` or ``derivatives/``, one
``sub-*`` folder, a folder holding ``sub-*`` folders directly, or a folder holding trees named
``TRAIN*``/``TEST*`` (the ISLES'24 phantom's layout; other trees beside them are not read).

Mapping to the pipeline's modalities (:data:`isles2018.data.bids.SUFFIXES`): ``ncct`` → CT (the
reference grid), ``ctp`` → CT_4DPWI, ``cbf``/``cbv``/``mtt``/``tmax`` → the maps, ``dwi`` →
MR_DWI (the generator's target: the *follow-up* DWI, and only with ``space-ncct``; a DWI in MR
space is not aligned with the CT and is never used), ``lesion-msk`` → OT. Every other file
(``cta``, ``adc``, ``lvo-msk``, ``cow-msk``, sidecars) is not read.

Choosing among several files of one modality, best first:

1. ``space-ncct`` before no ``space`` entity (a file in another space is never taken; raw maps
   and CTP are accepted, then checked to share the NCCT's grid by ``inspect`` and before use);
2. a file in ``derivatives/`` before one in ``rawdata/``;
3. ``.nii.gz`` before ``.nii`` (the stray uncompressed mask of one release).

Files ranked lower are ignored silently; two files of equal rank are ambiguous and reported
like an ISLES 2018 duplicate (``2 files for OT: …``), so the case is not predicted.

Identifiers: ``case_id`` and ``patient_id`` are the subject (``sub-stroke0014``; one subject is
one patient); every volume's ``smir_id`` is the subject's digits (``0014``), so predictions can
be named after the subject. A case is a training case when it has a lesion mask, else a testing
case; in a tree named ``TRAIN*``/``TEST*`` the name decides, and a training case without a mask
is reported (``missing OT``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from isles2018.data.bids import (
    DERIVATIVES,
    NCCT_SPACE,
    RAWDATA,
    SESSION,
    SUBJECT,
    BidsName,
    expected_paths,
    parse_bids_name,
    session_labels,
)
from isles2018.data.case import ISLES24, Case, broken_link, is_ignored
from isles2018.data.modalities import REQUIRED, CaseFile, Modality
from isles2018.errors import DataError

_PARTITION = re.compile(r"^(TRAIN|TEST)", re.IGNORECASE)
_DIGITS = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class _Tree:
    """Where the subjects are: ``rawdata`` and ``derivatives`` (the same folder for a flat
    tree), the folder holding them, the split its name gives (or None), the one subject asked
    for (or None)."""

    rawdata: Path | None
    derivatives: Path | None
    base: Path
    only: str | None = None

    @property
    def split(self) -> str | None:
        match = _PARTITION.match(self.base.name)
        return None if match is None else "training" if match[1].upper() == "TRAIN" else "testing"

    @property
    def sources(self) -> list[tuple[Path, bool]]:
        """``(folder holding sub-*, is derivatives)``, derivatives first, each folder once."""
        found = [(self.derivatives, True)] if self.derivatives is not None else []
        if self.rawdata is not None and self.rawdata != self.derivatives:
            found.append((self.rawdata, False))
        return found


def _holds_subjects(folder: Path) -> bool:
    try:
        children = list(folder.iterdir())
    except OSError:
        return False
    return any(SUBJECT.match(p.name) and p.is_dir() for p in children if not is_ignored(p))


def _tree_at(base: Path, only: str | None = None) -> _Tree | None:
    rawdata, derivatives = base / RAWDATA, base / DERIVATIVES
    found = [_holds_subjects(rawdata), _holds_subjects(derivatives)]
    if not any(found):
        return None
    return _Tree(rawdata if found[0] else None, derivatives if found[1] else None, base, only)


def _tree(root: Path) -> _Tree | None:
    if SUBJECT.match(root.name):
        parent = root.parent
        if parent.name in (RAWDATA, DERIVATIVES):
            return _tree_at(parent.parent, only=root.name)
        return _Tree(parent, parent, parent, only=root.name)
    if root.name in (RAWDATA, DERIVATIVES) and _holds_subjects(root):
        return _tree_at(root.parent)
    tree = _tree_at(root)
    if tree is None and _holds_subjects(root):
        return _Tree(root, root, root)
    return tree


def _trees(root: Path) -> list[_Tree]:
    tree = _tree(root)
    if tree is not None:
        return [tree]
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and not is_ignored(p))
    except OSError:
        return []
    trees = [t for t in (_tree_at(p) for p in children) if t is not None]
    named = [t for t in trees if t.split is not None]
    return named or trees


def is_bids_tree(root: Path) -> bool:
    """Whether ``root`` is (a part of) an ISLES'24 tree, or holds trees: see the module doc."""
    return bool(_trees(Path(root)))


@dataclass(frozen=True)
class _Candidate:
    modality: Modality
    path: Path
    name: BidsName
    derived: bool

    @property
    def rank(self) -> tuple[bool, bool, bool] | None:
        """Sort key of the documented rule (lower is better); None: never taken."""
        space = self.name.space
        aligned = space == NCCT_SPACE
        if space not in (None, NCCT_SPACE) or (self.modality is Modality.DWI and not aligned):
            return None
        return (not aligned, not self.derived, not self.name.compressed)


def _scan(folders: list[tuple[Path, bool]], subject: str) -> tuple[list[_Candidate], set[str]]:
    candidates, sessions = [], set()
    for folder, derived in folders:
        for path in sorted(folder.rglob("*")):
            if any(is_ignored(Path(p)) for p in path.relative_to(folder).parts):
                continue
            if (session := SESSION.match(path.name)) and path.is_dir():
                sessions.add(session[1])
            name = parse_bids_name(path.name)
            if name is None or name.subject != subject or not path.is_file():
                continue
            if "ses" in name.entities:
                sessions.add(name.entities["ses"])
            if name.modality is not None:
                candidates.append(_Candidate(name.modality, path, name, derived))
    return candidates, sessions


def _choose(
    modality: Modality, candidates: list[_Candidate], base: Path
) -> tuple[_Candidate | None, list[str]]:
    ranked = sorted(
        (c for c in candidates if c.modality is modality and c.rank is not None),
        key=lambda c: (c.rank, str(c.path)),
    )
    if not ranked:
        return None, []
    ties = [c for c in ranked if c.rank == ranked[0].rank]
    if len(ties) == 1:
        return ties[0], []
    names = ", ".join(str(c.path.relative_to(base)) for c in ties)
    return ties[0], [f"{len(ties)} files for {modality.token}: {names}"]


def _no_dwi_note(expected: Path, candidates: list[_Candidate]) -> str:
    unaligned = [c.path.name for c in candidates if c.modality is Modality.DWI]
    ignored = f" ({unaligned[0]} is not in NCCT space and is not used)" if unaligned else ""
    return (
        f"no DWI co-registered to the NCCT: {expected} not found{ignored}; the stages that "
        "need MR_DWI (the GAN stages) cannot train on this case, perfusion-unet can"
    )


def _case(tree: _Tree, subject: str) -> Case:
    folders = [(s / subject, derived) for s, derived in tree.sources]
    folders = [(f, d) for f, d in folders if f.is_dir() or f.is_symlink()]
    split = tree.split or "testing"
    for path, _ in folders:
        if not path.is_dir():
            reason = broken_link(path)
            return Case(subject, subject, split, path, {}, broken=reason, layout=ISLES24)
    candidates, sessions = _scan(folders, subject)
    rawdata, derivatives = tree.rawdata or tree.base, tree.derivatives or tree.base
    labels = session_labels(subject, sessions)
    expected = expected_paths(rawdata, derivatives, subject, labels)
    digits = _DIGITS.search(subject)
    identifier = digits[1] if digits else subject.removeprefix("sub-")
    files, duplicated = {}, []
    for modality in Modality:
        chosen, ambiguous = _choose(modality, candidates, tree.base)
        duplicated += ambiguous
        if chosen is not None:
            files[modality] = CaseFile(modality, identifier, chosen.path)
    split = tree.split or ("training" if Modality.OT in files else "testing")
    required = (*REQUIRED, Modality.OT) if split == "training" else REQUIRED
    notes = ()
    if split == "training" and Modality.DWI not in files:
        notes = (_no_dwi_note(expected[Modality.DWI], candidates),)
    return Case(
        case_id=subject,
        patient_id=subject,
        split=split,
        folder=folders[0][0],
        files=files,
        missing=tuple(m for m in required if m not in files),
        duplicated=tuple(duplicated),
        layout=ISLES24,
        expected={m: p for m, p in expected.items() if m not in files},
        notes=notes,
    )


def _subjects(tree: _Tree) -> set[str]:
    if tree.only is not None:
        return {tree.only}
    return {
        p.name
        for source, _ in tree.sources
        for p in source.iterdir()
        if SUBJECT.match(p.name) and not is_ignored(p) and (p.is_dir() or p.is_symlink())
    }


def discover(root: Path) -> list[Case]:
    """Every ISLES'24 subject under ``root``, training before testing, by subject number.

    Raises:
        DataError: ``root`` is no ISLES'24 tree and holds none.
    """
    root = Path(root)
    trees = _trees(root)
    if not trees:
        raise DataError(f"{root}: no sub-* folders found (expected an ISLES'24 tree)")
    cases = [_case(tree, subject) for tree in trees for subject in _subjects(tree)]
    cases.sort(key=lambda c: (c.split != "training", c.number, c.case_id))
    return cases
