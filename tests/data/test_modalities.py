from __future__ import annotations

import pytest

from isles2018.data.modalities import Modality, parse_smir_name, prediction_name, smir_name
from isles2018.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SMIR.Brain.XX.O.CT.345562.nii", (Modality.CT, "345562")),
        ("SMIR.Brain.XX.O.CT_CBF.345563.nii", (Modality.CBF, "345563")),
        ("SMIR.Brain.XX.O.CT_4DPWI.345561.nii.gz", (Modality.PWI, "345561")),
        ("SMIR.Brain.XX.O.MR_MTT.339001.nii", (Modality.MTT, "339001")),
        ("SMIR.Brain.XX.O.MR_4DPWI.339002.nii", (Modality.PWI, "339002")),
        ("SMIR.Brain.XX.O.MR_DWI.345568.nii", (Modality.DWI, "345568")),
        ("SMIR.Brain.XX.O.OT.345566", (Modality.OT, "345566")),
        ("SMIR.Brain.XX.O.ct_tmax.1.nii", (Modality.TMAX, "1")),
    ],
)
def test_parse_matches_whole_token(name: str, expected: tuple[Modality, str]) -> None:
    assert parse_smir_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "SMIR.Brain.XX.O.CT_FOO.1.nii",  # unknown token
        "SMIR.Brain.XX.O.CTX.1.nii",  # CT as a substring only
        "._SMIR.Brain.XX.O.CT.1.nii",  # macOS resource fork
        "SMIR.Brain.XX.O.CT.abc.nii",
        "notes.txt",
    ],
)
def test_parse_rejects(name: str) -> None:
    assert parse_smir_name(name) is None


def test_names_round_trip() -> None:
    for modality in Modality:
        assert parse_smir_name(smir_name(modality, 123456) + ".nii") == (modality, "123456")


def test_prediction_name() -> None:
    assert prediction_name("GANSeg", "345565") == "SMIR.GANSeg.345565.nii"
    with pytest.raises(ConfigError, match="method name"):
        prediction_name("bad.name", "1")
