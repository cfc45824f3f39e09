"""The ISLES 2018 modalities, their file-name tokens and the challenge's file names.

The one place these strings live.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path

from isles2018.errors import ConfigError


class Modality(enum.Enum):
    """One imaging modality of an ISLES 2018 case.

    The value is the canonical token of the current release (``CT_*``); the early release used
    ``MR_*`` names for the perfusion maps, which :func:`parse_smir_name` maps to the same member.
    """

    CT = "CT"
    PWI = "CT_4DPWI"
    CBF = "CT_CBF"
    CBV = "CT_CBV"
    MTT = "CT_MTT"
    TMAX = "CT_Tmax"
    DWI = "MR_DWI"
    OT = "OT"

    @property
    def token(self) -> str:
        """The token written in file names by this project (``SMIR.Brain.XX.O.<token>.<id>``)."""
        return self.value


# Every token seen in the wild, mapped to its modality. The early release wrote MR_* for the
# perfusion source and maps (ids 339xxx); MR_DWI is the diffusion image in both.
_TOKENS: dict[str, Modality] = {m.value.lower(): m for m in Modality}
_TOKENS.update(
    {
        "mr_4dpwi": Modality.PWI,
        "mr_cbf": Modality.CBF,
        "mr_cbv": Modality.CBV,
        "mr_mtt": Modality.MTT,
        "mr_tmax": Modality.TMAX,
    }
)

#: Modalities every case must have (training and testing).
REQUIRED: tuple[Modality, ...] = (
    Modality.CT,
    Modality.PWI,
    Modality.CBF,
    Modality.CBV,
    Modality.MTT,
    Modality.TMAX,
)

#: Network input channels in the paper's order (§2.1): MTT, Tmax, CBV, CBF, PWI_max.
INPUT_CHANNELS: tuple[Modality, ...] = (
    Modality.MTT,
    Modality.TMAX,
    Modality.CBV,
    Modality.CBF,
    Modality.PWI,
)


@dataclass(frozen=True)
class CaseFile:
    """One volume of a case, as its file name says: modality, SMIR id (digits) and path."""

    modality: Modality
    smir_id: str
    path: Path


SMIR_PATTERN = re.compile(
    r"^SMIR\.Brain\.XX\.O\.(?P<token>[A-Za-z0-9_]+)\.(?P<smir_id>\d+)(?P<ext>\.nii(?:\.gz)?)?$"
)


def modality_from_token(token: str) -> Modality | None:
    """Map a file-name token (``CT_MTT``, ``MR_MTT``, ``OT`` …) to its modality, or None."""
    return _TOKENS.get(token.lower())


def parse_smir_name(name: str) -> tuple[Modality, str] | None:
    """Parse ``SMIR.Brain.XX.O.<token>.<id>[.nii[.gz]]`` into (modality, SMIR id).

    The whole token is matched, never a substring: ``CT`` does not match ``CT_CBF``.

    Returns:
        (modality, smir_id) or None when the name is not an ISLES volume name or the token is
        unknown.
    """
    match = SMIR_PATTERN.match(name)
    if match is None:
        return None
    modality = modality_from_token(match["token"])
    if modality is None:
        return None
    return modality, match["smir_id"]


def smir_name(modality: Modality, smir_id: str | int) -> str:
    """The stem of an ISLES volume: ``SMIR.Brain.XX.O.<token>.<id>`` (no extension)."""
    return f"SMIR.Brain.XX.O.{modality.token}.{smir_id}"


#: The ``<method>`` in this project's prediction file names, unless the user names another.
DEFAULT_METHOD_NAME = "GANSeg"
#: The ``<method>`` of the threshold method's predictions.
THRESHOLD_METHOD_NAME = "Threshold"


def prediction_name(method_name: str, mtt_smir_id: str | int) -> str:
    """Challenge file name of a prediction: ``SMIR.<method>.<CT_MTT id>.nii``.

    Raises:
        ConfigError: a method name that cannot go in a file name.
    """
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", method_name):
        raise ConfigError(
            f"method name {method_name!r} must be letters, digits, '_' or '-' "
            "(it goes in a file name)"
        )
    return f"SMIR.{method_name}.{mtt_smir_id}.nii"
