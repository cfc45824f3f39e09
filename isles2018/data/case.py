"""One discovered case, whichever data set it comes from (ISLES 2018 or ISLES'24).

A case maps the pipeline's :class:`~isles2018.data.modalities.Modality` members to files, so
the stages downstream (stacking, training, prediction) never look at the layout again. Discovery
lives in :mod:`isles2018.data.layout` (ISLES 2018) and :mod:`isles2018.data.isles24` (ISLES'24).
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from isles2018.data.modalities import CaseFile, Modality, prediction_name
from isles2018.errors import DataError

#: ``Case.layout`` of a case in the ISLES 2018 layout (``case_<n>/SMIR.Brain.XX.O.…``).
ISLES2018 = "isles2018"
#: ``Case.layout`` of a case in the ISLES'24 BIDS layout (``sub-stroke0001/ses-01/…``).
ISLES24 = "isles24"

#: The modality whose grid every other volume of a case must share: the CT_MTT in ISLES 2018
#: (predictions are written on it), the NCCT in ISLES'24 (``derivatives/`` are co-registered to it).
REFERENCE: dict[str, Modality] = {ISLES2018: Modality.MTT, ISLES24: Modality.CT}

_TRAILING_DIGITS = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class Case:
    """One case (an ISLES 2018 slab or an ISLES'24 subject) as found on disk.

    Attributes:
        case_id: ``case_<n>`` (ISLES 2018) or the BIDS subject, e.g. ``sub-stroke0014``.
        patient_id: the patient the case belongs to (two ISLES 2018 slabs may share one; an
            ISLES'24 subject is its own patient).
        split: ``"training"`` or ``"testing"``.
        folder: the case folder (ISLES'24: the subject's folder in ``derivatives/``, else in
            ``rawdata/``).
        files: the volumes found, by modality.
        missing: modalities the case's split requires but were not found.
        duplicated: lines naming modalities found in more than one file (ambiguous, so the
            case cannot be predicted).
        broken: why the case folder cannot be read at all (a dangling link, a link loop), or
            None; such a case is kept so that it is reported instead of silently dropped.
        layout: :data:`ISLES2018` or :data:`ISLES24`.
        expected: where a modality that was not found should have been (ISLES'24: the
            ``space-ncct`` file names), for messages.
        notes: problems that restrict what the case can be used for without stopping its
            prediction (ISLES'24: no co-registered DWI, so the GAN stages cannot train on it).
    """

    case_id: str
    patient_id: str
    split: str
    folder: Path
    files: dict[Modality, CaseFile] = field(hash=False, compare=False)
    missing: tuple[Modality, ...] = ()
    duplicated: tuple[str, ...] = ()
    broken: str | None = None
    layout: str = ISLES2018
    expected: dict[Modality, Path] = field(default_factory=dict, hash=False, compare=False)
    notes: tuple[str, ...] = ()

    @property
    def problems(self) -> tuple[str, ...]:
        """Layout problems found by discovery (unreadable folder, missing or duplicated
        modalities, and the :attr:`notes`)."""
        if self.broken:
            return (self.broken,)
        missing = ()
        if self.missing:
            line = f"missing {', '.join(m.token for m in self.missing)}"
            where = [str(self.expected[m]) for m in self.missing if m in self.expected]
            missing = (line + (f" (expected {', '.join(where)})" if where else ""),)
        return (*missing, *self.duplicated, *self.notes)

    @property
    def number(self) -> int:
        """The trailing digits of the case id: ``12`` for ``case_12``, ``14`` for
        ``sub-stroke0014`` (0 when there are none)."""
        match = _TRAILING_DIGITS.search(self.case_id)
        return int(match[1]) if match else 0

    @property
    def reference(self) -> Modality:
        """The modality whose grid every other volume must share (see :data:`REFERENCE`)."""
        return REFERENCE[self.layout]

    def has(self, modality: Modality) -> bool:
        """Whether the case has a volume of this modality."""
        return modality in self.files

    def path(self, modality: Modality) -> Path:
        """Path of a modality's volume.

        Raises:
            DataError: the case has no such volume (naming the file expected, when known).
        """
        if modality not in self.files:
            where = f" ({self.expected[modality]} not found)" if modality in self.expected else ""
            raise DataError(f"{self.folder}: no {modality.token} volume{where}")
        return self.files[modality].path

    def prediction_file(self, method_name: str) -> str:
        """File name of this case's prediction: the ISLES 2018 challenge's
        ``SMIR.<method>.<CT_MTT id>.nii``, or ``<subject>.nii.gz`` for ISLES'24 (what
        ``isles-eval`` pairs with the subject's lesion mask).

        Raises:
            ConfigError: a method name that cannot go in a file name.
            DataError: an ISLES 2018 case without CT_MTT.
        """
        if self.layout == ISLES24:
            prediction_name(method_name, 0)  # the same check of the name for both layouts
            return f"{self.case_id}.nii.gz"
        return prediction_name(method_name, self.smir_id(Modality.MTT))

    def smir_id(self, modality: Modality) -> str:
        """Identifier of a modality's volume (digits): its SMIR id in ISLES 2018; the subject's
        digits in ISLES'24 (``0014`` for ``sub-stroke0014``, the same for every volume)."""
        if modality not in self.files:
            raise DataError(f"{self.folder}: no {modality.token} volume")
        return self.files[modality].smir_id


def is_ignored(path: Path) -> bool:
    """Whether discovery skips a file or folder: ``__MACOSX`` and hidden names (``._*``)."""
    return path.name == "__MACOSX" or path.name.startswith(".")


def broken_link(folder: Path) -> str:
    """One line saying why ``folder`` (not a readable folder) cannot be read."""
    try:
        folder.resolve(strict=True)
    except RuntimeError:  # Python 3.11 raises this for a loop
        return f"{folder}: symbolic link loop"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return f"{folder}: symbolic link loop"
        return f"{folder}: broken symbolic link to {os.readlink(folder)} (target not found)"
    return f"{folder}: not a folder"
