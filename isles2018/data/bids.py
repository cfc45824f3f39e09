"""ISLES'24 file names (BIDS style): parsing, the suffix → modality table, expected names.

``sub-<label>[_<key>-<value>…]_<suffix>.nii[.gz]``, e.g. ``sub-stroke0014_ses-01_space-ncct_cbf
.nii.gz`` or ``sub-strokecase0001_ses-0002_lesion-msk.nii.gz``. The one place these strings live;
discovery is :mod:`isles2018.data.isles24`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from isles2018.data.modalities import Modality

RAWDATA = "rawdata"
DERIVATIVES = "derivatives"
SUBJECT = re.compile(r"^sub-[A-Za-z0-9]+$")
SESSION = re.compile(r"^ses-([A-Za-z0-9]+)$")
#: The ``space`` entity of files co-registered to the NCCT.
NCCT_SPACE = "ncct"
_EXTENSION = re.compile(r"\.nii(\.gz)?$")

#: BIDS suffix (the last ``_`` part of a name) → modality. Nothing else is read: ``cta``,
#: ``adc``, ``lvo-msk`` (vessel occlusion) and ``cow-msk`` (Circle of Willis) are not lesions.
SUFFIXES: dict[str, Modality] = {
    "ncct": Modality.CT,
    "ctp": Modality.PWI,
    "cbf": Modality.CBF,
    "cbv": Modality.CBV,
    "mtt": Modality.MTT,
    "tmax": Modality.TMAX,
    "dwi": Modality.DWI,
    "lesion-msk": Modality.OT,
}
_SUFFIX_OF = {modality: suffix for suffix, modality in SUFFIXES.items()}
_MAPS = (Modality.CBF, Modality.CBV, Modality.MTT, Modality.TMAX)


@dataclass(frozen=True)
class BidsName:
    """A parsed file name.

    Attributes:
        subject: ``sub-<label>``.
        entities: the ``key-value`` pairs between subject and suffix (keys lower case).
        suffix: the last part, lower case (``mtt``, ``lesion-msk``).
        compressed: ``.nii.gz`` rather than ``.nii``.
    """

    subject: str
    entities: dict[str, str]
    suffix: str
    compressed: bool

    @property
    def space(self) -> str | None:
        """The ``space`` entity, lower case, or None."""
        space = self.entities.get("space")
        return space.lower() if space else None

    @property
    def modality(self) -> Modality | None:
        """The pipeline's modality for this suffix, or None (the whole suffix is matched)."""
        return SUFFIXES.get(self.suffix)


def parse_bids_name(name: str) -> BidsName | None:
    """Parse a NIfTI file name in BIDS style; None for anything else."""
    extension = _EXTENSION.search(name)
    if extension is None:
        return None
    parts = name[: extension.start()].split("_")
    if len(parts) < 2 or not SUBJECT.match(parts[0]):
        return None
    entities = {}
    for part in parts[1:-1]:
        key, _, value = part.partition("-")
        if not key or not value:
            return None
        entities[key.lower()] = value
    return BidsName(parts[0], entities, parts[-1].lower(), extension[1] is not None)


def session_labels(subject: str, sessions: set[str]) -> tuple[str, str]:
    """Acute and follow-up session labels in the subject's spelling: the width of the digit
    labels seen (``01`` or ``0001``), else 4 for ``sub-strokecase*`` and 2 otherwise."""
    widths = sorted(len(s) for s in sessions if s.isdigit())
    width = widths[-1] if widths else (4 if subject.startswith("sub-strokecase") else 2)
    return "1".zfill(width), "2".zfill(width)


def expected_paths(
    rawdata: Path, derivatives: Path, subject: str, sessions: tuple[str, str]
) -> dict[Modality, Path]:
    """Where each modality's file is expected: the NCCT in ``rawdata``, everything else
    ``space-ncct`` in ``derivatives`` (``sessions``: acute and follow-up labels)."""
    acute, later = (f"{subject}_ses-{s}" for s in sessions)
    acute_folder = derivatives / subject / f"ses-{sessions[0]}"
    later_folder = derivatives / subject / f"ses-{sessions[1]}"
    paths = {Modality.CT: rawdata / subject / f"ses-{sessions[0]}" / f"{acute}_ncct.nii.gz"}
    paths[Modality.PWI] = acute_folder / f"{acute}_space-ncct_ctp.nii.gz"
    for modality in _MAPS:
        name = f"{acute}_space-ncct_{_SUFFIX_OF[modality]}.nii.gz"
        paths[modality] = acute_folder / "perfusion-maps" / name
    paths[Modality.DWI] = later_folder / f"{later}_space-ncct_dwi.nii.gz"
    paths[Modality.OT] = later_folder / f"{later}_space-ncct_lesion-msk.nii.gz"
    return paths
