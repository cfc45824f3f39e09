"""Checks of an ISLES 2018 submission folder (packaging is :mod:`isles2018.submission.package`).

A submission holds exactly one ``SMIR.<method>.<CT_MTT id>.nii`` per test case, on the grid of
that case's CT_MTT (a wrong id or header made real submissions score "-1"), binary integer
{0, 1}, uncompressed, and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isles2018.data.case import ISLES24, Case
from isles2018.data.grid import geometry_differences
from isles2018.data.io import read_mask, stored_dtype
from isles2018.data.modalities import Modality
from isles2018.errors import DataError, SubmissionError

PREDICTION = re.compile(r"^SMIR\.(?P<method>[A-Za-z0-9_\-]+)\.(?P<smir_id>\d+)\.nii$")
_INTEGER_TYPES = (np.uint8, np.uint16, np.int8, np.int16, np.int32, np.uint32)


@dataclass(frozen=True)
class SubmissionReport:
    """Result of :func:`validate_submission`.

    Attributes:
        checked: number of prediction files that matched a case.
        problems: one readable line per problem (empty: the submission is valid).
        method_names: method names seen in file names.
    """

    checked: int
    problems: tuple[str, ...]
    method_names: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the submission has no problem."""
        return not self.problems


def _check_file(path: Path, case: Case) -> list[str]:
    mtt = case.path(Modality.MTT)
    problems = []
    try:
        problems += [
            f"{path.name}: header differs from {mtt.name}: {d}"
            for d in geometry_differences(path, mtt)
        ]
        if np.dtype(stored_dtype(path)).type not in _INTEGER_TYPES:
            problems.append(f"{path.name}: stored as {stored_dtype(path)}, expected uint8/uint16")
        values = np.unique(read_mask(path))
        if not np.isin(values, (0, 1)).all():
            problems.append(f"{path.name}: values {values[:6].tolist()} are not in {{0, 1}}")
    except DataError as error:
        problems.append(str(error))
    return problems


def validate_submission(
    folder: Path, cases: list[Case], method_name: str | None = None
) -> SubmissionReport:
    """Check a submission folder against the test cases it should cover.

    Args:
        folder: the folder holding the prediction files.
        cases: the discovered TESTING cases.
        method_name: require this ``<method>`` in every file name (None: any one name).

    Raises:
        SubmissionError: the cases are ISLES'24 ones (that challenge takes no such folder).
    """
    folder = Path(folder)
    isles24 = [c.case_id for c in cases if c.layout == ISLES24]
    if isles24:
        raise SubmissionError(
            f"{isles24[0]} is an ISLES'24 case: these checks are the ISLES 2018 challenge's; "
            "score ISLES'24 predictions with `isles-eval score --preset isles24`"
        )
    if not folder.is_dir():
        return SubmissionReport(0, (f"{folder}: not a folder",), ())
    by_id = {case.smir_id(Modality.MTT): case for case in cases if case.has(Modality.MTT)}
    problems: list[str] = [
        c.broken or f"{c.case_id}: has no CT_MTT" for c in cases if not c.has(Modality.MTT)
    ]
    found: dict[str, list[Path]] = {}
    methods: set[str] = set()
    for path in sorted(folder.iterdir()):
        match = PREDICTION.match(path.name)
        if match is None or not path.is_file():
            problems.append(f"{path.name}: unexpected entry (expected SMIR.<method>.<id>.nii)")
            continue
        methods.add(match["method"])
        if match["smir_id"] not in by_id:
            problems.append(f"{path.name}: {match['smir_id']} is not the CT_MTT id of any case")
            continue
        found.setdefault(match["smir_id"], []).append(path)
    if len(methods) > 1:
        problems.append(f"several method names: {', '.join(sorted(methods))}")
    elif method_name and methods and methods != {method_name}:
        problems.append(
            f"method name {', '.join(methods)} differs from --method-name {method_name}"
        )
    checked = 0
    for smir_id, case in sorted(by_id.items(), key=lambda kv: kv[1].number):
        paths = found.get(smir_id, [])
        if not paths:
            problems.append(f"{case.case_id}: no prediction SMIR.<method>.{smir_id}.nii")
            continue
        if len(paths) > 1:
            problems.append(f"{case.case_id}: {len(paths)} predictions for CT_MTT id {smir_id}")
        for path in paths:
            checked += 1
            problems += [f"{case.case_id}: {p}" for p in _check_file(path, case)]
    return SubmissionReport(checked, tuple(problems), tuple(sorted(methods)))
