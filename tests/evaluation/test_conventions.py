"""Presets are frozen, validated dataclasses; users can build their own."""

from __future__ import annotations

import dataclasses

import pytest

from evaluation.conventions import PRESETS, Conventions, resolve_preset
from evaluation.errors import EvaluationError


def test_presets_pin_the_documented_conventions():
    assert PRESETS["default"] == Conventions(name="default")
    assert PRESETS["medpy"].hd95_pooling == "pooled"
    itk = PRESETS["isles-itk"]
    assert (itk.erosion_connectivity, itk.border_is_background) == (18, False)
    assert (itk.percentile_method, itk.assd_pooling) == ("lower", "mean-of-means")
    assert PRESETS["isles22"].lesion_connectivity == 26
    assert PRESETS["isles22"].lesion_count_absolute


def test_conventions_are_frozen_and_serialisable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["default"].erosion_connectivity = 26
    assert Conventions(**PRESETS["isles-itk"].to_dict()) == PRESETS["isles-itk"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("erosion_connectivity", 8),
        ("lesion_connectivity", 4),
        ("percentile_method", "nearest"),
        ("hd95_pooling", "mean"),
        ("assd_pooling", "max"),
    ],
)
def test_invalid_conventions_name_the_field_and_value(field, value):
    with pytest.raises(EvaluationError, match=rf"{field} .* {value!r}"):
        Conventions(**{field: value})


def test_resolve_preset_passes_instances_and_rejects_unknown_names():
    custom = Conventions(name="mine", erosion_connectivity=26)
    assert resolve_preset(custom) is custom
    assert resolve_preset("medpy") is PRESETS["medpy"]
    with pytest.raises(EvaluationError, match="unknown preset 'itk'"):
        resolve_preset("itk")
