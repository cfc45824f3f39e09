"""Phantom generation cost: seconds per case and peak memory.

For the ``ci`` and ``isles`` profiles, generates 20 training cases with 2 worker processes into
a temporary folder and prints wall seconds per case, CPU seconds (this process and its workers),
the size written and the peak resident memory of any one process (``ru_maxrss``). Then writes the
largest case of the ISLES mix (22 slices × 64 frames) in a fresh process and prints its peak,
and one ISLES'24-layout subject per ``--isles24`` geometry (``small`` by default; ``realistic``,
512 × 560 × 100 at 0.4 × 0.4 × 2 mm, takes minutes) with its peak anonymous memory (the
process's own arrays, sampled every 50 ms) beside the whole peak, which also counts the pages
of the memory-mapped CTP while it is compressed (file-backed, reclaimable). Each measurement
runs in its own interpreter so that peaks do not mix. Wall times depend on the machine's other
load, printed beside them (CPU seconds / workers is the unloaded wall time).

    python benchmarks/phantom.py
    python benchmarks/phantom.py --profiles ci --cases 10
    python benchmarks/phantom.py --profiles --isles24 small realistic
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0  # Linux reports KiB


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def run_profile(profile: str, cases: int, workers: int) -> dict:
    """Generate ``cases`` training cases; returns the figures (run in a fresh interpreter)."""
    from isles2018.phantom.generate import Request, generate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / profile
        load = os.getloadavg()[0]
        start, cpu = time.perf_counter(), _cpu_seconds()
        generate_dataset(
            Request(out=out, cases=cases, seed=0, profile=profile, workers=workers),
            progress=False,
        )
        wall = time.perf_counter() - start
        return {
            "profile": profile,
            "cases": cases,
            "workers": workers,
            "wall_s": wall,
            "s_per_case": wall / cases,
            "cpu_s": _cpu_seconds() - cpu,
            "written_mb": _size_mb(out),
            "peak_mb": _peak_mb(),
            "load_average": load,
        }


def run_largest() -> dict:
    """Generate and write one 22-slice × 64-frame ``isles`` case in this process."""
    from isles2018.phantom.sampling import get_profile, plan_cases
    from isles2018.phantom.synthesis import synthesize_case
    from isles2018.phantom.writer import write_case

    profile = get_profile("isles")
    plan = plan_cases(0, 1, 0, profile)[0]
    patient = dataclasses.replace(plan.patient, slices=22, frames=64, two_slabs=False)
    plan = dataclasses.replace(plan, patient=patient)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_case(synthesize_case(plan, profile), Path(tmp), gzip=False, five_d=False)
        wall = time.perf_counter() - start
        return {"wall_s": wall, "written_mb": _size_mb(Path(tmp)), "peak_mb": _peak_mb()}


def _anonymous_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def run_isles24(geometry: str) -> dict:
    """Generate one ISLES'24-layout subject (``isles`` profile, seed 0) in this process."""
    from isles2018.phantom.generate import Request, generate_dataset

    peak = {"anonymous": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak["anonymous"] = max(peak["anonymous"], _anonymous_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "isles24"
        request = Request(out=out, cases=1, layout="isles24", geometry=geometry)
        load = os.getloadavg()[0]
        start, cpu = time.perf_counter(), _cpu_seconds()
        generate_dataset(request, progress=False)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        frames = json.loads((out / "manifest.json").read_text())
        shape = json.loads(next((out / "_truth" / "TRAINING").glob("*.json")).read_text())
        return {
            "geometry": geometry,
            "shape": [*shape["grid"]["shape"], shape["patient_parameters"]["frames"]],
            "oblique": frames["parameters"]["oblique"],
            "wall_s": wall,
            "cpu_s": _cpu_seconds() - cpu,
            "written_mb": _size_mb(out),
            "peak_mb": _peak_mb(),
            "anonymous_peak_mb": peak["anonymous"],
            "load_average": load,
        }


def _fresh(*args: str) -> dict:
    command = [sys.executable, __file__, *args]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="*", default=["ci", "isles"])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--isles24", nargs="*", default=["small"], help="small, realistic")
    parser.add_argument("--_isles24", help=argparse.SUPPRESS)
    parser.add_argument("--_profile", help=argparse.SUPPRESS)
    parser.add_argument("--_largest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._profile:
        print(json.dumps(run_profile(args._profile, args.cases, args.workers)))
        return
    if args._largest:
        print(json.dumps(run_largest()))
        return
    if args._isles24:
        print(json.dumps(run_isles24(args._isles24)))
        return
    if args.profiles:
        print(f"{'profile':8} {'cases':>5} {'workers':>7} {'wall s':>7} {'s/case':>7} "
              f"{'cpu s':>7} {'MB out':>7} {'peak MB':>8} {'load':>5}")  # fmt: skip
    for profile in args.profiles:
        r = _fresh(
            "--_profile", profile, "--cases", str(args.cases), "--workers", str(args.workers)
        )
        print(
            f"{r['profile']:8} {r['cases']:5d} {r['workers']:7d} {r['wall_s']:7.1f} "
            f"{r['s_per_case']:7.2f} {r['cpu_s']:7.1f} {r['written_mb']:7.0f} "
            f"{r['peak_mb']:8.0f} {r['load_average']:5.1f}"
        )
    if args.profiles:
        r = _fresh("--_largest")
        print(
            f"largest case (22 slices x 64 frames, one process): {r['wall_s']:.1f} s, "
            f"{r['written_mb']:.0f} MB written, peak {r['peak_mb']:.0f} MB"
        )
    for geometry in args.isles24:
        r = _fresh("--_isles24", geometry)
        x, y, z, t = r["shape"]
        print(
            f"isles24 {geometry} subject ({x}x{y}x{z}, {t} frames, "
            f"{'oblique' if r['oblique'] else 'axis-aligned'}): {r['wall_s']:.1f} s "
            f"(CPU {r['cpu_s']:.1f} s, load {r['load_average']:.1f}), "
            f"{r['written_mb']:.0f} MB written, peak {r['peak_mb']:.0f} MB "
            f"(anonymous {r['anonymous_peak_mb']:.0f} MB)"
        )


if __name__ == "__main__":
    main()
