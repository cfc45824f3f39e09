from __future__ import annotations

from pathlib import Path

import pytest

from isles2018.data.layout import discover_cases
from isles2018.data.modalities import REQUIRED, Modality
from isles2018.errors import DataError


def test_numeric_order_and_modalities(isles_training: Path) -> None:
    cases = discover_cases(isles_training)
    assert [c.case_id for c in cases] == ["case_1", "case_2", "case_3", "case_10"]
    assert all(c.split == "training" and not c.problems for c in cases)
    assert set(cases[0].files) == set(Modality)
    assert cases[0].path(Modality.MTT).name.startswith("SMIR.Brain.XX.O.CT_MTT.")
    assert cases[0].smir_id(Modality.MTT).isdigit()


def test_mr_prefix_gzip_and_five_d(tmp_path: Path, make_case) -> None:
    make_case(tmp_path / "TRAINING", 1, prefix="MR", gzip=True, five_d=True)
    (case,) = discover_cases(tmp_path / "TRAINING")
    assert not case.problems
    assert case.path(Modality.PWI).name.endswith(".nii.gz")
    assert ".MR_4DPWI." in case.path(Modality.PWI).name


def test_macosx_and_resource_forks_ignored(isles_training: Path) -> None:
    junk = isles_training.parent / "__MACOSX" / "TRAINING" / "case_1"
    junk.mkdir(parents=True)
    (junk / "._SMIR.Brain.XX.O.CT.1.nii").write_bytes(b"\0\0")
    fork = isles_training / "case_1" / "._SMIR.Brain.XX.O.CT_MTT.99.nii"
    fork.write_bytes(b"\0")
    cases = discover_cases(isles_training.parent)
    assert [c.case_id for c in cases] == ["case_1", "case_2", "case_3", "case_10"]
    assert not cases[0].problems


def test_parent_of_partitions(tmp_path: Path, make_case) -> None:
    make_case(tmp_path / "data" / "TRAINING", 2)
    make_case(tmp_path / "data" / "TESTING", 1, modalities=REQUIRED)
    cases = discover_cases(tmp_path)
    assert [(c.split, c.case_id) for c in cases] == [("training", "case_2"), ("testing", "case_1")]
    assert not any(c.problems for c in cases)


def test_testing_case_without_ot_is_fine(tmp_path: Path, make_case) -> None:
    make_case(tmp_path / "TESTING", 1, modalities=REQUIRED)
    (case,) = discover_cases(tmp_path / "TESTING")
    assert case.split == "testing" and not case.problems


def test_missing_and_duplicate_modalities_are_problems(tmp_path: Path, make_case) -> None:
    root = tmp_path / "TRAINING"
    make_case(root, 1, modalities=tuple(m for m in Modality if m is not Modality.CBF))
    folder = make_case(root, 2)
    extra = make_case(tmp_path / "other", 2)
    cbv = next(extra.glob("SMIR.Brain.XX.O.CT_CBV.*"))
    cbv.rename(folder / cbv.name)
    first, second = discover_cases(root)
    assert first.problems == ("missing CT_CBF",)
    assert "2 files for CT_CBV" in second.problems[0]


def test_no_cases(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no case_<n> folders"):
        discover_cases(tmp_path / "empty")
    with pytest.raises(DataError, match="no such folder"):
        discover_cases(tmp_path / "missing")


def test_single_case_folder(isles_training: Path) -> None:
    (case,) = discover_cases(isles_training / "case_3")
    assert case.case_id == "case_3" and case.split == "training" and not case.problems


def test_partitions_preferred_over_other_case_trees(tmp_path: Path, make_case) -> None:
    make_case(tmp_path / "TRAINING", 1)
    make_case(tmp_path / "REFERENCE", 1, modalities=(Modality.OT, Modality.MTT))
    cases = discover_cases(tmp_path)
    assert [(c.split, c.folder.parent.name) for c in cases] == [("training", "TRAINING")]


def test_a_dangling_or_looping_case_link_is_reported_not_dropped(testing: Path) -> None:
    (testing / "case_4").symlink_to(testing.parent / "gone")
    loop = testing / "case_5"
    loop.symlink_to(loop)
    cases = {c.case_id: c for c in discover_cases(testing)}
    assert sorted(cases) == ["case_1", "case_2", "case_3", "case_4", "case_5"]
    assert cases["case_4"].problems == (
        f"{testing / 'case_4'}: broken symbolic link to {testing.parent / 'gone'} "
        "(target not found)",
    )
    assert cases["case_5"].problems == (f"{loop}: symbolic link loop",)
    assert not cases["case_4"].has(Modality.MTT) and cases["case_1"].problems == ()


def test_commands_fail_on_a_dangling_case_link(testing: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from isles2018.cli import main

    runner = CliRunner()
    out = tmp_path / "out"
    assert (
        runner.invoke(
            main, ["predict", str(testing), "--method", "threshold", "--out", str(out)]
        ).exit_code
        == 0
    )
    (testing / "case_3").rename(tmp_path / "moved")
    (testing / "case_3").symlink_to(tmp_path / "nowhere")
    for args in (
        ["inspect", str(testing)],
        ["predict", str(testing), "--method", "threshold", "--out", str(tmp_path / "o2")],
        ["validate-submission", str(out), "--data", str(testing)],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert "case_3: broken symbolic link" in result.output, (args, result.output)


def test_a_missing_data_path_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere: no such folder$"):
        discover_cases(tmp_path / "nowhere")
    (tmp_path / "file.nii").write_text("x")
    with pytest.raises(DataError, match=r"file\.nii: is a file, not a folder of ISLES cases$"):
        discover_cases(tmp_path / "file.nii")
