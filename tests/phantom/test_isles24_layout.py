"""The ISLES'24 layout: file names in both spellings, readability, one grid, raw copies, masks."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from phantom_helpers import DATASET_SEED

from isles2018.data.grid import grid_differences
from isles2018.data.io import header_shape, read_volume, stored_dtype
from isles2018.phantom import PHANTOM_VERSION
from isles2018.phantom.generate import Request, generate_dataset, read_manifest

MAPS = ("tmax", "mtt", "cbf", "cbv")


def _challenge_files(number: str) -> list[str]:
    """A labelled subject's files as the challenge README names them (ISLES24.md)."""
    s, a, f = f"sub-strokecase{number}", "ses-0001", "ses-0002"
    return [
        f"rawdata/{s}/{a}/{s}_{a}_ncct.nii.gz",
        f"rawdata/{s}/{a}/{s}_{a}_cta.nii.gz",
        f"rawdata/{s}/{a}/{s}_{a}_ctp.nii.gz",
        *(f"rawdata/{s}/{a}/perfusion-maps/{s}_{a}_{m}.nii.gz" for m in MAPS),
        f"rawdata/{s}/{f}/{s}_{f}_dwi.nii.gz",
        f"rawdata/{s}/{f}/{s}_{f}_adc.nii.gz",
        f"derivatives/{s}/{a}/{s}_{a}_space-ncct_cta.nii.gz",
        f"derivatives/{s}/{a}/{s}_{a}_space-ncct_ctp.nii.gz",
        *(f"derivatives/{s}/{a}/perfusion-maps/{s}_{a}_space-ncct_{m}.nii.gz" for m in MAPS),
        f"derivatives/{s}/{f}/{s}_{f}_space-ncct_dwi.nii.gz",
        f"derivatives/{s}/{f}/{s}_{f}_space-ncct_adc.nii.gz",
        f"derivatives/{s}/{f}/{s}_{f}_lesion-msk.nii.gz",
    ]


def _sample_files(number: str) -> list[str]:
    """The same in the sample files' spelling (``sub-stroke0014/ses-01``)."""
    return [
        name.replace("strokecase", "stroke").replace("ses-0001", "ses-01").replace("-0002", "-02")
        for name in _challenge_files(number)
    ]


def _data_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _split(files: list[str]) -> tuple[list[str], list[str]]:
    """(acute session, follow-up session) of a subject's files."""
    follow_up = [f for f in files if "ses-0002" in f or "ses-02" in f]
    return [f for f in files if f not in follow_up], follow_up


@pytest.mark.parametrize(
    ("fixture", "files", "training", "testing"),
    [
        ("isles24_dataset", _challenge_files, ("0001", "0002"), "5001"),
        ("isles24_sample_dataset", _sample_files, ("0001",), "5001"),
    ],
)
def test_file_names_are_exactly_the_isles24_ones(request, fixture, files, training, testing):
    out = request.getfixturevalue(fixture)
    assert _data_files(out / "TRAINING") == {f for n in training for f in files(n)}
    acute, follow_up = _split(files(testing))
    assert _data_files(out / "TESTING") == set(acute)  # no follow-up, no mask
    assert _data_files(out / "REFERENCE") == set(follow_up)
    assert not list(out.rglob(".*"))  # no staging folder or temporary left
    assert sorted(p.name for p in out.iterdir()) == [
        "REFERENCE", "TESTING", "TRAINING", "_truth", "cases.csv", "manifest.json",
    ]  # fmt: skip


def _subject_files(out: Path, number: str, spelling: str) -> dict[str, Path]:
    """Every volume of a training subject by '<tree>:<suffix>' (e.g. 'derivatives:cbf')."""
    names = _challenge_files(number) if spelling == "challenge" else _sample_files(number)
    paths = {}
    for name in names:
        tree, suffix = name.split("/")[0], name.split("_")[-1].removesuffix(".nii.gz")
        paths[f"{tree}:{suffix}"] = out / "TRAINING" / name
    return paths


@pytest.mark.parametrize(
    ("fixture", "spelling", "mask_dtype", "series_ndim"),
    [
        ("isles24_dataset", "challenge", np.uint16, 4),
        ("isles24_sample_dataset", "sample", np.float64, 5),
    ],
)
def test_every_volume_is_readable_on_the_ncct_grid(
    request, fixture, spelling, mask_dtype, series_ndim
):
    out = request.getfixturevalue(fixture)
    manifest = read_manifest(out)
    rows = {r["case"]: r for r in csv.DictReader(open(out / "cases.csv"))}
    files = _subject_files(out, "0001", spelling)
    ncct = files["rawdata:ncct"]
    for key, path in files.items():
        suffix = key.split(":")[1]
        series = suffix == "ctp"
        volume = read_volume(path, ndim=4 if series else 3)
        assert volume.array.shape[:3] == (64, 70, 22)
        assert volume.spacing_mm == pytest.approx((3.2, 3.2, 9.0))
        assert stored_dtype(path) == np.dtype(manifest["dtypes"][suffix])
        assert grid_differences(path, ncct) == [], key
        if series:
            subject = path.name.split("_")[0]
            assert volume.array.shape[3] == int(rows[subject]["ctp_timepoints"])
            assert volume.time_step_s == 1.0 and len(header_shape(path)) == series_ndim
    mask = read_volume(files["derivatives:lesion-msk"]).array
    assert mask.dtype == mask_dtype and set(np.unique(mask)) == {0, 1}
    assert manifest["dtypes"]["lesion-msk"] == np.dtype(mask_dtype).name


def test_raw_copies_are_byte_identical_to_the_derivatives(isles24_dataset: Path) -> None:
    files = _subject_files(isles24_dataset, "0002", "challenge")
    for key, path in files.items():
        tree, suffix = key.split(":")
        if tree == "rawdata" and suffix != "ncct":
            derivative = files[f"derivatives:{suffix}"]
            assert path.read_bytes() == derivative.read_bytes(), suffix
    assert "derivatives:ncct" not in files  # the NCCT is the reference, in rawdata only


def test_axis_aligned_and_oblique_affines(isles24_dataset, isles24_sample_dataset) -> None:
    flat = read_volume(_subject_files(isles24_dataset, "0001", "challenge")["rawdata:ncct"])
    tilted = read_volume(_subject_files(isles24_sample_dataset, "0001", "sample")["rawdata:ncct"])
    axes = flat.affine[:3, :3]
    np.testing.assert_allclose(axes, np.diag([-3.2, -3.2, 9.0]), atol=1e-6)
    oblique = tilted.affine[:3, :3]
    assert abs(oblique[1, 2]) > 1.0 and abs(oblique[2, 1]) > 0.5  # off-diagonal in y and z
    np.testing.assert_allclose(oblique[:, 0], [-3.2, 0, 0], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(oblique, axis=0), [3.2, 3.2, 9.0], atol=1e-5)
    # The tilt moves the grid, not the patient: the voxel data are the same.
    np.testing.assert_array_equal(flat.array, tilted.array)


def test_spelling_tilt_and_mask_dtype_leave_the_physics_alone(
    isles24_dataset: Path, isles24_sample_dataset: Path
) -> None:
    first = _subject_files(isles24_dataset, "0001", "challenge")
    second = _subject_files(isles24_sample_dataset, "0001", "sample")
    for key in ("derivatives:ctp", "derivatives:cbf", "derivatives:adc", "derivatives:lesion-msk"):
        ndim = 4 if key.endswith("ctp") else 3
        a, b = (read_volume(files[key], ndim=ndim).array for files in (first, second))
        np.testing.assert_array_equal(a, b.astype(a.dtype))


def test_lesion_and_diffusion_physics(isles24_dataset: Path) -> None:
    for number in ("0001", "0002"):
        files = _subject_files(isles24_dataset, number, "challenge")
        lesion = read_volume(files["derivatives:lesion-msk"]).array > 0
        truth = np.load(isles24_dataset / "_truth" / "TRAINING" / f"sub-strokecase{number}.npz")
        normal = truth["zone"] == 1
        adc = read_volume(files["derivatives:adc"]).array
        dwi = read_volume(files["derivatives:dwi"]).array
        tmax = read_volume(files["derivatives:tmax"]).array
        assert lesion.sum() > 20
        assert 400 < np.median(adc[lesion]) < 680  # 10⁻⁶ mm²/s, restricted diffusion
        assert 650 < np.median(adc[normal & (truth["brain"] > 0)]) < 1000
        assert np.median(dwi[lesion]) > 1.25 * np.median(dwi[normal])
        assert np.mean(tmax[lesion] > 6.0) > 0.8  # the perfusion maps see the lesion
        assert np.all(truth["zone"][lesion] >= 3)  # inside Tmax > 6 s tissue


def test_the_grid_covers_the_whole_brain(isles24_dataset: Path) -> None:
    for number in ("0001", "0002"):
        truth = np.load(isles24_dataset / "_truth" / "TRAINING" / f"sub-strokecase{number}.npz")
        brain = truth["brain"] > 0
        assert brain.sum() * 3.2 * 3.2 * 9.0 / 1000 > 1000  # mL
        faces = (brain[0], brain[-1], brain[:, 0], brain[:, -1], brain[:, :, 0], brain[:, :, -1])
        assert not any(face.any() for face in faces)


def test_manifest_cases_csv_and_truth(isles24_dataset: Path) -> None:
    manifest = read_manifest(isles24_dataset)
    assert manifest["complete"] is True
    assert manifest["parameters"] == {
        "generator_version": PHANTOM_VERSION,
        "seed": 11,
        "profile": "ci",
        "cases": 2,
        "test_cases": 1,
        "gzip": True,
        "five_d": False,
        "layout": "isles24",
        "spelling": "challenge",
        "geometry": "small",
        "oblique": False,
        "mask_dtype": "uint16",
    }
    files = _data_files(isles24_dataset) - {"manifest.json"}
    assert set(manifest["files"]) == files
    for relative, digest in manifest["files"].items():
        assert hashlib.sha256((isles24_dataset / relative).read_bytes()).hexdigest() == digest
    rows = list(csv.DictReader(open(isles24_dataset / "cases.csv")))
    assert [(r["partition"], r["case"], r["patient"], r["slices"]) for r in rows] == [
        ("TRAINING", "sub-strokecase0001", "phantom_001", "22"),
        ("TRAINING", "sub-strokecase0002", "phantom_002", "22"),
        ("TESTING", "sub-strokecase5001", "phantom_test_001", "22"),
        ("REFERENCE", "sub-strokecase5001", "phantom_test_001", "22"),
    ]


def test_the_isles2018_layout_is_written_as_before(ci_dataset: Path) -> None:
    """The default layout records the same parameters (its manifest bytes do not move) and
    writes no ISLES'24 tree."""
    manifest = read_manifest(ci_dataset)
    assert manifest["parameters"] == {
        "generator_version": PHANTOM_VERSION,
        "seed": 11,
        "profile": "ci",
        "cases": 3,
        "test_cases": 2,
        "gzip": False,
        "five_d": False,
    }
    assert set(manifest["dtypes"]) == {
        "CT", "CT_4DPWI", "CT_CBF", "CT_CBV", "CT_MTT", "CT_Tmax", "MR_DWI", "OT",
    }  # fmt: skip
    assert not list(ci_dataset.rglob("rawdata")) and not list(ci_dataset.rglob("*.gz"))


@pytest.mark.parametrize("gzip", [True, False])
def test_inspect_passes_on_every_variant_of_the_layout(
    isles24_dataset: Path, isles24_sample_dataset: Path, tmp_path: Path, gzip: bool
) -> None:
    from click.testing import CliRunner

    from isles2018.cli import main

    plain = tmp_path / "plain"
    generate_dataset(
        Request(out=plain, cases=1, seed=DATASET_SEED, profile="ci", layout="isles24", gzip=gzip),
        progress=False,
    )
    for root in (isles24_dataset, isles24_sample_dataset, plain):
        for partition in ("TRAINING", "TESTING"):
            if not (root / partition).is_dir():
                continue
            result = CliRunner().invoke(main, ["inspect", str(root / partition)])
            assert result.exit_code == 0, (root, partition, result.output)
            assert result.output.strip().splitlines()[-1].endswith("0 case(s) with problems")
