"""Batches that span cases: a folder predicts exactly as its cases one by one, in fuller batches."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from isles2018.config import with_overrides
from isles2018.data.io import read_mask, read_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import REQUIRED
from isles2018.data.normalise import compute_stats
from isles2018.data.stack import load_case_arrays
from isles2018.errors import DataError
from isles2018.inference import Predictor
from isles2018.inference.batching import SliceBatcher
from isles2018.inference.ensemble import load_members
from isles2018.inference.forward import normalise
from isles2018.inference.streaming import predict_stream, read_ahead

CPU = torch.device("cpu")
#: Slices per case: a batch of 3 spans cases, a case of 5 spans batches.
SLICES = (2, 5, 1, 3)


@pytest.fixture
def uneven(tmp_path: Path, make_case) -> Path:
    """A TESTING folder whose cases hold 2, 5, 1 and 3 slices."""
    root = tmp_path / "UNEVEN"
    for number, slices in enumerate(SLICES, start=1):
        make_case(root, number, shape=(16, 12, slices), modalities=REQUIRED)
    return root


@pytest.mark.parametrize(
    ("batch_size", "tta", "batches"),
    [(1, False, [1] * 11), (3, True, [3, 3, 3, 2]), (64, False, [11])],
)
def test_a_folder_predicts_exactly_as_its_cases_one_by_one(
    run: Path, uneven: Path, tmp_path: Path, batch_sizes, batch_size, tta, batches
) -> None:
    predictor = Predictor.from_checkpoints(
        [run], device="cpu", batch_size=batch_size, tta=tta, span_cases=True
    )
    seen = batch_sizes
    report = predictor.predict_folder(uneven, tmp_path / "out", save_probabilities=True,
                                      save_dwi=True, progress=False)  # fmt: skip
    flips = 4 if tta else 1
    assert seen == [b for b in batches for _ in range(2 * flips)]  # two checkpoints
    assert list(report.written) == ["case_1", "case_2", "case_3", "case_4"]
    assert report.failed == {}
    for case in discover_cases(uneven):
        alone = predictor.predict_case(case)
        path = report.written[case.case_id]
        stem = str(path).removesuffix(".nii")
        assert np.array_equal(read_mask(path), alone.mask)
        probability = read_volume(Path(f"{stem}.probability.nii.gz")).array
        np.testing.assert_allclose(probability, alone.probability, rtol=0, atol=1e-5)
        np.testing.assert_allclose(
            read_volume(Path(f"{stem}.dwi.nii.gz")).array, alone.dwi, rtol=1e-6
        )


def test_a_bad_case_among_good_ones_leaves_the_others_as_if_alone(
    run: Path, uneven: Path, tmp_path: Path
) -> None:
    shutil.rmtree(next((uneven / "case_2").rglob("*CT_CBF*.nii")).parent)
    predictor = Predictor.from_checkpoints([run], device="cpu", batch_size=3, span_cases=True)
    report = predictor.predict_folder(uneven, tmp_path / "out", progress=False)
    assert list(report.failed) == ["case_2"] and "missing CT_CBF" in report.failed["case_2"]
    assert "\n" not in report.failed["case_2"]
    assert list(report.written) == ["case_1", "case_3", "case_4"]
    for case in discover_cases(uneven):
        if case.case_id != "case_2":
            expected = predictor.predict_case(case).mask
            assert np.array_equal(read_mask(report.written[case.case_id]), expected)


def test_slices_of_another_size_get_batches_of_their_own(
    run: Path, tmp_path: Path, make_case, batch_sizes
) -> None:
    root = tmp_path / "MIXED"
    for number, shape in enumerate([(16, 12, 2), (24, 16, 2), (16, 12, 1)], start=1):
        make_case(root, number, shape=shape, modalities=REQUIRED)
    predictor = Predictor.from_checkpoints(
        [run / "fold_0"], device="cpu", batch_size=8, span_cases=True
    )
    seen = batch_sizes
    report = predictor.predict_folder(root, tmp_path / "out", progress=False)
    assert seen == [2, 2, 1] and report.failed == {}
    for case in discover_cases(root):
        alone = predictor.predict_case(case).mask
        assert np.array_equal(read_mask(report.written[case.case_id]), alone)


def test_on_cpu_each_case_keeps_batches_of_its_own(run: Path, uneven: Path, tmp_path, batch_sizes):
    # On CPU a larger batch costs more per slice, so by default a batch never spans cases.
    predictor = Predictor.from_checkpoints([run / "fold_0"], device="cpu", batch_size=3)
    assert predictor.span_cases is False
    seen = batch_sizes
    report = predictor.predict_folder(uneven, tmp_path / "out", progress=False)
    assert seen == [2, 3, 2, 1, 3] and len(report.written) == 4


def test_the_batcher_hands_back_cases_in_order_as_their_slices_come_back(
    run: Path, uneven: Path
) -> None:
    members = load_members([run], CPU)
    batcher = SliceBatcher(members, device=CPU, batch_size=3)
    returned = []
    for case in discover_cases(uneven):
        arrays = load_case_arrays(case, with_dwi=False, with_label=False)
        returned.append([key for key, _ in batcher.add(case.case_id, arrays)])
    returned.append([key for key, _ in batcher.finish()])
    # Slices 2 | 5 | 1 | 3 in batches of 3: [1 1 2] and [2 2 2] run when case 2 comes, [2 3 4]
    # when case 4 comes, [4 4] at the finish. One batch stays in flight: a batch's results are
    # taken in when the next one has started.
    assert returned == [[], ["case_1"], [], [], ["case_2", "case_3", "case_4"]]
    assert batcher.finish() == []


def test_on_device_normalisation_equals_the_stats_own(isles_training: Path) -> None:
    arrays = [load_case_arrays(c) for c in discover_cases(isles_training)]
    for method in ("zscore", "robust"):
        channels = ("CT_MTT", "CT_CBF", "CT_4DPWI")
        stats = compute_stats(arrays, channels, with_dwi=False, method=method)
        expected = stats.normalise_inputs(arrays[0])
        raw = torch.from_numpy(arrays[0].inputs[:, [0, 3, 4]].copy())
        assert np.array_equal(normalise(stats, raw).numpy(), expected)


def test_read_ahead_keeps_the_order_and_raises_where_the_case_was(uneven: Path) -> None:
    def read(number: int) -> int:
        if number == 3:
            raise DataError("case 3 is broken")
        return number * 10

    assert list(read_ahead([1, 2], read, 2)) == [(1, 10), (2, 20)]
    stream = read_ahead([1, 2, 3, 4], read, 2)
    assert next(stream) == (1, 10) and next(stream) == (2, 20)
    with pytest.raises(DataError, match="case 3"):
        next(stream)


def test_reading_ahead_in_threads_predicts_the_same(run: Path, uneven: Path) -> None:
    members = load_members([run], CPU)
    cases = discover_cases(uneven)
    shutil.rmtree(next((uneven / "case_3").rglob("*CT_Tmax*.nii")).parent)

    def read(case):
        return load_case_arrays(case, with_dwi=False, with_label=False)

    outcomes = {}
    for ahead in (0, 2):
        batcher = SliceBatcher(members, device=CPU, batch_size=3)
        outcomes[ahead] = list(predict_stream(batcher, cases, read, ahead=ahead))
    assert [case.case_id for case, _ in outcomes[2]] == ["case_1", "case_3", "case_2", "case_4"]
    for (case, first), (_, second) in zip(outcomes[0], outcomes[2], strict=True):
        if case.case_id == "case_3":
            assert isinstance(first, DataError) and isinstance(second, DataError)
        else:
            assert np.array_equal(first.probability, second.probability)


@pytest.mark.parametrize(
    ("amp", "channels_last", "expected"),
    [("auto", True, (torch.bfloat16, True)), ("off", False, (None, False))],
)
def test_precision_auto_follows_the_checkpoints_on_cuda(run: Path, amp, channels_last, expected):
    members = load_members([run], CPU)
    for member in members:
        runtime = {"amp": amp, "channels_last": channels_last}
        member.config = with_overrides(member.config, runtime=runtime)
    cuda = Predictor(members, device=torch.device("cuda"), precision="auto")
    # Nothing touches the GPU until used; batches span cases there.
    assert (cuda.amp, cuda.channels_last, cuda.span_cases) == (*expected, True)
    cpu = Predictor(members, device=CPU, precision="auto")
    assert (cpu.amp, cpu.channels_last) == (None, True)  # bf16 autocast only on CUDA
