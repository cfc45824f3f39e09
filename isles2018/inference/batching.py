"""Slices of many cases through a checkpoint ensemble in large batches (paper Fig. 1).

A :class:`SliceBatcher` takes loaded cases one at a time and cuts their slices into batches of
``batch_size`` slices that may span several cases (``span_cases``: what a GPU wants). Each
batch goes to the device once per channel selection, is normalised there with each
checkpoint's own statistics and run through every checkpoint (and the TTA flips); lesion
probabilities and synthetic DWI are summed on the device and copied back once per batch while
the host gathers the next batch (one batch stays in flight). A case's :class:`Prediction` is
handed back once its last slice is back. The batcher holds at most two batches plus the case
just added, so a folder of any size streams through bounded memory.

Each slice gets the float32 arithmetic of its case predicted alone (normalisation as
:meth:`~isles2018.data.normalise.NormStats.normalise_inputs`, members summed in order, one
division per case); only its batch neighbours may move the last bits, e.g. CPU GroupNorm with
several threads when batch × groups < threads, or cuDNN kernels chosen by batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from isles2018.data.modalities import Modality
from isles2018.data.normalise import select_channels
from isles2018.data.stack import CaseArrays
from isles2018.errors import CheckpointError, ConfigError
from isles2018.inference.forward import flips, member_forward, normalise
from isles2018.models import LESION_THRESHOLD

if TYPE_CHECKING:
    from isles2018.inference.ensemble import Member


@dataclass(frozen=True)
class Prediction:
    """The prediction of one case.

    Attributes:
        probability: ``(X, Y, Z)`` float32 lesion probability (ensemble mean), or None for the
            threshold method.
        mask: ``(X, Y, Z)`` uint8 {0, 1}, ``probability >= 0.5``.
        dwi: ``(X, Y, Z)`` float32 synthetic DWI in the training data's DWI units (ensemble
            mean of the generators), or None for stages without a generator.
    """

    probability: np.ndarray | None
    mask: np.ndarray
    dwi: np.ndarray | None


def reads_dwi(member: Member) -> bool:
    """Whether the checkpoint reads MR_DWI as an input (the ``dwi-unet`` stage)."""
    return Modality.DWI.token in member.stats.channels


@dataclass
class _Pending:
    """A case whose slices are (partly) still to run."""

    key: object
    arrays: CaseArrays
    raw: dict[tuple[str, ...], np.ndarray]  # channels → (S, C, H, W) unnormalised float32
    probability: np.ndarray  # (S, H, W) sum over the members
    dwi: list[np.ndarray] = field(default_factory=list)  # (B, H, W) sums over the generators
    generators: int = 0  # members whose synthetic DWI is summed in ``dwi``
    sent: int = 0  # slices given to a batch so far
    done: int = 0  # slices whose results are back

    @property
    def slices(self) -> int:
        return self.probability.shape[0]


@dataclass
class _Launched:
    """A batch whose results may still be on their way back from the device."""

    pieces: list[tuple[_Pending, int, int]]  # (case, first slice, end) in batch order
    probability: torch.Tensor  # (B, H, W) sum over the members, on the host
    dwi: torch.Tensor | None  # (B, H, W) sum over the generators, on the host
    generators: int
    ready: torch.cuda.Event | None  # set once the copies to the host are done (CUDA)


class SliceBatcher:
    """Predicts the slices of many cases in batches that span cases.

    Feed cases with :meth:`add`, then call :meth:`finish`; both return the ``(key, Prediction)``
    of every case completed, in the order the cases were added.

    Args:
        members: loaded checkpoints (probabilities are averaged).
        device: where the networks are.
        tta: average over identity, x-flip, y-flip and both.
        batch_size: slices per forward pass (a batch may hold slices of several cases).
        amp: autocast dtype (``torch.bfloat16``) or None for fp32.
        channels_last: feed NHWC tensors (the members' weights are made NHWC too).
        allow_dwi: accept checkpoints that read MR_DWI (validation on training cases loaded
            with it); test-time inference never has MR_DWI, so this is off by default.
        span_cases: let a batch hold slices of several cases (full batches, for GPUs); without
            it each case has batches of its own: on CPU the cost per slice grows with the batch
            (71 → 113 ms from 1 to 8 slices, 256², width 16, 1 thread of a 2-core Xeon).
        static_batches: pad every short batch with zero slices to ``batch_size`` (and drop
            their outputs), so that compiled networks (CUDA graphs) see one shape. Every
            network here works on each slice alone (GroupNorm, no batch statistics), so the
            padding changes no other slice's result.

    Raises:
        CheckpointError: no member, or a member reads MR_DWI without ``allow_dwi``.
        ConfigError: ``batch_size`` below 1.
    """

    def __init__(
        self,
        members: Sequence[Member],
        *,
        device: torch.device,
        tta: bool = False,
        batch_size: int = 8,
        amp: torch.dtype | None = None,
        channels_last: bool = False,
        allow_dwi: bool = False,
        span_cases: bool = True,
        static_batches: bool = False,
    ) -> None:
        if not members:
            raise CheckpointError("no checkpoint to predict with")
        if batch_size < 1:
            raise ConfigError(f"batch size must be at least 1 slice, got {batch_size}")
        for member in members:
            if reads_dwi(member) and not allow_dwi:
                raise CheckpointError(
                    f"{member.path}: this checkpoint reads MR_DWI, which inference lacks"
                )
            if channels_last:
                # NHWC weights too: with NCHW weights each convolution copies its weight to NHWC
                # on every call (2-7 % slower on a 2-core CPU, torch 2.13). Once: a no-op.
                member.models.to(device, channels_last=True)
        self.members = list(members)
        self.device = device
        self.flips = flips(tta)
        self.batch_size = batch_size
        self.amp = amp
        self.span_cases = span_cases
        self.static_batches = static_batches
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self._channels = list(dict.fromkeys(m.stats.channels for m in self.members))
        self._queue: list[_Pending] = []
        self._waiting = 0  # queued slices not yet launched
        self._in_flight: _Launched | None = None

    def add(self, key: object, arrays: CaseArrays) -> list[tuple[object, Prediction]]:
        """Queue one loaded case (``inputs`` ``(S, 5, H, W)``); run every full batch.

        Raises:
            ValueError: a member reads MR_DWI but ``arrays`` holds none.
        """
        ready = []
        last = self._queue[-1].arrays.inputs.shape[2:] if self._queue else None
        if last is not None and (not self.span_cases or arrays.inputs.shape[2:] != last):
            ready = self.finish()  # nor do slices of another size
        raw = {c: select_channels(arrays, c) for c in self._channels}
        slices = arrays.inputs.shape[0]
        probability = np.zeros((slices, *arrays.inputs.shape[2:]), np.float32)
        self._queue.append(_Pending(key, arrays, raw, probability))
        self._waiting += slices
        while self._waiting >= self.batch_size:
            self._step(self.batch_size)
        return ready + self._completed()

    def predict_alone(self, arrays: CaseArrays) -> Prediction:
        """The prediction of one case run on its own (nothing else may be queued)."""
        if self._queue:
            raise RuntimeError("predict_alone needs an empty queue")
        return [*self.add(arrays.case_id, arrays), *self.finish()][0][1]

    def finish(self) -> list[tuple[object, Prediction]]:
        """Run the slices still queued; the predictions of every remaining case."""
        while self._waiting:
            self._step(min(self.batch_size, self._waiting))
        if self._in_flight is not None:
            self._collect(self._in_flight)
            self._in_flight = None
        return self._completed()

    def _step(self, count: int) -> None:
        # One batch stays in flight: the host gathers the next batch and takes this one's
        # results apart while the device computes (no effect on CPU, where it all is in turn).
        launched = self._launch(count)
        if self._in_flight is not None:
            self._collect(self._in_flight)
        self._in_flight = launched

    def _launch(self, count: int) -> _Launched:
        """Start the next ``count`` queued slices through every member."""
        pieces = []
        remaining = count
        for pending in self._queue:
            take = min(remaining, pending.slices - pending.sent)
            if take > 0:
                pieces.append((pending, pending.sent, pending.sent + take))
                pending.sent += take
                remaining -= take
        self._waiting -= count
        cuda = self.device.type == "cuda"
        on_device = {}
        for channels in self._channels:
            parts = [p.raw[channels][a:b] for p, a, b in pieces]
            if self.static_batches and count < self.batch_size:
                parts.append(np.zeros((self.batch_size - count, *parts[0].shape[1:]), np.float32))
            batch = torch.from_numpy(np.concatenate(parts))
            host = batch.pin_memory() if cuda else batch
            on_device[channels] = host.to(self.device, non_blocking=True)
        total: torch.Tensor | None = None
        dwi_total: torch.Tensor | None = None
        generators = 0
        for member in self.members:
            inputs = normalise(member.stats, on_device[member.stats.channels])
            inputs = inputs.contiguous(memory_format=self.memory_format)
            lesion, dwi = member_forward(member, inputs, self.flips, self.amp)
            # Summed in member order: the float32 additions of a case predicted alone.
            total = lesion if total is None else total + lesion
            if dwi is not None and member.stats.dwi_mean is not None:
                restored = dwi * member.stats.dwi_std + member.stats.dwi_mean  # training units
                dwi_total = restored if dwi_total is None else dwi_total + restored
                generators += 1
        assert total is not None
        total = total[:count]  # without the padding of a static batch
        dwi_total = None if dwi_total is None else dwi_total[:count]
        # To pinned host memory without waiting (CUDA); the event says when the copies are done.
        probability = total.to("cpu", non_blocking=cuda)
        dwi_host = None if dwi_total is None else dwi_total.to("cpu", non_blocking=cuda)
        ready = torch.cuda.Event() if cuda else None
        if ready is not None:
            ready.record()
        return _Launched(pieces, probability, dwi_host, generators, ready)

    def _collect(self, launched: _Launched) -> None:
        """Put a launched batch's results into its cases."""
        if launched.ready is not None:
            launched.ready.synchronize()
        probability = launched.probability.numpy()
        dwi = None if launched.dwi is None else launched.dwi.numpy()
        offset = 0
        for pending, start, end in launched.pieces:
            pending.probability[start:end] = probability[offset : offset + end - start]
            if dwi is not None:
                pending.dwi.append(dwi[offset : offset + end - start])
            pending.generators = launched.generators
            pending.done += end - start
            offset += end - start

    def _completed(self) -> list[tuple[object, Prediction]]:
        done = []
        while self._queue and self._queue[0].done == self._queue[0].slices:
            pending = self._queue.pop(0)
            done.append((pending.key, self._prediction(pending)))
        return done

    def _prediction(self, pending: _Pending) -> Prediction:
        probability = pending.probability / np.float32(len(self.members))
        arrays = pending.arrays
        # Back onto the case's grid (resampled when the slices were, ISLES'24), then thresholded.
        dwi = None
        if pending.dwi and pending.generators:
            dwi = arrays.to_volume(np.concatenate(pending.dwi) / pending.generators)
            dwi = dwi.astype(np.float32)
        volume = arrays.to_volume(probability).astype(np.float32)
        return Prediction(volume, (volume >= LESION_THRESHOLD).astype(np.uint8), dwi)
