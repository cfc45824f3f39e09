"""File names of the ISLES'24 layout, in the two spellings in circulation.

Relative to an ISLES'24 root (a folder holding ``rawdata/`` and ``derivatives/``), with ``<sub>``
e.g. ``sub-strokecase0001`` and ``<ses1>``, ``<ses2>`` the acute (CT) and follow-up (MR)
sessions::

    rawdata/<sub>/<ses1>/<sub>_<ses1>_{ncct,cta,ctp}.nii.gz
    rawdata/<sub>/<ses1>/perfusion-maps/<sub>_<ses1>_{tmax,mtt,cbf,cbv}.nii.gz
    rawdata/<sub>/<ses2>/<sub>_<ses2>_{dwi,adc}.nii.gz
    derivatives/<sub>/<ses1>/<sub>_<ses1>_space-ncct_{cta,ctp}.nii.gz
    derivatives/<sub>/<ses1>/perfusion-maps/<sub>_<ses1>_space-ncct_{tmax,mtt,cbf,cbv}.nii.gz
    derivatives/<sub>/<ses2>/<sub>_<ses2>_space-ncct_{dwi,adc}.nii.gz
    derivatives/<sub>/<ses2>/<sub>_<ses2>_lesion-msk.nii.gz

The NCCT is the reference space and, as in the challenge README, only in ``rawdata/``.
Spellings: ``challenge`` (the challenge README: ``sub-strokecase0001``, ``ses-0001``) and
``sample`` (the sample files: ``sub-stroke0001``, ``ses-01``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RAWDATA = "rawdata"
DERIVATIVES = "derivatives"
MAPS_FOLDER = "perfusion-maps"
SPACE = "space-ncct"
ACUTE, FOLLOW_UP = 1, 2
#: Perfusion maps in the README's order.
MAPS = ("tmax", "mtt", "cbf", "cbv")
MASK = "lesion-msk"


@dataclass(frozen=True)
class Spelling:
    """How subjects and sessions are spelled.

    Attributes:
        name: ``challenge`` or ``sample``.
        subject_prefix: ``strokecase`` or ``stroke`` (``sub-<prefix><4 digits>``).
        session_digits: 4 (``ses-0001``) or 2 (``ses-01``).
    """

    name: str
    subject_prefix: str
    session_digits: int

    def subject(self, number: int) -> str:
        """``sub-strokecase0001`` / ``sub-stroke0001``."""
        return f"sub-{self.subject_prefix}{number:04d}"

    def session(self, session: int) -> str:
        """``ses-0001`` / ``ses-01``."""
        return f"ses-{session:0{self.session_digits}d}"


SPELLINGS = {
    "challenge": Spelling("challenge", "strokecase", 4),
    "sample": Spelling("sample", "stroke", 2),
}


@dataclass(frozen=True)
class Entry:
    """One file of a subject.

    Attributes:
        tree: ``rawdata`` or ``derivatives``.
        session: :data:`ACUTE` or :data:`FOLLOW_UP`.
        key: the suffix: ``ncct``, ``cta``, ``ctp``, a map, ``dwi``, ``adc`` or ``lesion-msk``.
    """

    tree: str
    session: int
    key: str

    @property
    def in_ncct_space(self) -> bool:
        """Whether the name carries ``space-ncct`` (co-registered derivatives; not the mask)."""
        return self.tree == DERIVATIVES and self.key != MASK

    def path(self, spelling: Spelling, number: int, ext: str) -> Path:
        """Path relative to the ISLES'24 root."""
        subject, session = spelling.subject(number), spelling.session(self.session)
        space = f"_{SPACE}" if self.in_ncct_space else ""
        folder = Path(self.tree) / subject / session
        if self.key in MAPS:
            folder = folder / MAPS_FOLDER
        return folder / f"{subject}_{session}{space}_{self.key}{ext}"


def _entries(tree: str) -> tuple[Entry, ...]:
    acute = ("ncct", "cta", "ctp") if tree == RAWDATA else ("cta", "ctp")
    follow_up = ("dwi", "adc") if tree == RAWDATA else ("dwi", "adc", MASK)
    return (
        *(Entry(tree, ACUTE, key) for key in (*acute, *MAPS)),
        *(Entry(tree, FOLLOW_UP, key) for key in follow_up),
    )


#: Every file of a labelled subject, raw data first.
ENTRIES: tuple[Entry, ...] = (*_entries(RAWDATA), *_entries(DERIVATIVES))
