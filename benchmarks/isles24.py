"""Peak memory and time of predicting one ISLES'24 case of realistic geometry.

Writes one phantom subject in the ISLES'24 layout (``--geometry realistic``: 512 × 560 × 100 at
0.4 × 0.4 × 2 mm, oblique, a 4D CTP of about 1 GB compressed; minutes) unless ``--data`` names
an existing ISLES'24 root, then predicts it in a fresh interpreter per method — the shipped
weights' 4-fold ensemble, and the threshold rule — and prints wall seconds and the peak resident
memory of that process (its VmHWM), against the 2 GB target of the issue. Each case is read
map by map, the CTP a few frames at a time (never whole), resampled to the network grid
(0.9 mm, 256²) and mapped back onto the NCCT grid.

    python benchmarks/isles24.py [--work DIR] [--data ISLES24_ROOT] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_GB = 2.0

# Peak memory is the child's VmHWM (its own address space's high-water mark): ``ru_maxrss`` is
# preserved across execve on Linux, so a child of a large parent would report the parent's peak.
CHILD = """
import json, resource, sys, time
from isles2018.inference import Predictor

def peak_gb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

data, out, method, device, weights = sys.argv[1:6]
started = time.perf_counter()
if method == "threshold":
    predictor = Predictor.threshold()
else:
    predictor = Predictor.from_checkpoints([weights], device=device)
report = predictor.predict_folder(data, out, progress=False)
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "peak_gb": peak_gb(),
    "written": len(report.written),
    "failed": report.failed,
}))
"""


def make_subject(root: Path) -> float:
    """Generate one realistic ISLES'24 subject into ``root``; returns wall seconds."""
    from isles2018.phantom.generate import Request, generate_dataset

    started = time.perf_counter()
    request = Request(
        out=root, cases=1, seed=0, profile="isles", layout="isles24", geometry="realistic"
    )
    generate_dataset(request, progress=True)
    return time.perf_counter() - started


def predict(data: Path, out: Path, method: str, device: str) -> dict:
    """Predict ``data`` in a fresh interpreter; its JSON line of figures."""
    weights = str(REPO / "weights")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(out), method, device, weights],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"predicting with {method} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    parser.add_argument("--data", type=Path, default=None, help="an ISLES'24 root to predict")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="isles2018-isles24-"))
    data = args.data
    if data is None:
        seconds = make_subject(work / "phantom")
        data = work / "phantom" / "TRAINING"
        print(f"phantom subject (realistic geometry) written in {seconds:.0f} s")
    from isles2018.data.io import header_shape
    from isles2018.data.layout import discover_cases
    from isles2018.data.modalities import Modality

    cases = discover_cases(data)
    for case in cases:
        print(f"{case.case_id}: NCCT {header_shape(case.path(Modality.CT))}, "
              f"CTP {header_shape(case.path(Modality.PWI))}")  # fmt: skip
    print()
    print(f"| method | device | cases | seconds per case | peak memory (GB) | ≤ {TARGET_GB} GB |")
    print("|---|---|---|---|---|---|")
    for method in ("gan", "threshold"):
        figures = predict(data, work / f"out-{method}", method, args.device)
        if figures["failed"]:
            raise SystemExit(f"{method}: cases failed: {figures['failed']}")
        per_case = figures["seconds"] / max(1, figures["written"])
        ok = "yes" if figures["peak_gb"] <= TARGET_GB else "NO"
        name = "shipped 4-fold ensemble" if method == "gan" else "threshold (tmax6)"
        print(
            f"| {name} | {args.device} | {figures['written']} | {per_case:.1f} | "
            f"{figures['peak_gb']:.2f} | {ok} |"
        )
    if args.data is None:
        generation = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(f"\n(generating the subject peaked at {generation:.2f} GB in this process)")


if __name__ == "__main__":
    main()
