"""Streaming a folder of cases through a :class:`~isles2018.inference.batching.SliceBatcher`.

Cases are read in order (on a GPU machine a few ahead, by background threads, so that NIfTI
decoding overlaps the networks), fed to the batcher, and handed back one by one as their last
slice is done; a case that cannot be read is handed back at once with its one-line error, and
the others go on. :class:`FolderReport` is what ``Predictor.predict_folder`` returns.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from isles2018.data.io import write_like
from isles2018.data.stack import CaseArrays
from isles2018.errors import UserError
from isles2018.inference.batching import Prediction, SliceBatcher

#: Cases read ahead by background threads while a GPU predicts (none on CPU: the cores compute).
READ_AHEAD_CASES = 2

Item = TypeVar("Item")
Loaded = TypeVar("Loaded")


@dataclass(frozen=True)
class FolderReport:
    """What :meth:`Predictor.predict_folder` did.

    Attributes:
        written: case id → the prediction file written, in case order.
        failed: case id → one-line reason, for every case that was not predicted.
        seconds: wall-clock time of the whole folder.
    """

    written: dict[str, Path] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self, out: Path) -> str:
        """One line: how many predictions were written where, and which cases failed."""
        line = f"wrote {len(self.written)} prediction(s) to {out} in {self.seconds:.1f} s"
        if self.failed:
            line += f"; {len(self.failed)} case(s) failed: {', '.join(self.failed)}"
        return line


def read_ahead(
    cases: Iterable[Item], read: Callable[[Item], Loaded], ahead: int
) -> Iterator[tuple[Item, Loaded]]:
    """``(case, read(case))`` in case order, with up to ``ahead`` cases read by background
    threads meanwhile (NIfTI decoding overlaps the GPU's work); ``ahead=0`` reads in turn.

    An exception of ``read`` is raised where its case would have been yielded.
    """
    if ahead == 0:
        yield from ((case, read(case)) for case in cases)
        return
    with ThreadPoolExecutor(ahead, thread_name_prefix="read-case") as pool:
        window: deque = deque()
        for case in cases:
            window.append((case, pool.submit(read, case)))
            if len(window) > ahead:
                first, future = window.popleft()
                yield first, future.result()
        while window:
            first, future = window.popleft()
            yield first, future.result()


def attempt(read: Callable[[Item], Loaded], item: Item) -> Loaded | UserError:
    """``read(item)``, or the ``UserError`` it raised (anything else is a bug: raised)."""
    try:
        return read(item)
    except UserError as error:
        return error


def predict_stream(
    batcher: SliceBatcher,
    cases: Iterable[Item],
    read: Callable[[Item], CaseArrays],
    *,
    ahead: int = 0,
) -> Iterator[tuple[Item, Prediction | UserError]]:
    """Each case's prediction, or the ``UserError`` that ``read`` raised for it.

    A case is yielded once its last slice is done, a failed one at once; with ``ahead``, that
    many cases are read in background threads meanwhile (:func:`read_ahead`).
    """
    for case, loaded in read_ahead(cases, functools.partial(attempt, read), ahead):
        if isinstance(loaded, UserError):
            yield case, loaded
        else:
            yield from batcher.add(case, loaded)
    yield from batcher.finish()


def write_extras(
    prediction: Prediction, grid: Path, mask: Path, probabilities: bool, dwi: bool
) -> None:
    """The probability and synthetic DWI beside the mask ``mask``, if asked for (atomically)."""
    stem = mask.parent / mask.name.split(".nii")[0]
    if probabilities and prediction.probability is not None:
        write_like(Path(f"{stem}.probability.nii.gz"), prediction.probability, grid)
    if dwi and prediction.dwi is not None:
        write_like(Path(f"{stem}.dwi.nii.gz"), prediction.dwi, grid)
