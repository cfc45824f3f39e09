"""ISLES'24 subjects: the ISLES 2018 layout's patients and strokes, whole-brain grids, the CTP
streamed slice by slice, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from phantom_helpers import DATASET_SEED

from isles2018.data.io import read_volume
from isles2018.phantom.anatomy import load_templates
from isles2018.phantom.generate import Request, generate_dataset, read_manifest
from isles2018.phantom.isles24.grid import subject_grid
from isles2018.phantom.isles24.plan import GEOMETRIES, get_geometry, plan_subjects
from isles2018.phantom.isles24.synthesis import synthesize_subject
from isles2018.phantom.sampling import get_profile

CTP = "TRAINING/derivatives/sub-strokecase0001/ses-0001/sub-strokecase0001_ses-0001_space-ncct_ctp"
MASK = "TRAINING/derivatives/sub-strokecase{n}/ses-0002/sub-strokecase{n}_ses-0002_lesion-msk"


def _truth(root: Path, partition: str, name: str) -> tuple[dict, dict]:
    sidecar = root / "_truth" / partition / name
    return json.loads(sidecar.with_suffix(".json").read_text()), dict(
        np.load(sidecar.with_suffix(".npz"))
    )


@pytest.mark.parametrize(("subject", "case"), [("0001", "case_1"), ("0002", "case_3")])
def test_a_subject_is_the_isles2018_patient_with_its_stroke(
    ci_dataset: Path, isles24_dataset: Path, subject: str, case: str
) -> None:
    """Same seed and profile: subject n is patient n (ci_dataset: cases 1–2, then case 3)."""
    old, old_arrays = _truth(ci_dataset, "TRAINING", case)
    new, new_arrays = _truth(isles24_dataset, "TRAINING", f"sub-strokecase{subject}")
    assert new["patient"] == old["patient"] == f"phantom_00{subject[-1]}"
    for key in ("patient_parameters", "thresholds", "lesion_centre_mni_mm"):
        assert new[key] == old[key], key
    np.testing.assert_array_equal(new_arrays["aif_hu"], old_arrays["aif_hu"])  # noise differs
    # The ISLES 2018 slab's lesion lies where the whole-brain mask has it (MNI space).
    lesion = read_volume(isles24_dataset / (MASK.format(n=subject) + ".nii.gz")).array > 0
    ijk = np.array(np.nonzero(old_arrays["lesion"]), dtype=np.float64)
    mni = old_arrays["mni_from_voxel"][:3, :3] @ ijk + old_arrays["mni_from_voxel"][:3, 3:]
    back = np.linalg.inv(new_arrays["mni_from_voxel"])
    voxels = np.rint(back[:3, :3] @ mni + back[:3, 3:]).astype(int)
    grown = np.zeros_like(lesion)  # one coarse voxel of tolerance for the other sampling
    for axis in range(3):
        for shift in (-1, 1):
            grown |= np.roll(lesion, shift, axis=axis)
    # (the rater's outline is drawn on each grid, so it differs a little between the layouts)
    assert ijk.shape[1] > 50 and np.mean(grown[tuple(voxels)] | lesion[tuple(voxels)]) > 0.85


def test_the_ctp_streamed_to_disk_is_the_synthesised_series(isles24_dataset: Path) -> None:
    profile = get_profile("ci")
    plan = plan_subjects(DATASET_SEED, 1, 0, profile)[0]
    slices: dict[int, np.ndarray] = {}
    data = synthesize_subject(
        plan,
        profile,
        get_geometry("small"),
        oblique=False,
        mask_dtype="uint16",
        on_series_slice=lambda z, frames: slices.__setitem__(z, frames.copy()),
    )
    assert sorted(slices) == list(range(22))
    series = np.stack([slices[z] for z in range(22)], axis=2)
    written = read_volume(isles24_dataset / f"{CTP}.nii.gz", ndim=4).array
    np.testing.assert_array_equal(written, series)
    assert written.dtype == np.int16 and written.shape == (64, 70, 22, data.frames)


@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_both_grids_cover_the_whole_brain_at_any_pose(geometry: str) -> None:
    spec = get_geometry(geometry)
    templates = load_templates()
    ijk = np.array(np.nonzero(templates.brain[::3, ::3, ::3]), dtype=np.float64) * 3
    mni = templates.mni_from_voxel[:3, :3] @ ijk + templates.mni_from_voxel[:3, 3:]
    for plan in plan_subjects(0, 12, 0, get_profile("isles")):
        for oblique in (False, True):
            grid = subject_grid(plan.patient, spec, oblique=oblique)
            back = np.linalg.inv(grid.mni_from_voxel)
            voxels = back[:3, :3] @ mni + back[:3, 3:]
            upper = np.array(spec.shape)[:, None] - 0.5
            assert np.all(voxels >= -0.5) and np.all(voxels <= upper), (plan.number, oblique)


def test_the_realistic_grid_is_an_isles24_ncct_grid() -> None:
    spec = get_geometry("realistic")
    assert spec.shape[:2] == (512, 560) and 74 <= spec.shape[2] <= 101
    assert spec.spacing_mm == (0.4, 0.4, 2.0)
    request = Request(out=Path("unused"), cases=1, layout="isles24", geometry="realistic")
    options = request.isles24_options()
    assert options.oblique and options.gzip  # oblique by default, like sub-stroke0014
    patient = plan_subjects(0, 1, 0, get_profile("isles"))[0].patient
    affine = subject_grid(patient, spec, oblique=True).affine
    np.testing.assert_allclose(np.linalg.norm(affine[:3, :3], axis=0), spec.spacing_mm)
    assert abs(affine[1, 2]) > 0.1 and abs(affine[2, 1]) > 0.01


def test_same_options_give_identical_bytes_any_worker_count(
    tmp_path: Path, isles24_dataset: Path
) -> None:
    out = tmp_path / "again"
    request = Request(
        out=out, cases=2, test_cases=1, seed=DATASET_SEED, profile="ci", layout="isles24",
        workers=2,
    )  # fmt: skip
    generate_dataset(request, progress=False)
    assert (out / "manifest.json").read_bytes() == (isles24_dataset / "manifest.json").read_bytes()
    for relative in read_manifest(out)["files"]:
        assert (out / relative).read_bytes() == (isles24_dataset / relative).read_bytes()


def test_another_seed_gives_other_subjects(tmp_path: Path, isles24_dataset: Path) -> None:
    out = tmp_path / "other"
    generate_dataset(
        Request(out=out, cases=1, seed=DATASET_SEED + 1, profile="ci", layout="isles24"),
        progress=False,
    )
    first, second = read_manifest(isles24_dataset)["files"], read_manifest(out)["files"]
    volumes = [k for k in second if k.endswith(".nii.gz")]
    assert len(volumes) == 18 and all(first[k] != second[k] for k in volumes)
