"""Generating a whole data set: checks, plan, parallel workers, progress, resume, manifest.

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
from isles2018.phantom import PHANTOM_VERSION
from isles2018.phantom.anatomy import MNI_NOTICE, load_templates
from isles2018.phantom.sampling import MAX_CASES, CasePlan, Profile, get_profile, plan_cases
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


@dataclass(frozen=True)
class Request:
    """What to generate.

    Attributes:
        out: data-set root.
        cases: training cases (≥ 1).
        test_cases: testing cases (≥ 0).
        seed: data-set seed.
        profile: ``isles``, ``ci`` or ``clean``.
        workers: processes (1: in this process).
        gzip: write ``.nii.gz`` instead of ``.nii``.
        five_d: store CT_4DPWI as ``(X, Y, Z, 1, T)``.
    """

    out: Path
    cases: int
    test_cases: int = 0
    seed: int = 0
    profile: str = "isles"
    workers: int = 1
    gzip: bool = False
    five_d: bool = False

    def parameters(self) -> dict:
        """What determines the data set's bytes (recorded in and checked against the manifest)."""
        return {
            "generator_version": PHANTOM_VERSION,
            "seed": self.seed,
            "profile": self.profile,
            "cases": self.cases,
            "test_cases": self.test_cases,
            "gzip": self.gzip,
            "five_d": self.five_d,
        }

    @property
    def ext(self) -> str:
        return ".nii.gz" if self.gzip else ".nii"


@dataclass(frozen=True)
class Result:
    """Outcome of a run: cases generated now, cases already complete, the manifest path."""

    generated: int
    skipped: int
    manifest: Path


def _validate(request: Request) -> Profile:
    try:
        profile = get_profile(request.profile)
    except ValueError as error:
        raise PhantomError(str(error)) from None
    if request.cases < 1:
        raise PhantomError(f"--cases must be at least 1, got {request.cases}")
    if request.test_cases < 0:
        raise PhantomError(f"--test-cases must be 0 or more, got {request.test_cases}")
    if max(request.cases, request.test_cases) > MAX_CASES:
        raise PhantomError(f"at most {MAX_CASES} cases per partition")
    if request.workers < 1:
        raise PhantomError(f"--workers must be at least 1, got {request.workers}")
    return profile


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
    differing = [
        f"{k} {recorded.get(k)!r} ≠ {v!r}" for k, v in wanted.items() if recorded.get(k) != v
    ]
    if differing:
        raise PhantomError(
            f"{out} holds a different phantom data set ({'; '.join(differing)}); "
            "use a new folder or the same parameters"
        )


def _manifest(request: Request, files: dict[str, str], complete: bool) -> dict:
    return {
        "generator": PHANTOM_GENERATOR,
        "package_version": __version__,
        "parameters": request.parameters(),
        "complete": complete,
        "dtypes": {m.token: dtype for m, dtype in DTYPES.items()},
        "units": UNITS,
        "mni_notice": MNI_NOTICE,
        "files": dict(sorted(files.items())),
    }


def _generate_one(plan: CasePlan, profile: Profile, out: Path, gzip: bool, five_d: bool) -> dict:
    case = synthesize_case(plan, profile)
    return write_case(case, out, gzip=gzip, five_d=five_d)


def _run_pool(request: Request, profile: Profile, todo: list[CasePlan], bar: tqdm) -> dict:
    hashes: dict[str, str] = {}
    args = (profile, request.out, request.gzip, request.five_d)
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
        PhantomError: bad counts, unknown profile, or a folder holding something else.
    """
    profile = _validate(request)
    _check_output(request)
    out = request.out
    out.mkdir(parents=True, exist_ok=True)
    plans = plan_cases(request.seed, request.cases, request.test_cases, profile)
    write_json(out / MANIFEST, _manifest(request, {}, complete=False))
    write_cases_csv(out, plans)
    # Incomplete cases are regenerated whole; write_case first removes their leftovers.
    todo = [plan for plan in plans if not is_complete(out, plan, request.ext)]
    todo.sort(key=lambda plan: -plan.cost)
    with tqdm(total=len(todo), desc="phantom", unit="case", disable=not progress) as bar:
        hashes = _run_pool(request, profile, todo, bar)
    generated = {(plan.partition, plan.number) for plan in todo}
    for plan in plans:
        if (plan.partition, plan.number) not in generated:
            for path in case_paths(plan, request.ext):
                hashes[path.as_posix()] = file_digest(out / path)
    hashes[CASES_CSV] = file_digest(out / CASES_CSV)
    write_json(out / MANIFEST, _manifest(request, hashes, complete=True))
    return Result(generated=len(todo), skipped=len(plans) - len(todo), manifest=out / MANIFEST)


def read_manifest(out: Path) -> dict:
    """The manifest of a data set."""
    return json.loads((Path(out) / MANIFEST).read_text())
