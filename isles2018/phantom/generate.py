"""Generating a whole data set: checks, plan, parallel workers, progress, resume, manifest.

Either layout (:data:`isles2018.phantom.request.LAYOUTS`): ISLES 2018 cases
(:mod:`isles2018.phantom.writer`) or ISLES'24 subjects (:mod:`isles2018.phantom.isles24.writer`).
A run first records its parameters (an incomplete ``manifest.json``) and ``cases.csv``, then
generates the cases that are not complete yet — largest first, in a process pool — and finally
rewrites the manifest with the SHA-256 of every file. Rerunning with the same parameters after
an interruption completes the missing cases; other parameters in the same folder are refused.
"""

from __future__ import annotations

import json
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from isles2018 import __version__
from isles2018.data.checks import PHANTOM_GENERATOR
from isles2018.data.checks import PHANTOM_MANIFEST as MANIFEST
from isles2018.errors import PhantomError
from isles2018.files import file_digest
from isles2018.phantom.anatomy import MNI_NOTICE, load_templates
from isles2018.phantom.isles24 import writer as isles24_writer
from isles2018.phantom.isles24.names import MASK
from isles2018.phantom.isles24.plan import SubjectPlan, plan_subjects
from isles2018.phantom.isles24.synthesis import DTYPES as ISLES24_DTYPES
from isles2018.phantom.isles24.synthesis import UNITS as ISLES24_UNITS
from isles2018.phantom.report import dataset_anchors
from isles2018.phantom.request import Request, validate
from isles2018.phantom.sampling import CasePlan, Profile, plan_cases
from isles2018.phantom.synthesis import synthesize_case
from isles2018.phantom.writer import (
    CASES_CSV,
    DTYPES,
    UNITS,
    case_paths,
    is_complete,
    write_case,
    write_cases_csv,
    write_json,
)

__all__ = ["Request", "Result", "generate_dataset", "read_manifest"]


@dataclass(frozen=True)
class Result:
    """Outcome of a run: cases generated now, cases already complete, the manifest path."""

    generated: int
    skipped: int
    manifest: Path


def _check_output(request: Request) -> None:
    """Refuse a folder that holds anything but an unfinished or finished run of this request."""
    out = request.out
    if out.exists() and not out.is_dir():
        raise PhantomError(f"{out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    manifest = out / MANIFEST
    if not manifest.is_file():
        raise PhantomError(
            f"{out} is not empty and holds no phantom {MANIFEST}; choose a new folder"
        )
    try:
        recorded = json.loads(manifest.read_text())["parameters"]
    except (ValueError, KeyError, TypeError):
        recorded = None
    if not isinstance(recorded, dict):
        raise PhantomError(f"{manifest} is not a phantom manifest; choose a new folder")
    wanted = request.parameters()
    layouts = (recorded.get("layout", "isles2018"), request.layout)
    if layouts[0] != layouts[1]:
        raise PhantomError(
            f"{out} holds a phantom data set in the {layouts[0]} layout, not {layouts[1]}; "
            "use a new folder or the same parameters"
        )
    differing = [
        f"{k} {recorded.get(k)!r} ≠ {v!r}" for k, v in wanted.items() if recorded.get(k) != v
    ]
    if differing:
        raise PhantomError(
            f"{out} holds a different phantom data set ({'; '.join(differing)}); "
            "use a new folder or the same parameters"
        )


def _manifest(
    request: Request, files: dict[str, str], complete: bool, anchors: dict | None = None
) -> dict:
    if request.layout == "isles24":
        dtypes = {**ISLES24_DTYPES, MASK: request.isles24_options().mask_dtype}
        units = ISLES24_UNITS
    else:
        dtypes, units = {m.token: dtype for m, dtype in DTYPES.items()}, UNITS
    return {
        "generator": PHANTOM_GENERATOR,
        "package_version": __version__,
        "parameters": request.parameters(),
        "complete": complete,
        "dtypes": dtypes,
        "units": units,
        "mni_notice": MNI_NOTICE,
        "files": dict(sorted(files.items())),
        **({"anchors": anchors} if anchors is not None else {}),
    }


Plan = CasePlan | SubjectPlan


def _plans(request: Request, profile: Profile) -> list[Plan]:
    if request.layout == "isles24":
        return plan_subjects(request.seed, request.cases, request.test_cases, profile)
    return plan_cases(request.seed, request.cases, request.test_cases, profile)


def _paths(plan: Plan, request: Request) -> list[Path]:
    """Every file of a case or subject, relative to the data-set root."""
    if isinstance(plan, SubjectPlan):
        return isles24_writer.subject_paths(plan, request.isles24_options())
    return case_paths(plan, request.ext)


def _complete(out: Path, plan: Plan, request: Request) -> bool:
    if isinstance(plan, SubjectPlan):
        return isles24_writer.is_complete(out, plan, request.isles24_options())
    return is_complete(out, plan, request.ext)


def _generate_one(plan: Plan, profile: Profile, request: Request) -> dict:
    if isinstance(plan, SubjectPlan):
        return isles24_writer.write_subject(plan, profile, request.out, request.isles24_options())
    case = synthesize_case(plan, profile)
    return write_case(case, request.out, gzip=request.compressed, five_d=request.five_d)


def _run_pool(request: Request, profile: Profile, todo: list[Plan], bar: tqdm) -> dict:
    hashes: dict[str, str] = {}
    args = (profile, request)
    if request.workers == 1 or len(todo) <= 1:
        for plan in todo:
            hashes.update(_generate_one(plan, *args))
            bar.update()
        return hashes
    load_templates()  # forked workers inherit the templates instead of each reading them
    with ProcessPoolExecutor(min(request.workers, len(todo)), initializer=load_templates) as pool:
        pending = {pool.submit(_generate_one, plan, *args) for plan in todo}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    hashes.update(future.result())
                    bar.update()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return hashes


def generate_dataset(request: Request, *, progress: bool = True) -> Result:
    """Generate (or complete) a phantom data set.

    Raises:
        PhantomError: bad counts, unknown names, or a folder holding something else.
    """
    profile = validate(request)
    _check_output(request)
    out = request.out
    out.mkdir(parents=True, exist_ok=True)
    plans = _plans(request, profile)
    write_json(out / MANIFEST, _manifest(request, {}, complete=False))
    if request.layout == "isles24":
        isles24_writer.write_cases_csv(out, plans, request.isles24_options())
    else:
        write_cases_csv(out, plans)
    # Incomplete cases are regenerated whole; the writers first remove their leftovers.
    todo = [plan for plan in plans if not _complete(out, plan, request)]
    todo.sort(key=lambda plan: -plan.cost)
    with tqdm(total=len(todo), desc="phantom", unit="case", disable=not progress) as bar:
        hashes = _run_pool(request, profile, todo, bar)
    generated = {(plan.partition, plan.number) for plan in todo}
    for plan in plans:
        if (plan.partition, plan.number) not in generated:
            for path in _paths(plan, request):
                hashes[path.as_posix()] = file_digest(out / path)
    hashes[CASES_CSV] = file_digest(out / CASES_CSV)
    anchors = None
    if request.layout == "isles2018":
        anchors = dataset_anchors(out, [p for p in plans if isinstance(p, CasePlan)], request.ext)
    write_json(out / MANIFEST, _manifest(request, hashes, complete=True, anchors=anchors))
    return Result(generated=len(todo), skipped=len(plans) - len(todo), manifest=out / MANIFEST)


def read_manifest(out: Path) -> dict:
    """The manifest of a data set."""
    return json.loads((Path(out) / MANIFEST).read_text())
