"""Compiled inference: the mode check, the eager fallback, static batches, inductor vs eager."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from isles2018.cli import main
from isles2018.data.io import read_mask, read_volume
from isles2018.data.modalities import REQUIRED
from isles2018.errors import ConfigError
from isles2018.inference import Predictor
from isles2018.inference.ensemble import load_members
from isles2018.inference.forward import compile_members
from isles2018.models import compilation

CPU = torch.device("cpu")


@pytest.fixture
def testing(tmp_path: Path, make_case) -> Path:
    """Three cases of 2, 3 and 1 slices: batches of 4 span cases and one is short."""
    root = tmp_path / "TESTING"
    for number, slices in enumerate((2, 3, 1), start=1):
        make_case(root, number, shape=(16, 12, slices), modalities=REQUIRED)
    return root


def test_off_leaves_the_members_eager_and_an_unknown_mode_is_refused(run: Path) -> None:
    members = load_members([run], CPU)
    before = [m.models for m in members]
    assert compile_members(members, "off", CPU, channels_last=True) is False
    assert [m.models for m in members] == before
    with pytest.raises(ConfigError, match="compile must be one of off, default, max-autotune"):
        Predictor.from_checkpoints([run], device="cpu", compile="fast")


def test_without_a_compiler_one_line_says_so_and_the_networks_run_eagerly(
    run: Path, testing: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(compilation, "compile_unavailable", lambda device: "no C++ compiler")
    predictor = Predictor.from_checkpoints([run], device="cpu", compile="default")
    assert predictor.compiled is False
    assert capsys.readouterr().out.count("runtime.compile default: no C++ compiler") == 2
    eager = Predictor.from_checkpoints([run], device="cpu")
    one = predictor.predict_folder(testing, tmp_path / "a", progress=False)
    two = eager.predict_folder(testing, tmp_path / "b", progress=False)
    for case, path in one.written.items():
        assert np.array_equal(read_mask(path), read_mask(two.written[case]))


@pytest.mark.parametrize("span_cases", [True, False])
def test_static_batches_pad_short_batches_and_change_no_slice(
    run: Path, testing: Path, tmp_path: Path, batch_sizes, span_cases: bool
) -> None:
    """Padding to the batch size feeds the networks one shape and leaves every result as it was
    (each network works on each slice alone)."""
    seen = batch_sizes
    results = {}
    for static in (False, True):
        predictor = Predictor.from_checkpoints([run], device="cpu", batch_size=4)
        predictor.compiled = static  # what a compiled predictor asks of its batcher
        predictor.span_cases = span_cases
        out = tmp_path / f"static_{static}"
        report = predictor.predict_folder(testing, out, save_probabilities=True, progress=False)
        assert not report.failed
        results[static] = {
            case: read_volume(Path(str(path).replace(".nii", ".probability.nii.gz"))).array
            for case, path in report.written.items()
        }
    eager_sizes, static_sizes = seen[: len(seen) // 2], seen[len(seen) // 2 :]
    assert sum(eager_sizes) == 2 * 6  # two members, six slices
    assert set(eager_sizes) != {4}  # some batches are short...
    assert static_sizes == [4] * len(eager_sizes)  # ...and padded to 4 slices when static
    for case, probability in results[False].items():
        np.testing.assert_allclose(results[True][case], probability, rtol=0, atol=1e-6)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_inductor_compiled_predictor_matches_eager(run: Path, testing: Path, tmp_path) -> None:
    """``predict --compile default`` on CPU (inductor): the same masks and probabilities within
    1e-4 of eager."""
    torch._dynamo.reset()
    assert compilation.compile_unavailable(CPU) is None  # or compiled would be eager again
    runner = CliRunner()
    outs = {}
    for mode in ("off", "default"):
        outs[mode] = tmp_path / mode
        arguments = ["predict", str(testing), "--weights", str(run), "--out", str(outs[mode])]
        arguments += ["--device", "cpu", "--batch-size", "4", "--compile", mode]
        result = runner.invoke(main, [*arguments, "--save-probabilities"])
        assert result.exit_code == 0, result.output
        assert "eagerly" not in result.output
    for path in sorted(outs["off"].glob("SMIR.*.nii")):
        assert np.array_equal(read_mask(path), read_mask(outs["default"] / path.name))
    for path in sorted(outs["off"].glob("*.probability.nii.gz")):
        eager = read_volume(path).array
        compiled = read_volume(outs["default"] / path.name).array
        np.testing.assert_allclose(compiled, eager, rtol=0, atol=1e-4)


def test_compile_is_refused_for_the_threshold_method(testing: Path, tmp_path: Path) -> None:
    arguments = ["predict", str(testing), "--method", "threshold", "--compile", "default"]
    result = CliRunner().invoke(main, [*arguments, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: --compile applies to --method gan only"
    assert not (tmp_path / "out").exists()
