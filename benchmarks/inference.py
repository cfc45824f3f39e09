"""Inference cost and bf16 accuracy of the ``gan-gn-maxout`` pipeline on CPU (issue 6).

Prints, in one run:

1. latency: ms per 256×256 slice of generator + segmentor (eval mode, no grad) at the paper's
   width 64, depth 4, in fp32 and bf16 autocast, channels-last and contiguous, batch 1 and 4;
   the FLOP/s achieved (``torch.utils.flop_counter.FlopCounterMode``: every convolution) and its
   ratio to the matmul peak of the same precision and thread count (``torch.matmul`` of 2048²
   matrices). Peak and both layouts are measured in alternating rounds, best of each, so that
   they see the same load on a shared machine. Then a profile of where the time goes, and
   ``predict_arrays`` (what ``isles2018 predict`` runs: normalisation, batching, copies);
2. dice: a small ``ci`` phantom set, a ``ci`` model trained a few epochs on it, its TESTING
   cases predicted in fp32 and in bf16: mean Dice against REFERENCE/ of each, the difference,
   the largest probability difference and how many mask voxels differ;
3. memory: peak RSS of a fresh process running ``isles2018 predict`` on one 22-slice ×
   64-frame 256×256 phantom case with a width-64 checkpoint (``VmHWM``; ``ru_maxrss`` is
   printed too, but Linux starts a child's at the forking parent's peak);
4. container: wall seconds of ``docker run ... predict`` of that case (``isles2018:latest``
   or ``:test``, network off, read-only), start to exit, alternated with the same command on
   the host; and of ``docker run IMAGE --help``. Skipped, with the reason, without an engine
   or an image;
5. gpu (the default, and only default, section with ``--device cuda``): slices per second of
   the batched Predictor path (``SliceBatcher`` fed by ``predict_stream``: normalisation on the
   device, batches spanning cases, a fold ensemble, probabilities and synthetic DWI back on the
   host) over in-memory cases of ISLES 2018's slab sizes, at width 64: eager fp32 NCHW, eager
   fp32 channels-last, eager bf16 channels-last and ``torch.compile`` (``runtime.compile``
   modes, ``--compile``) bf16 channels-last, at each ``--gpu-batch``; with the model TFLOP/s,
   their share of the same-run bf16 matmul peak and the peak GPU memory. Target (issue 16):
   >= 1,500 slices/s. On CPU it runs too (``--device cpu --sections gpu --quick``: tiny sizes).

The 1-minute load average is printed beside the figures: on a shared machine they scale with it.

    python benchmarks/inference.py                # full measurement (~12 min on 2 cores)
    python benchmarks/inference.py --quick        # smoke run at width 16 (< 1 min)
    python benchmarks/inference.py --sections latency memory
    python benchmarks/inference.py --device cuda                 # the gpu section at width 64
    python benchmarks/inference.py --device cpu --sections gpu --quick    # its CPU dry run
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _peak import (  # benchmarks/_peak.py: this folder is on sys.path
    best_seconds,
    matmul_peak,
    synchronise,
)
from torch.utils.flop_counter import FlopCounterMode

# ... and so is benchmarks/evaluation.py, which would shadow the evaluation package: drop it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from evaluation.metrics import compute_metrics  # noqa: E402
from isles2018.config import load_config, with_overrides  # noqa: E402
from isles2018.data.io import header_shape, read_mask  # noqa: E402
from isles2018.data.layout import discover_cases  # noqa: E402
from isles2018.data.modalities import Modality  # noqa: E402
from isles2018.data.normalise import NormStats, compute_stats  # noqa: E402
from isles2018.data.stack import CaseArrays, load_case_arrays  # noqa: E402
from isles2018.inference.batching import SliceBatcher  # noqa: E402
from isles2018.inference.checkpoint import SIDECAR, save_checkpoint  # noqa: E402
from isles2018.inference.ensemble import Member, load_members, predict_arrays  # noqa: E402
from isles2018.inference.streaming import predict_stream  # noqa: E402
from isles2018.models import Models, build_models, predict_probability  # noqa: E402
from isles2018.models.device import resolve_device  # noqa: E402

SECTIONS = ("latency", "dice", "memory", "container", "gpu")
CPU_SECTIONS = SECTIONS[:4]
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}
CPU = torch.device("cpu")
CLI = [sys.executable, "-m", "isles2018"]
# A fresh interpreter that runs the CLI and prints its own peak resident memory in KiB: VmHWM,
# and ru_maxrss, which Linux carries over from the forking parent (this process, which has held
# width-64 networks by then): a child's ru_maxrss is never below its parent's peak.
CLI_WITH_PEAK = [
    sys.executable,
    "-c",
    "import re, resource, sys\n"
    "from isles2018.cli import main\n"
    "try:\n"
    "    main(args=sys.argv[1:], prog_name='isles2018', standalone_mode=False)\n"
    "finally:\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('VmHWM', re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
    "    print('ru_maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n",
]
IMAGES = ("isles2018:latest", "isles2018:test")
LAYOUTS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}


@dataclasses.dataclass(frozen=True)
class Scale:
    """How much to measure: the paper's scale, or a smoke run."""

    width: int
    size: int
    batches: tuple[int, ...]
    rounds: int
    peak_size: int
    train_cases: int
    test_cases: int
    epochs: int
    predictor_slices: int
    big_slices: int
    big_frames: int
    memory_runs: tuple[tuple[str, int], ...]
    container_runs: int
    gpu_size: int = 256
    gpu_slices: int = 2048
    gpu_batches: tuple[int, ...] = (64, 256)


FULL = Scale(64, 256, (1, 4), 3, 2048, 6, 6, 10, 8, 22, 64, (("fp32", 8), ("bf16", 8)), 2)
QUICK = Scale(16, 256, (1, 2), 1, 1024, 6, 2, 1, 2, 4, 16, (("fp32", 8),), 1, 64, 24, (4, 16))


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def run(command: list[str]) -> subprocess.CompletedProcess:
    """Run a command; on failure show its output and stop."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        output = result.stdout + result.stderr
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{output}")
    return result


def cpu_summary() -> str:
    flags = set()
    model = platform.processor() or "?"
    try:
        text = Path("/proc/cpuinfo").read_text()
        for line in text.splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    have = ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in wanted)
    return (
        f"CPU: {model}, {os.cpu_count()} logical CPUs; {have}\n"
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"capability {torch.backends.cpu.get_cpu_capability()}, "
        f"mkldnn (oneDNN) available: {torch.backends.mkldnn.is_available()}"
    )


# --- 1. latency -----------------------------------------------------------------------------


def paper_config(width: int):
    model = {"width": width, "depth": 4, "discriminator_width": width}
    return with_overrides(load_config("gan-gn-maxout"), model=model)


def forward_flops(models: Models, size: int) -> int:
    """FLOPs of generator + segmentor for one ``size × size`` slice."""
    inputs = torch.randn(1, 5, size, size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        predict_probability(models, inputs)
    return counter.get_total_flops()


def interleaved(runs: dict, rounds: int, peak_dtype: torch.dtype, peak_size: int = 0):
    """Best seconds of each ``runs[name]()`` and best matmul FLOP/s (if ``peak_size``) over
    ``rounds`` rounds of (peak, every run in turn): each sees the same changing load."""
    best = dict.fromkeys(runs, float("inf"))
    peak = 0.0
    for run_once in runs.values():
        run_once()  # warm-up: oneDNN primitives, autocast weight casts
    for index in range(rounds + 1):
        if peak_size:
            peak = max(peak, matmul_peak(CPU, peak_dtype, peak_size, 3))
        if index == rounds:
            break
        for name, run_once in runs.items():
            start = time.perf_counter()
            run_once()
            best[name] = min(best[name], time.perf_counter() - start)
    return best, peak


def latency(scale: Scale) -> None:
    config = paper_config(scale.width)
    models = {}
    for layout in LAYOUTS:
        torch.manual_seed(0)
        models[layout] = build_models(config).eval().to(CPU, channels_last=layout != "contiguous")
    flops = forward_flops(models["contiguous"], scale.size)
    print(
        f"\n== 1. latency: generator + segmentor, width {scale.width}, depth 4, "
        f"{scale.size}x{scale.size}, eval, no grad; {flops / 1e9:.1f} GFLOP per slice =="
    )
    print("targets: fp32 >= 50 % and bf16 >= 30 % of the matmul peak of the same precision")
    header = f"{'precision':<10}{'layout':<15}{'batch':>6}{'ms/slice':>10}{'GFLOP/s':>9}"
    print(f"{header}{'peak':>8}{'ratio':>8}  load")
    generator = torch.Generator().manual_seed(0)
    for precision, amp in PRECISIONS.items():
        for batch in scale.batches:
            inputs = torch.randn(batch, 5, scale.size, scale.size, generator=generator)
            runs = {
                layout: functools.partial(
                    forward, models[layout], inputs.contiguous(memory_format=memory_format), amp
                )
                for layout, memory_format in LAYOUTS.items()
            }
            best, peak = interleaved(runs, scale.rounds, amp or torch.float32, scale.peak_size)
            for layout, seconds in best.items():
                achieved = flops * batch / seconds
                print(
                    f"{precision:<10}{layout:<15}{batch:>6}{seconds / batch * 1e3:>10.0f}"
                    f"{achieved / 1e9:>9.1f}{peak / 1e9:>8.1f}{achieved / peak:>8.1%}  {load()}",
                )
    profile_forward(models["channels_last"], scale)


def forward(models: Models, inputs: torch.Tensor, amp: torch.dtype | None) -> None:
    with torch.no_grad(), torch.autocast("cpu", dtype=amp or torch.float32, enabled=bool(amp)):
        predict_probability(models, inputs)


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ start/stop lines)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def profile_forward(models: Models, scale: Scale) -> None:
    """Share of the forward pass per operator kind (channels-last, largest batch)."""
    from torch.profiler import ProfilerActivity, profile

    batch = scale.batches[-1]
    models.to(CPU, channels_last=True)
    inputs = torch.randn(batch, 5, scale.size, scale.size)
    inputs = inputs.contiguous(memory_format=torch.channels_last)
    print(f"where the time goes (channels_last, batch {batch}, self CPU time):")
    for precision, amp in PRECISIONS.items():
        with torch.no_grad(), torch.autocast("cpu", dtype=amp or torch.float32, enabled=bool(amp)):
            predict_probability(models, inputs)
            with quiet_stderr(), profile(activities=[ProfilerActivity.CPU]) as prof:
                predict_probability(models, inputs)
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        kinds = {
            "convolution": ("convolution", "mkldnn_convolution", "_convolution"),
            "group_norm": ("native_group_norm",),
            "cat": ("cat",),
            "other": (),
        }
        shares = dict.fromkeys(kinds, 0.0)
        for event in events:
            name = event.key.removeprefix("aten::")
            kind = next((k for k, names in kinds.items() if name in names), "other")
            shares[kind] += event.self_cpu_time_total / total
        print(f"  {precision}: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))


def predictor_latency(scale: Scale, checkpoint: Path, case: Path) -> None:
    """ms per slice through ``predict_arrays`` (normalisation, batching, softmax, copies)."""
    arrays = load_case_arrays(discover_cases(case)[0], with_dwi=False, with_label=False)
    count = scale.predictor_slices
    arrays = dataclasses.replace(arrays, inputs=arrays.inputs[:count])
    print(f"predict_arrays (the CLI's path), one member, {count} slices in one batch:")
    # One member list per layout: channels_last=True also converts the members' weights.
    members = {layout: load_members([checkpoint], CPU) for layout in LAYOUTS}
    for precision, amp in PRECISIONS.items():
        runs = {
            layout: functools.partial(
                predict_arrays,
                members[layout],
                arrays,
                device=CPU,
                batch_size=count,
                amp=amp,
                channels_last=layout == "channels_last",
            )
            for layout in LAYOUTS
        }
        best, _ = interleaved(runs, max(2, scale.rounds - 1), amp or torch.float32)
        for layout, seconds in best.items():
            print(f"  {precision:<5} {layout:<14} {seconds / count * 1e3:6.0f} ms/slice  {load()}")


# --- 2. bf16 vs fp32 Dice ---------------------------------------------------------------------


def phantom(out: Path, cases: int, test_cases: int, profile: str, seed: int) -> Path:
    if not (out / "manifest.json").is_file():
        arguments = ["phantom", str(out), "--cases", str(cases), "--test-cases", str(test_cases)]
        run([*CLI, *arguments, "--seed", str(seed), "--profile", profile, "--workers", "2"])
    return out


def train_ci(data: Path, run_folder: Path, epochs: int) -> Path:
    """Train fold 0 of the ``ci`` config at lr 1e-3, no lr decay and no augmentation, so that a
    few epochs on a few cases give non-trivial masks."""
    fold = run_folder / "fold_0"
    if (fold / SIDECAR).is_file():
        return fold
    override = run_folder.with_suffix(".json")
    optim = {"lr": 1e-3, "lr_milestones_epochs": [epochs + 1]}
    override.write_text(json.dumps({"optim": optim, "augment": {"enabled": False}}))
    start = time.perf_counter()
    run(
        [*CLI, "train", str(data / "TRAINING"), "--out", str(run_folder), "--config",
         f"ci+{override}", "--epochs", str(epochs), "--fold", "0", "--device", "cpu", "--quiet"]
    )  # fmt: skip
    print(f"trained ci fold 0 for {epochs} epoch(s) in {time.perf_counter() - start:.0f} s")
    return fold


def dice_section(scale: Scale, work: Path) -> None:
    print(
        f"\n== 2. bf16 vs fp32 Dice: ci phantom, {scale.train_cases} training + "
        f"{scale.test_cases} testing cases, a ci model trained on them =="
    )
    name = f"ci-{scale.train_cases}-{scale.test_cases}"
    data = phantom(work / name, scale.train_cases, scale.test_cases, "ci", seed=7)
    fold = train_ci(data, work / f"{name}-run-{scale.epochs}", scale.epochs)
    members = load_members([fold], CPU)
    model = members[0].config.model
    print(f"ci model: width {model.width}, depth {model.depth}; bf16 = bf16 autocast")
    references = {c.case_id: c for c in discover_cases(data / "REFERENCE")}
    dice = {"fp32": [], "bf16": []}
    max_difference, flipped, lesion = 0.0, 0, 0
    for case in discover_cases(data / "TESTING"):
        arrays = load_case_arrays(case, with_dwi=False, with_label=False)
        reference = read_mask(references[case.case_id].path(Modality.OT))
        predictions = {
            precision: predict_arrays(members, arrays, device=CPU, amp=amp, channels_last=True)
            for precision, amp in PRECISIONS.items()
        }
        for precision, prediction in predictions.items():
            scores = compute_metrics(reference, prediction.mask, arrays.spacing_mm)
            dice[precision].append(scores["dice"])
        difference = np.abs(predictions["fp32"].probability - predictions["bf16"].probability)
        max_difference = max(max_difference, float(difference.max()))
        flipped += int((predictions["fp32"].mask != predictions["bf16"].mask).sum())
        lesion += int(predictions["fp32"].mask.sum())
    fp32, bf16 = float(np.mean(dice["fp32"])), float(np.mean(dice["bf16"]))
    print(f"mean Dice fp32 {fp32:.4f}, bf16 {bf16:.4f} ({len(dice['fp32'])} cases)")
    print(f"|Dice difference| {abs(fp32 - bf16):.4f} (target <= 0.005)")
    print(
        f"max |probability difference| {max_difference:.4f}; {flipped} mask voxel(s) differ "
        f"(fp32 masks hold {lesion} lesion voxels)"
    )


# --- 3. memory ------------------------------------------------------------------------------


def big_case(out: Path, slices: int, frames: int) -> Path:
    """One TESTING case of the ``isles`` profile (22 slices × 64 frames: ISLES' largest)."""
    from isles2018.phantom.sampling import get_profile, plan_cases
    from isles2018.phantom.synthesis import synthesize_case
    from isles2018.phantom.writer import write_case

    testing = out / "TESTING"
    if not (testing / "case_1").is_dir():
        profile = get_profile("isles")
        plan = plan_cases(0, 0, 1, profile)[0]
        patient = dataclasses.replace(plan.patient, slices=slices, frames=frames, two_slabs=False)
        plan = dataclasses.replace(plan, patient=patient)
        write_case(synthesize_case(plan, profile), out, gzip=False, five_d=False)
    return testing


def paper_checkpoint(folder: Path, testing: Path, width: int) -> Path:
    """A ``gan-gn-maxout`` checkpoint at ``width`` (random weights: cost does not depend on
    them), normalised with the statistics of ``testing``'s case."""
    if (folder / SIDECAR).is_file():
        return folder
    config = paper_config(width)
    arrays = [load_case_arrays(case) for case in discover_cases(testing)]
    stats = compute_stats(arrays, config.pipeline.inputs, with_dwi=False)
    stats = dataclasses.replace(stats, dwi_mean=0.0, dwi_std=1.0)
    torch.manual_seed(0)
    save_checkpoint(folder, build_models(config), config, stats, fold=0, epoch=0)
    return folder


def describe(testing: Path) -> str:
    case = discover_cases(testing)[0]
    x, y, z = header_shape(case.path(Modality.MTT))
    frames = header_shape(case.path(Modality.PWI))[-1]
    return f"{z}-slice {x}x{y} case ({frames} frames)"


def predict_arguments(testing: str, weights: str, out: str, *extra: str) -> list[str]:
    return ["predict", testing, "--weights", weights, "--out", out, "--device", "cpu", *extra]


CHILD_PEAKS = ("VmHWM", "ru_maxrss")


def memory(scale: Scale, work: Path, testing: Path, checkpoint: Path) -> None:
    print(
        f"\n== 3. peak memory: fresh process, isles2018 predict, one {describe(testing)}, "
        f"width {scale.width} (target <= 2 GB) =="
    )
    for precision, batch in scale.memory_runs:
        out = work / f"memory-{precision}-{batch}"
        extra = ("--precision", precision, "--batch-size", str(batch))
        start = time.perf_counter()
        result = run([*CLI_WITH_PEAK, *predict_arguments(str(testing), str(checkpoint),
                                                         str(out), *extra)])  # fmt: skip
        seconds = time.perf_counter() - start
        kib = {key: int(result.stdout.rsplit(key, 1)[1].split()[0]) for key in CHILD_PEAKS}
        peak = kib["VmHWM"]
        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"{precision}, --batch-size {batch}: peak RSS (VmHWM) {peak / 2**20:.2f} GiB "
            f"({peak * 1024 / 1e9:.2f} GB); ru_maxrss {kib['ru_maxrss'] / 2**20:.2f} GiB, "
            f"this parent's peak {parent / 2**20:.2f} GiB; {seconds:.1f} s wall  {load()}",
        )


# --- 4. container ---------------------------------------------------------------------------


def docker_image() -> tuple[str | None, str]:
    """(image tag, '') or (None, why the container measurement is skipped)."""
    if shutil.which("docker") is None:
        return None, "no docker client on PATH"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None, "docker info timed out"
    if info.returncode:
        lines = (info.stderr or info.stdout).strip().splitlines()
        return None, f"no Docker engine reachable ({lines[-1] if lines else 'docker info failed'})"
    for tag in IMAGES:
        inspect = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
        if inspect.returncode == 0:
            return tag, ""
    return None, f"no image {' or '.join(IMAGES)} (build one: make docker)"


def writable(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)  # the container's user is not root
    return path


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    run(command)
    return time.perf_counter() - start


def container(work: Path, testing: Path, checkpoint: Path, attempts: int) -> None:
    print("\n== 4. container: start to exit of docker run ... predict, one case ==")
    image, why = docker_image()
    if image is None:
        print(f"skipped: {why}")
        return
    created = run(["docker", "image", "inspect", "--format", "{{.Created}}", image]).stdout
    print(
        f"image {image} (built {created.strip()[:19]}; it may predate this checkout); "
        f"one {describe(testing)}; the {checkpoint.name} checkpoint mounted read-only"
    )
    docker = ["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp"]
    start_up = timed([*docker, image, "--help"])
    host, inside = [], []
    for attempt in range(attempts):  # alternated: both see the same changing load
        out = str(work / f"host-{attempt}")
        host.append(timed([*CLI, *predict_arguments(str(testing), str(checkpoint), out)]))
        out = writable(work / f"container-{attempt}")
        mounts = ["-v", f"{testing}:/input:ro", "-v", f"{checkpoint}:/weights:ro"]
        mounts += ["-v", f"{out}:/output"]
        arguments = predict_arguments("/input", "/weights", "/output")
        inside.append(timed([*docker, *mounts, image, *arguments]))
        if not list(out.glob("SMIR.*.nii")):
            sys.exit(f"the container wrote no prediction into {out}")
    print(f"docker run {image} --help: {start_up:.1f} s (container start + CLI import)")
    print(
        f"docker run ... predict: {', '.join(f'{t:.1f}' for t in inside)} s; the same predict "
        f"on the host in a fresh interpreter: {', '.join(f'{t:.1f}' for t in host)} s; "
        f"best container / best host {min(inside) / min(host):.2f}x  {load()}"
    )


# --- 5. gpu: the batched Predictor path ------------------------------------------------------

#: Slab sizes of the synthetic cases, in turn (ISLES 2018 has 2 to 22 slices, mostly 2).
CASE_SLICES = (2, 2, 4, 8, 2, 16, 2, 22, 4, 2)


def synthetic_cases(slices: int, size: int) -> list[CaseArrays]:
    """In-memory cases of ``CASE_SLICES`` slices (the last one cut) holding ``slices`` in all."""
    rng = np.random.default_rng(0)
    cases, total = [], 0
    while total < slices:
        count = min(CASE_SLICES[len(cases) % len(CASE_SLICES)], slices - total)
        inputs = rng.standard_normal((count, 5, size, size), dtype=np.float32)
        spacing = (0.9, 0.9, 5.0)
        cases.append(CaseArrays(f"case_{len(cases)}", inputs, None, None, np.eye(4), spacing))
        total += count
    return cases


def gpu_members(width: int, count: int, device: torch.device, channels_last: bool, mode: str):
    """``count`` random ``gan-gn-maxout`` checkpoints (a fold ensemble), compiled if ``mode``."""
    from isles2018.inference.forward import compile_members

    config = paper_config(width)
    ones = (1.0,) * len(config.pipeline.inputs)
    stats = NormStats(config.pipeline.inputs, "zscore", (0.0,) * len(ones), ones, None, None,
                      0.0, 1.0)  # fmt: skip
    members = []
    for fold in range(count):
        torch.manual_seed(fold)
        models = build_models(config).eval().to(device, channels_last=channels_last)
        members.append(Member(models, config, stats, Path(f"fold_{fold}")))
    compiled = compile_members(
        members, mode, device, channels_last=channels_last, log=lambda line: print(f"  {line}")
    )
    return members, compiled


def stream_seconds(members, cases, device, batch: int, amp, channels_last: bool, rounds: int,
                   static: bool):  # fmt: skip
    """Best seconds of predicting every case through the batched path, after one warm-up pass
    (cuDNN autotuning, compilation, autocast weight casts); ``static`` pads short batches, as
    ``Predictor`` does for compiled networks."""

    def once() -> None:
        batcher = SliceBatcher(members, device=device, batch_size=batch, amp=amp,
                               channels_last=channels_last, static_batches=static)  # fmt: skip
        for _ in predict_stream(batcher, cases, lambda arrays: arrays):
            pass
        synchronise(device)

    once()
    return best_seconds(once, rounds)


def gpu_section(scale: Scale, device: torch.device, ensemble: int, modes: list[str]) -> None:
    size, slices = scale.gpu_size, scale.gpu_slices
    cases = synthetic_cases(slices, size)
    flops = forward_flops(build_models(paper_config(scale.width)).eval(), size)  # per slice
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"\n== 5. gpu: batched Predictor path on {name}, width {scale.width}, {size}x{size}, "
        f"{len(cases)} cases / {slices} slices, an ensemble of {ensemble}; "
        f"{flops / 1e9:.1f} GFLOP per slice and network (target >= 1,500 slices/s) =="
    )
    peak_size = 8192 if device.type == "cuda" else scale.peak_size
    peak = matmul_peak(device, torch.bfloat16, peak_size, 5)
    print(f"bf16 matmul peak {peak / 1e12:.1f} TFLOP/s ({peak_size}^2, this run)")
    print(f"{'variant':<34}{'batch':>6}{'s':>8}{'slices/s':>10}{'net/s':>9}{'TFLOP/s':>9}"
          f"{'peak':>7}{'GPU GiB':>9}")  # fmt: skip
    variants = [("eager fp32 NCHW", None, False, "off"),
                ("eager fp32 channels_last", None, True, "off"),
                ("eager bf16 channels_last", torch.bfloat16, True, "off")]  # fmt: skip
    variants += [(f"compile {m} bf16 channels_last", torch.bfloat16, True, m) for m in modes]
    for label, amp, channels_last, mode in variants:
        members, compiled = gpu_members(scale.width, ensemble, device, channels_last, mode)
        for batch in scale.gpu_batches:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            seconds = stream_seconds(members, cases, device, batch, amp, channels_last,
                                     max(1, scale.rounds - 1), compiled)  # fmt: skip
            memory = "-"
            if device.type == "cuda":
                memory = f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f}"
            achieved = flops * slices * ensemble / seconds
            print(
                f"{label:<34}{batch:>6}{seconds:>8.2f}{slices / seconds:>10.1f}"
                f"{slices * ensemble / seconds:>9.1f}{achieved / 1e12:>9.2f}"
                f"{achieved / peak:>7.1%}{memory:>9}  {load()}"
            )
        del members
    print("slices/s: case slices through the whole ensemble; net/s: slices x networks per s")


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run at width 16 (< 1 min)")
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, help="default: gpu on CUDA, the rest on CPU"
    )
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"],
                        help="where the gpu section runs (the others measure the CPU)")  # fmt: skip
    parser.add_argument("--ensemble", type=int, default=4, help="gpu: checkpoints (folds)")
    parser.add_argument("--gpu-batch", type=int, nargs="+", help="gpu: slices per batch")
    parser.add_argument("--gpu-slices", type=int, help="gpu: slices in all")
    parser.add_argument(
        "--compile", nargs="*", help="gpu: runtime.compile modes to time (default on CUDA: "
        "default; on CPU: none)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) data and checkpoints here")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as measured, before any error
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the subprocesses too
    scale = QUICK if args.quick else FULL
    device = resolve_device(args.device)
    args.sections = args.sections or (["gpu"] if device.type == "cuda" else list(CPU_SECTIONS))
    gpu_options = {"gpu_batches": tuple(args.gpu_batch or scale.gpu_batches),
                   "gpu_slices": args.gpu_slices or scale.gpu_slices}  # fmt: skip
    scale = dataclasses.replace(scale, **gpu_options)
    if args.compile is None:
        args.compile = ["default"] if device.type == "cuda" else []
    print(cpu_summary())
    print(f"start: {load()} (1-minute load average; {os.cpu_count()} CPUs)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="isles-inference-") as temporary:
        work = args.workdir or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        needs_case = {"latency", "memory", "container"} & set(args.sections)
        if needs_case:
            big = work / f"big-{scale.big_slices}x{scale.big_frames}"
            testing = big_case(big, scale.big_slices, scale.big_frames)
            checkpoint = paper_checkpoint(big / f"width-{scale.width}", testing, scale.width)
        if "latency" in args.sections:
            latency(scale)
            predictor_latency(scale, checkpoint, testing)
        if "dice" in args.sections:
            dice_section(scale, work)
        if "memory" in args.sections:
            memory(scale, work, testing, checkpoint)
        if "container" in args.sections:
            container(work, testing, checkpoint, scale.container_runs)
        if "gpu" in args.sections:
            if device.type == "cuda":
                torch.backends.cudnn.benchmark = True  # fixed slice size, as in training
            gpu_section(scale, device, args.ensemble, args.compile)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; end: {load()}")


if __name__ == "__main__":
    main()
