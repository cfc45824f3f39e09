"""``Predictor``: lesion masks for ISLES cases, from Python or from ``isles2018 predict``.

One object, built once, predicts cases one by one or a whole folder (whose slices go through
the networks in batches that span cases, :mod:`isles2018.inference.batching`)::

    from isles2018.inference import Predictor

    predictor = Predictor.from_checkpoints(["weights"], device="auto", tta=True)
    report = predictor.predict_folder("TESTING", "predictions")
    report.failed  # case id -> one-line reason

``Predictor.threshold()`` is the classical rule (rCBF < 30 % and Tmax > 6 s) behind the same
interface. The ``predict`` and ``crossval`` commands, the Dice regression check, the weights
script and the container all go through this class.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from isles2018.data.grid import check_grids
from isles2018.data.io import write_prediction
from isles2018.data.layout import Case, discover_cases
from isles2018.data.modalities import (
    DEFAULT_METHOD_NAME,
    INPUT_CHANNELS,
    THRESHOLD_METHOD_NAME,
    Modality,
    prediction_name,
)
from isles2018.data.placement import DEFAULT_SPACING_MM
from isles2018.data.stack import CaseArrays
from isles2018.errors import CheckpointError, ConfigError, DataError, UserError
from isles2018.files import writable_folder
from isles2018.inference.batching import SliceBatcher
from isles2018.inference.ensemble import Member, Prediction, load_members, reads_dwi
from isles2018.inference.forward import compile_members
from isles2018.inference.streaming import (
    READ_AHEAD_CASES,
    FolderReport,
    attempt,
    predict_stream,
    write_extras,
)
from isles2018.models.device import resolve_device

#: ``auto``: bf16 autocast on CUDA when every checkpoint's ``runtime.amp`` allows it, else fp32.
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "auto": None}


class Predictor:
    """Predicts lesion masks with a checkpoint ensemble or with the threshold method.

    Build it with :meth:`from_checkpoints` or :meth:`threshold`.

    Attributes:
        members: the loaded checkpoints (empty for the threshold method).
        device: where the networks run.
        tta: average over the x-, y- and xy-flipped inputs too.
        batch_size: slices per forward pass; in :meth:`predict_folder` a batch may hold the
            slices of several cases.
        amp: autocast dtype (``torch.bfloat16``) or None for fp32.
        channels_last: feed the networks NHWC tensors: always on CPU, on CUDA when every
            checkpoint's ``runtime.channels_last`` says so.
        span_cases: let a batch of :meth:`predict_folder` hold the slices of several cases
            (default: on CUDA; on CPU a larger batch costs more per slice, see
            :class:`~isles2018.inference.batching.SliceBatcher`).
        allow_dwi: let checkpoints that read MR_DWI (``dwi-unet``) predict; only cross-validation
            on training cases has MR_DWI, test cases never do.
        method_name: the ``<method>`` of the files written, ``SMIR.<method>.<id>.nii``.
        compile: ``torch.compile`` mode of the networks (``off``, ``default`` or
            ``max-autotune``, as ``runtime.compile``); compiled networks get every batch padded
            to ``batch_size`` slices, so one graph serves a whole run. Where the compiler is
            unavailable one line says so and the networks run eagerly.
        threshold_rule: the threshold method's rule (None: the module's default, ``tmax6``).
    """

    threshold_rule: str | None = None

    def __init__(
        self,
        members: Sequence[Member],
        *,
        device: str | torch.device = "auto",
        tta: bool = False,
        batch_size: int = 8,
        precision: str = "fp32",
        allow_dwi: bool = False,
        method_name: str | None = None,
        span_cases: bool | None = None,
        compile: str = "off",
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch size must be at least 1 slice, got {batch_size}")
        if precision not in PRECISIONS:
            raise ConfigError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
            )
        self.members = list(members)
        spacings = {m.config.pipeline.resample_spacing_mm for m in self.members}
        if len(spacings) > 1:
            raise CheckpointError(
                f"the checkpoints resample ISLES'24 slices to different spacings "
                f"({', '.join(f'{s:g} mm' for s in sorted(spacings))}); ensemble like with like"
            )
        #: In-plane spacing ISLES'24 slices are resampled to (the members' training spacing).
        self.spacing_mm = spacings.pop() if spacings else DEFAULT_SPACING_MM
        self.device = resolve_device(device)
        self.tta = tta
        self.batch_size = batch_size
        runtimes = [m.config.runtime for m in self.members]
        cuda = self.device.type == "cuda"
        if precision == "auto":  # bf16 on CUDA where every checkpoint's runtime.amp allows it
            precision = "bf16" if cuda and all(r.amp != "off" for r in runtimes) else "fp32"
        self.amp = PRECISIONS[precision]
        self.channels_last = not cuda or all(r.channels_last for r in runtimes)
        self.span_cases = cuda if span_cases is None else span_cases
        self.allow_dwi = allow_dwi
        default = DEFAULT_METHOD_NAME if self.members else THRESHOLD_METHOD_NAME
        self.method_name = method_name or default
        prediction_name(self.method_name, 0)  # a name that cannot go in a file name: refuse now
        for member in self.members:
            if reads_dwi(member) and not allow_dwi:
                raise CheckpointError(
                    f"{member.path}: this checkpoint reads MR_DWI, which inference lacks"
                )
        #: Whether the networks run compiled (False for ``off`` and after an eager fallback).
        self.compiled = compile_members(
            self.members, compile, self.device, channels_last=self.channels_last
        )

    @classmethod
    def from_checkpoints(
        cls, paths: Sequence[str | Path], *, device: str | torch.device = "auto", **options
    ) -> Predictor:
        """An ensemble of every checkpoint under ``paths`` (probabilities are averaged).

        Args:
            paths: checkpoint folders, run folders (``fold_<k>/``) or weights folders; a folder
                with a weights ``manifest.json`` is verified (SHA-256) first.
            device: ``auto``, ``cpu``, ``cuda`` or a ``torch.device``.
            **options: ``tta``, ``batch_size``, ``precision`` (``fp32``, ``bf16`` or
                ``auto``: bf16 on CUDA when the checkpoints' ``runtime.amp`` allows it),
                ``allow_dwi``, ``method_name``, ``span_cases``, ``compile`` (see the class).

        Raises:
            CheckpointError: no checkpoint, or one that is damaged or tampered with.
            ConfigError: an unknown device, precision or compile mode, or a batch size below 1.
        """
        if not paths:
            raise ConfigError("no checkpoint given: name a weights, run or fold folder")
        target = resolve_device(device)
        return cls(load_members([Path(p) for p in paths], target), device=target, **options)

    @classmethod
    def threshold(cls, *, rule: str | None = None, method_name: str | None = None) -> Predictor:
        """The classical threshold rule (:mod:`isles2018.inference.threshold`).

        Args:
            rule: ``tmax6`` (the default: rCBF < 30 % and Tmax > 6 s, the thresholds of
                RAPID-style CTP software, not the paper's) or ``delay3`` (rCBF < 30 % and
                Tmax > 3 s: the paper's §1 "delay time > 3 s", with Tmax for delay time).
            method_name: the ``<method>`` of the files written (default ``Threshold``).

        Raises:
            ConfigError: an unknown rule or an unusable method name.
        """
        from isles2018.inference.threshold import threshold_rule

        if rule is not None:
            threshold_rule(rule)  # an unknown rule fails before any case is read
        predictor = cls([], device="cpu", method_name=method_name)
        predictor.threshold_rule = rule
        return predictor

    @property
    def needs(self) -> tuple[Modality, ...]:
        """Modalities a case must have to be predicted (CT_MTT for the output grid)."""
        if not self.members:
            return (Modality.CBF, Modality.TMAX, Modality.MTT)
        extra = (Modality.DWI,) if any(reads_dwi(m) for m in self.members) else ()
        return (*INPUT_CHANNELS, *extra)

    def predict_case(self, case: Case) -> Prediction:
        """Predict one discovered case.

        Returns:
            The mask (and, for networks, the probability and synthetic DWI) on the case's
            CT_MTT grid, ``(X, Y, Z)``.

        Raises:
            DataError: the case has a duplicated or missing modality, a volume off the CT_MTT's
                grid, or a file that cannot be read or holds NaN/inf values.
        """
        if not self.members:
            from isles2018.inference.threshold import threshold_case

            self._check(case)
            check_grids(case, self.needs)  # the networks' loader checks its own volumes
            options = {} if self.threshold_rule is None else {"rule": self.threshold_rule}
            return Prediction(probability=None, mask=threshold_case(case, **options), dwi=None)
        return self._batcher().predict_alone(self._load(case))

    def _check(self, case: Case) -> None:
        if case.broken:
            raise DataError(case.broken)
        if case.duplicated:
            raise DataError(f"{case.case_id}: {case.duplicated[0]}")
        missing = sorted(m.token for m in self.needs if not case.has(m))
        if missing:
            raise DataError(f"{case.folder}: missing {', '.join(missing)}")

    def _load(self, case: Case) -> CaseArrays:
        """The network inputs of a checked case (raises ``DataError`` as :meth:`predict_case`)."""
        from isles2018.data.stack import load_case_arrays

        self._check(case)
        with_dwi = Modality.DWI in self.needs
        return load_case_arrays(
            case, with_dwi=with_dwi, with_label=False, resample_spacing_mm=self.spacing_mm
        )

    def _batcher(self) -> SliceBatcher:
        return SliceBatcher(
            self.members,
            device=self.device,
            tta=self.tta,
            batch_size=self.batch_size,
            amp=self.amp,
            channels_last=self.channels_last,
            allow_dwi=self.allow_dwi,
            span_cases=self.span_cases,
            static_batches=self.compiled,
        )

    def _outcomes(self, cases: Sequence[Case]) -> Iterator[tuple[Case, Prediction | UserError]]:
        """Each case's prediction or its user error (networks: through a SliceBatcher)."""
        if not self.members:
            return ((case, attempt(self.predict_case, case)) for case in cases)
        ahead = READ_AHEAD_CASES if self.device.type == "cuda" else 0
        return predict_stream(self._batcher(), cases, self._load, ahead=ahead)

    def predict_folder(
        self,
        data: str | Path | Sequence[Case],
        out: str | Path,
        *,
        save_probabilities: bool = False,
        save_dwi: bool = False,
        progress: bool = True,
        description: str = "predict",
    ) -> FolderReport:
        """Predict every case under ``data`` and write ``out/SMIR.<method>.<CT_MTT id>.nii``.

        A case that fails (a missing, unreadable or mismatched file) is reported with a
        one-line reason and skipped; every other case is still written. Any other exception is
        a bug and propagates. With ``span_cases`` (on CUDA) a batch holds slices of several
        cases; cases stream through, so memory stays bounded however large the folder.

        Args:
            data: a TESTING folder, a data-set root, one case folder, or discovered cases.
            out: the output folder (created if missing).
            save_probabilities: also write ``SMIR.<method>.<id>.probability.nii.gz``.
            save_dwi: also write the synthetic DWI, ``SMIR.<method>.<id>.dwi.nii.gz``.
            progress: show a progress bar.
            description: the progress bar's label.

        Raises:
            DataError: ``data`` holds no ISLES case.
            OutputError: ``out`` cannot be created or written.
        """
        cases = discover_cases(Path(data)) if isinstance(data, str | Path) else list(data)
        out = writable_folder(Path(out))  # an unwritable output fails before any case is computed
        report = FolderReport()
        started = time.perf_counter()
        with tqdm(total=len(cases), desc=description, unit="case", disable=not progress) as bar:
            for case, outcome in self._outcomes(cases):
                bar.update()  # cases come back in order, a failed one as soon as it is read
                try:
                    if isinstance(outcome, UserError):
                        raise outcome
                    # On the reference volume's grid and header (CT_MTT; NCCT in ISLES'24).
                    grid, name = case.path(case.reference), case.prediction_file(self.method_name)
                    path = write_prediction(outcome.mask, grid, out / name)
                    report.written[case.case_id] = path
                    write_extras(outcome, grid, path, save_probabilities, save_dwi)
                except UserError as error:
                    reason = str(error)
                    reason = reason if case.case_id in reason else f"{case.case_id}: {reason}"
                    report.failed[case.case_id] = reason
                    tqdm.write(f"error: {reason}", file=sys.stderr)
        return FolderReport(report.written, report.failed, time.perf_counter() - started)
