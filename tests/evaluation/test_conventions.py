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
    assert PRESETS["isles22"].lesion_matching == "overlap"
    isles24 = PRESETS["isles24"]
    assert (isles24.lesion_matching, isles24.lesion_iou_threshold) == ("iou", 0.2)
    assert (isles24.lesion_connectivity, isles24.lesion_count_absolute) == (26, True)
    deepmind = PRESETS["deepmind"]
    assert (deepmind.surface_model, deepmind.percentile_method) == ("surfels", "inverted-cdf")
    assert (deepmind.hd95_pooling, deepmind.assd_pooling) == ("max-directed", "mean-of-means")
    voxel_presets = [p for p in PRESETS.values() if p.name != "deepmind"]
    assert all(p.surface_model == "voxels" for p in voxel_presets)


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
        ("surface_model", "mesh"),
        ("lesion_matching", "dice"),
        ("lesion_iou_threshold", 1.5),
        ("lesion_iou_threshold", -0.1),
        ("lesion_iou_threshold", float("nan")),
        ("lesion_iou_threshold", "0.2"),
    ],
)
def test_invalid_conventions_name_the_field_and_value(field, value):
    with pytest.raises(EvaluationError, match=rf"{field} .* {value!r}"):
        Conventions(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"), [("border_is_background", False), ("percentile_method", "linear")]
)
def test_surfels_need_a_background_border_and_the_weighted_percentile(field, value):
    with pytest.raises(EvaluationError, match=rf"{field} .*surfels"):
        settings = {"surface_model": "surfels", "percentile_method": "inverted-cdf"}
        Conventions(**{**settings, field: value})


def test_resolve_preset_passes_instances_and_rejects_unknown_names():
    custom = Conventions(name="mine", erosion_connectivity=26)
    assert resolve_preset(custom) is custom
    assert resolve_preset("medpy") is PRESETS["medpy"]
    with pytest.raises(EvaluationError, match="unknown preset 'itk'"):
        resolve_preset("itk")
