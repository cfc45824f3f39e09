"""ISLES'24 (BIDS) references: lesion masks, NCCT backgrounds, both spellings, scoring, CLI."""

from __future__ import annotations

import csv
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from click.testing import CliRunner

from evaluation import bids
from evaluation.cli import main
from evaluation.errors import EvaluationError
from evaluation.io import read_image
from evaluation.masks import binarise_mask
from evaluation.pairing import find_reference_cases, pair_cases, resolve_reference
from evaluation.score import mask_digest, score_directory

SHAPE = (12, 10, 4)
_C, _S = np.cos(0.2), np.sin(0.2)
#: Oblique (rotated about x: off-diagonal terms in y/z), x flipped, 0.4 × 0.4 × 2 mm, offset.
OBLIQUE = np.array(
    [
        [-0.4, 0.0, 0.0, 90.0],
        [0.0, 0.4 * _C, -2.0 * _S, -100.0],
        [0.0, 0.4 * _S, 2.0 * _C, -40.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
#: Subject and session spellings: the challenge README's and the published sample files'.
SPELLINGS = {
    "challenge": ("sub-strokecase{:04d}", "ses-{:04d}"),
    "sample": ("sub-stroke{:04d}", "ses-{:02d}"),
}
MASKED, NO_MASK = (1, 14, 142), 15


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, OBLIQUE), str(path))
    return path


def _box(*ranges: tuple[int, int], dtype=np.uint16) -> np.ndarray:
    mask = np.zeros(SHAPE, dtype)
    mask[tuple(slice(a, b) for a, b in ranges)] = 1
    return mask


@dataclass
class Tree:
    """A written ISLES'24 tree and what pairing must find in it."""

    root: Path
    subject: dict[int, str]
    masks: dict[str, Path] = field(default_factory=dict)
    lesions: dict[str, np.ndarray] = field(default_factory=dict)
    ncct: dict[str, Path | None] = field(default_factory=dict)


def write_tree(root: Path, spelling: str) -> Tree:
    """Subjects 1, 14, 142 (with masks and decoys) and 15 (no lesion mask) in one spelling."""
    subject_format, session_format = SPELLINGS[spelling]
    tree = Tree(root, {n: subject_format.format(n) for n in (1, 14, NO_MASK, 142)})

    def path(area: str, number: int, session: int, entities: str, folder: str = "") -> Path:
        sub, ses = tree.subject[number], session_format.format(session)
        return root / area / sub / ses / folder / f"{sub}_{ses}{entities}"

    ct = np.random.default_rng(0).integers(-20, 80, SHAPE).astype(np.int16)
    # 1: challenge README naming, no space entity, uint16; space-ncct lvo/cow masks beside it.
    tree.lesions[tree.subject[1]] = _box((2, 6), (2, 5), (1, 3))
    tree.masks[tree.subject[1]] = _write(
        path("derivatives", 1, 2, "_lesion-msk.nii.gz"), _box((2, 6), (2, 5), (1, 3))
    )
    _write(path("derivatives", 1, 2, "_space-ncct_lvo-msk.nii.gz"), _box((0, 12), (0, 10), (0, 4)))
    cow = _box((5, 9), (5, 9), (0, 4))
    cow[6:8] = 3
    _write(path("derivatives", 1, 2, "_space-ncct_cow-msk.nii.gz"), cow)
    _write(path("derivatives", 1, 1, "_space-ncct_lvo-msk.nii.gz"), _box((1, 3), (1, 3), (1, 2)))
    _write(path("derivatives", 1, 1, "_space-ncct_mtt.nii.gz", "perfusion-maps"), ct)
    _write(path("rawdata", 1, 2, "_dwi.nii.gz"), ct)
    tree.ncct[tree.subject[1]] = _write(path("rawdata", 1, 1, "_ncct.nii.gz"), ct)
    # 14: later naming, float64 {0., 1.}, two components; an uncompressed copy and a mask
    # without the space entity (both different) must lose. NCCT: the derivatives copy wins.
    lesion = _box((1, 4), (1, 4), (0, 2), dtype=np.float64)
    lesion[7:11, 6:9, 2:4] = 1.0
    tree.lesions[tree.subject[14]] = lesion
    tree.masks[tree.subject[14]] = _write(
        path("derivatives", 14, 2, "_space-ncct_lesion-msk.nii.gz"), lesion
    )
    _write(path("derivatives", 14, 2, "_space-ncct_lesion-msk.nii"), np.roll(lesion, 1, axis=0))
    _write(path("derivatives", 14, 2, "_lesion-msk.nii.gz"), _box((0, 12), (0, 10), (0, 1)))
    _write(path("rawdata", 14, 1, "_ncct.nii.gz"), ct)
    tree.ncct[tree.subject[14]] = _write(path("derivatives", 14, 1, "_space-ncct_ncct.nii.gz"), ct)
    # 142: the release with a stray uncompressed duplicate (different here); no NCCT at all.
    tree.lesions[tree.subject[142]] = _box((4, 9), (3, 8), (0, 4))
    tree.masks[tree.subject[142]] = _write(
        path("derivatives", 142, 2, "_space-ncct_lesion-msk.nii.gz"), _box((4, 9), (3, 8), (0, 4))
    )
    _write(path("derivatives", 142, 2, "_lesion-msk.nii"), _box((4, 9), (3, 8), (0, 1)))
    tree.ncct[tree.subject[142]] = None
    # 15: vessel masks only (never a lesion); an uncompressed NCCT copy in derivatives wins
    # over the rawdata .nii.gz (the subject's own folder first).
    _write(
        path("derivatives", NO_MASK, 2, "_space-ncct_lvo-msk.nii.gz"), _box((1, 3), (1, 3), (1, 2))
    )
    _write(path("derivatives", NO_MASK, 2, "_cow-msk.nii.gz"), _box((1, 3), (1, 3), (1, 2)))
    _write(path("rawdata", NO_MASK, 1, "_ncct.nii.gz"), ct)
    tree.ncct[tree.subject[NO_MASK]] = _write(path("derivatives", NO_MASK, 1, "_ncct.nii"), ct)
    # Things that are not subjects or masks.
    (root / "phenotype" / session_format.format(1)).mkdir(parents=True)
    (root / "phenotype" / session_format.format(1) / "demographic_baseline.csv").write_text("a\n")
    (root / "dataset_description.json").write_text("{}")
    (root / "derivatives" / f"._{tree.subject[1]}").write_bytes(b"\0junk")
    return tree


def write_predictions(folder: Path, tree: Tree) -> Path:
    """Plain-named predictions equal to each chosen mask (and one for subject 15), two strays."""
    for case_id, lesion in tree.lesions.items():
        _write(folder / f"{case_id}.nii.gz", lesion.astype(np.uint8))
    _write(folder / f"{tree.subject[NO_MASK]}.nii.gz", _box((1, 3), (1, 3), (1, 2), dtype=np.uint8))
    _write(folder / "sub-unknown9.nii.gz", _box((1, 3), (1, 3), (1, 2), dtype=np.uint8))
    sub, lesion = tree.subject[1], tree.lesions[tree.subject[1]]
    _write(folder / f"{sub}_ses-02_lesion-msk.nii.gz", lesion.astype(np.uint8))  # BIDS-named
    return folder


@pytest.fixture(params=sorted(SPELLINGS))
def tree(request, tmp_path) -> Tree:
    """An ISLES'24 tree in each spelling."""
    return write_tree(tmp_path / "isles24", request.param)


def test_the_root_its_derivatives_or_a_folder_of_subjects_is_the_reference(tmp_path, tree):
    derivatives = tree.root / "derivatives"
    assert resolve_reference(tree.root) == derivatives
    assert resolve_reference(derivatives) == derivatives
    flat = shutil.copytree(derivatives, tmp_path / "subjects")
    assert resolve_reference(flat) == flat
    cases, layout = find_reference_cases(flat)
    assert layout == "isles24" and [c.case_id for c in cases] == list(tree.subject.values())
    by_case = {c.case_id: c for c in cases}  # no rawdata beside it: derivative NCCTs only
    assert by_case[tree.subject[14]].background_path == flat / tree.ncct[
        tree.subject[14]
    ].relative_to(derivatives)
    assert by_case[tree.subject[1]].background_path is None


def test_pairing_takes_the_lesion_mask_ncct_and_plain_predictions(tmp_path, tree):
    predictions = write_predictions(tmp_path / "predictions", tree)
    pairing = pair_cases(predictions, tree.root)
    assert pairing.layout == "isles24"
    assert pairing.reference_dir == tree.root / "derivatives"
    assert [p.case_id for p in pairing.pairs] == list(tree.subject.values())  # natural order
    by_case = {p.case_id: p for p in pairing.pairs}
    for case_id, mask in tree.masks.items():
        pair = by_case[case_id]
        assert (pair.reference_path, pair.problem, pair.smir_id) == (mask, None, None)
        assert pair.prediction_path == predictions / f"{case_id}.nii.gz"
    for case_id, ncct in tree.ncct.items():
        assert by_case[case_id].background_path == ncct
    unmasked = by_case[tree.subject[NO_MASK]]
    assert unmasked.reference_path is None
    assert unmasked.problem == (
        f"{tree.root / 'derivatives' / unmasked.case_id}: no lesion mask "
        "(ses-02|ses-0002/<sub>_<ses>[_space-ncct]_lesion-msk.nii[.gz])"
    )
    assert sorted(p.name for p in pairing.unmatched_predictions) == [
        f"{tree.subject[1]}_ses-02_lesion-msk.nii.gz",
        "sub-unknown9.nii.gz",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "sub-stroke0014_ses-02_lvo-msk.nii.gz",
        "sub-stroke0014_ses-02_space-ncct_cow-msk.nii.gz",
        "sub-stroke0014_ses-02_space-ncct_lesion-msk-lvo.nii.gz",
        "sub-stroke0014_ses-02_space-ncct_xlesion-msk.nii.gz",
        "sub-stroke0014_ses-02_desc-lvo_lesion-msk.nii.gz",
        "sub-stroke0014_ses-02_lesion-msk.nii.gz.bak",
        "sub-stroke0014_ses-02_space-mni_lesion-msk.nii.gz",
        "sub-stroke0015_ses-02_lesion-msk.nii.gz",  # another subject's name
        "sub-stroke0014_ses-0002_lesion-msk.nii.gz",  # another session's spelling
        "sub-stroke0014_ses-01_lesion-msk.nii.gz",  # in the folder ses-01: the acute session
    ],
)
def test_only_the_whole_lesion_suffix_of_the_subject_and_follow_up_is_taken(tmp_path, name):
    folder = tmp_path / "derivatives" / "sub-stroke0014"
    session = "ses-01" if "ses-01_" in name else "ses-02"
    _write(folder / session / "any.nii.gz", _box((1, 3), (1, 3), (1, 2))).rename(
        folder / session / name
    )
    assert bids.read_subject(folder).reference_path is None
    _write(folder / "ses-02" / "sub-stroke0014_ses-02_lesion-msk.nii", _box((1, 3), (1, 3), (1, 2)))
    assert bids.read_subject(folder).reference_path.name == "sub-stroke0014_ses-02_lesion-msk.nii"


def test_masks_of_equal_rank_are_a_failed_row_not_a_crash(tmp_path, tree):
    sub = tree.subject[14]
    mask = tree.masks[sub]
    session = mask.parent.name
    other = "ses-02" if session == "ses-0002" else "ses-0002"  # the other spelling
    twin = mask.parent.parent / other / mask.name.replace(session, other)
    _write(twin, tree.lesions[sub])
    predictions = write_predictions(tmp_path / "predictions", tree)
    pair = next(p for p in pair_cases(predictions, tree.root).pairs if p.case_id == sub)
    names = sorted(str(p.relative_to(mask.parent.parent)) for p in (mask, twin))
    assert pair.reference_path is None
    assert (
        pair.problem == f"{mask.parent.parent}: 2 lesion masks of equal rank ({', '.join(names)})"
    )
    run = score_directory(predictions, tree.root, preset="isles24", workers=1, progress=False)
    row = next(r for r in run.rows if r["case_id"] == sub)
    assert (row["status"], row["error"], row["dice"]) == ("error", pair.problem, 0.0)
    assert [r["status"] for r in run.rows].count("ok") == 2


def test_uint16_and_float64_masks_are_read_as_binary_masks(tree):
    for case_id, lesion in tree.lesions.items():
        image = read_image(tree.masks[case_id])
        assert image.array.dtype == lesion.dtype
        np.testing.assert_array_equal(binarise_mask(image.array, name=case_id), lesion != 0)
        np.testing.assert_allclose(image.affine, OBLIQUE, atol=1e-6)
    assert {lesion.dtype.name for lesion in tree.lesions.values()} == {"uint16", "float64"}


def test_score_directory_rows_of_an_isles24_tree(tmp_path, tree):
    predictions = write_predictions(tmp_path / "predictions", tree)
    run = score_directory(predictions, tree.root, preset="isles24", workers=2, progress=False)
    rows = {r["case_id"]: r for r in run.rows}
    assert list(rows) == list(tree.subject.values())
    voxel_ml = 0.4 * 0.4 * 2.0 / 1000
    for case_id, lesion in tree.lesions.items():
        row = rows[case_id]
        assert (row["status"], row["dice"], row["lesion_f1"]) == ("ok", 1.0, 1.0), case_id
        assert row["volume_reference_ml"] == pytest.approx(lesion.sum() * voxel_ml, rel=1e-6)
        spacing = read_image(tree.masks[case_id]).spacing_mm
        assert row["reference_sha256"] == mask_digest(lesion != 0, spacing)
        assert (row["patient_id"], row["fold"]) == (case_id, None)
        assert row["background_path"] == tree.ncct[case_id]
    assert rows[tree.subject[14]]["lesion_count_reference"] == 2
    failed = rows[tree.subject[NO_MASK]]
    assert (failed["status"], failed["dice"], failed.get("volume_reference_ml")) == (
        "error",
        0,
        None,
    )
    assert failed["error"].endswith(
        "no lesion mask (ses-02|ses-0002/<sub>_<ses>[_space-ncct]_lesion-msk.nii[.gz])"
    )
    assert math.isinf(failed["hd95_mm"])
    summary = run.summary
    assert summary["layout"] == "isles24"
    assert summary["reference_partition"] == str((tree.root / "derivatives").resolve())
    assert [f["case_id"] for f in summary["failed"]] == [tree.subject[NO_MASK]]
    assert summary["overall"]["n_unpooled"] == 1
    assert summary["overall"]["metrics"]["dice"]["mean"] == pytest.approx(0.75)
    assert summary["patients"]["n"] == 4
    assert len(summary["unmatched_predictions"]) == 2


def _cli(tree: Tree, predictions: Path, out: Path, *extra: str):
    arguments = ["score", "--reference", str(tree.root), "--prediction", str(predictions)]
    arguments += ["--preset", "isles24", "--out", str(out), "--workers", "1", *extra]
    return CliRunner().invoke(main, arguments)


def test_cli_scores_an_isles24_root_and_fails_on_the_subject_without_mask(tmp_path, tree):
    predictions = write_predictions(tmp_path / "predictions", tree)
    result = _cli(tree, predictions, tmp_path / "run", "--report")
    assert result.exit_code == 1, result.output
    missing = tree.subject[NO_MASK]
    assert f"- {missing} (error): " in result.output and "no lesion mask" in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: 1 of 4 cases failed ({missing}); see {tmp_path / 'run'}"
    )
    with (tmp_path / "run" / "per_case.csv").open(newline="") as handle:
        rows = {r["case_id"]: r for r in csv.DictReader(handle)}
    assert [rows[s]["status"] for s in tree.subject.values()] == ["ok", "ok", "error", "ok"]
    assert rows[tree.subject[14]]["background_path"] == str(tree.ncct[tree.subject[14]])
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["layout"] == "isles24"
    page = (tmp_path / "run" / "report.html").read_text()
    assert page.count('<img alt="sub-stroke') == 3 and "background shape" not in page


def test_cli_passes_without_the_unmasked_subject_and_reads_patients(tmp_path, tree):
    missing = tree.subject[NO_MASK]
    for area in ("derivatives", "rawdata"):
        shutil.rmtree(tree.root / area / missing)
    predictions = write_predictions(tmp_path / "predictions", tree)
    (predictions / f"{missing}.nii.gz").unlink()
    patients = tmp_path / "patients.csv"
    patients.write_text(f"case,patient\n{tree.subject[1]},p1\n{tree.subject[14]},p1\n")
    result = _cli(tree, predictions, tmp_path / "run", "--patients", str(patients))
    assert result.exit_code == 0, result.output
    assert "| overall | 3 | 0 | 1.000 ± 0.000 |" in result.output
    assert "| patients | 2 |" in result.output


def test_a_tree_without_any_lesion_mask_is_one_clear_line(tmp_path, tree):
    raw_only = tmp_path / "raw-only"
    shutil.copytree(tree.root / "rawdata", raw_only / "rawdata")
    with pytest.raises(EvaluationError) as raised:
        resolve_reference(raw_only)
    assert str(raised.value) == (
        f"{raw_only / 'rawdata'}: no lesion mask in any of its 3 sub-* folders (expected "
        "ses-02|ses-0002/<sub>_<ses>[_space-ncct]_lesion-msk.nii[.gz]; point --reference at the "
        "ISLES'24 root or its derivatives/)"
    )


def test_isles_2018_and_plain_references_are_no_isles24_trees(tmp_path, training, nifti):
    root, _ = training
    assert bids.subjects_folder(root) is None and bids.subjects_folder(tmp_path) is None
    assert find_reference_cases(root)[1] == "isles"
    mask = np.zeros((6, 6, 2), np.uint8)
    nifti(tmp_path / "plain" / "sub-stroke0014.nii.gz", mask)  # plain files named like subjects
    nifti(tmp_path / "predictions" / "sub-stroke0014.nii.gz", mask)
    pairing = pair_cases(tmp_path / "predictions", tmp_path / "plain")
    assert pairing.layout == "plain" and pairing.pairs[0].prediction_path is not None


def test_splits_give_folds_and_patients_of_subjects(tmp_path, tree):
    predictions = write_predictions(tmp_path / "predictions", tree)
    first, second, missing, last = tree.subject.values()
    splits = tmp_path / "splits.json"
    folds = [{"fold": 0, "train": [last], "val": [first, second, missing]}]
    folds.append({"fold": 1, "train": [first, second, missing], "val": [last]})
    patients = {first: "p1", second: "p1", missing: "p2", last: "p3"}
    splits.write_text(json.dumps({"version": 1, "folds": folds, "patients": patients}))
    run = score_directory(predictions, tree.root, splits=splits, workers=1, progress=False)
    assert [(r["patient_id"], r["fold"]) for r in run.rows] == [
        ("p1", 0),
        ("p1", 0),
        ("p2", 0),
        ("p3", 1),
    ]
    assert run.summary["patients"]["n"] == 3
    assert run.summary["patient_source"] == f"splits: {splits}"
