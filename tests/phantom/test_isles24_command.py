"""``isles2018 phantom --layout isles24``: options, refusals, interrupted runs completed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import isles2018.phantom.generate as generate_module
from isles2018.cli import main
from isles2018.phantom.generate import read_manifest

ARGS = ("--layout", "isles24", "--cases", "2", "--test-cases", "1", "--seed", "4")
ARGS += ("--profile", "clean", "--spelling", "sample", "--no-gzip", "--mask-dtype", "float64")


def _run(*args: object):
    return CliRunner().invoke(main, ["phantom", *(str(a) for a in args)])


def test_an_unknown_layout_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(tmp_path / "out", "--layout", "isles22")
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == (
        "Error: Invalid value for '--layout': 'isles22' is not one of 'isles2018', 'isles24'."
    )
    assert not (tmp_path / "out").exists()


def test_isles24_options_are_refused_with_the_isles2018_layout(tmp_path: Path) -> None:
    for option in (("--spelling", "sample"), ("--geometry", "small"), ("--oblique",)):
        result = _run(tmp_path / "out", "--cases", "1", *option)
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [
            "Error: --spelling, --geometry, --oblique/--axis-aligned and --mask-dtype apply to "
            "--layout isles24 only"
        ]
    assert not (tmp_path / "out").exists()


def test_a_folder_of_the_other_layout_is_refused(ci_dataset: Path) -> None:
    args = ("--cases", "3", "--test-cases", "2", "--seed", "11", "--profile", "ci")
    result = _run(ci_dataset, *args, "--layout", "isles24", "--no-gzip")
    assert result.exit_code == 1, result.output
    assert "holds a phantom data set in the isles2018 layout, not isles24" in result.output


def test_interrupted_run_is_completed_identically_by_a_rerun(tmp_path: Path, monkeypatch) -> None:
    clean = tmp_path / "clean"
    assert _run(clean, *ARGS).exit_code == 0
    out = tmp_path / "out"
    real = generate_module._generate_one
    calls = []

    def crash_on_second(plan, *rest):
        calls.append(plan.number)
        if len(calls) == 2:
            # Leave what a killed process leaves: a staging folder and half-renamed folders.
            label, root = f"sub-stroke{plan.subject_number:04d}", out / plan.partition
            (root / f".{label}.partial" / "rawdata").mkdir(parents=True)
            (root / "rawdata" / label / "ses-01").mkdir(parents=True)
            (root / "rawdata" / label / "ses-01" / "x.nii").write_bytes(b"half")
            raise KeyboardInterrupt
        return real(plan, *rest)

    monkeypatch.setattr(generate_module, "_generate_one", crash_on_second)
    assert _run(out, *ARGS).exit_code != 0
    assert json.loads((out / "manifest.json").read_text())["complete"] is False

    monkeypatch.setattr(generate_module, "_generate_one", real)
    result = _run(out, *ARGS)
    assert result.exit_code == 0, result.output
    assert "2 subject(s) generated, 1 already complete" in result.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(clean).as_posix() for p in clean.rglob("*") if p.is_file())
    for relative in files:
        assert (out / relative).read_bytes() == (clean / relative).read_bytes(), relative
    manifest = read_manifest(out)
    assert manifest["complete"] is True and manifest["parameters"]["spelling"] == "sample"
    assert len([f for f in files if f.endswith(".nii")]) == 18 * 3  # no .nii.gz anywhere
    assert not [f for f in files if f.endswith(".gz")]


def test_help_lists_the_isles24_options() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    for option in (
        "--layout",
        "--spelling",
        "--geometry",
        "--oblique / --axis-aligned",
        "--mask-dtype",
        "--gzip / --no-gzip",
    ):
        assert option in result.output, option
