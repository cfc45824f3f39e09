"""Training throughput of the full step (D step + joint G+S step) at the paper's width.

Prints, for fp32 and bf16 autocast: seconds per step, slices per second, the model FLOP/s
achieved (FLOPs of one step counted by ``torch.utils.flop_counter.FlopCounterMode``: every
convolution and matmul, forward and backward) and its ratio to this machine's matmul peak of the
same precision, measured in the same run (``torch.matmul`` of large square matrices, best of a
measurement before and one after the timed steps), and the projected wall time of the paper's
schedule at that speed (700 epochs × 376 training slices per fold × 4 folds), and the peak GPU
memory of the timed steps. ``--compile`` times each ``runtime.compile`` mode in the same run
(compilation happens in the warm-up steps).

Every line reaches a pipe as it is printed (stdout is line-buffered here), and a timestamped
progress line goes to stderr before each phase (FLOP count, matmul peak, warm-up, timed steps):
a run killed early still shows how far it got (docs/benchmarks.md, "Why --batch 24 printed
nothing").

    python benchmarks/training.py                      # CPU: batch 2 (batch 6 is slow there)
    python benchmarks/training.py --device cuda --batch 6 --compile off max-autotune
    python benchmarks/training.py --device cuda --batch 6 --concurrent 2 4   # folds concurrent
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
from _peak import matmul_peak, synchronise
from torch.utils.flop_counter import FlopCounterMode

from isles2018.config import COMPILE_MODES, load_config, with_overrides
from isles2018.data.dataset import Batch
from isles2018.models import build_models
from isles2018.models.compilation import compile_models
from isles2018.models.device import resolve_device
from isles2018.training.step import make_optimisers, train_step

#: The paper's schedule on the real data: 700 epochs over ≈ 376 training slices, 4 folds.
SCHEDULE_SLICES = 700 * 376 * 4
STARTED = time.perf_counter()


def progress(message: str) -> None:
    """A timestamped line on stderr: what the run is doing now (the table stays on stdout)."""
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def make_batch(batch: int, size: int, device: torch.device) -> Batch:
    generator = torch.Generator().manual_seed(0)
    label = (torch.rand(batch, size, size, generator=generator) > 0.95).long()
    inputs = torch.randn(batch, 5, size, size, generator=generator)
    dwi = torch.randn(batch, 1, size, size, generator=generator)
    channels_last = torch.channels_last
    return Batch(
        inputs.to(device).contiguous(memory_format=channels_last),
        dwi.to(device).contiguous(memory_format=channels_last),
        label.to(device),
    )


def step_flops(config, batch: Batch, device: torch.device) -> int:
    """FLOPs of one full training step (forward and backward of D, G and S).

    Every operation counted (convolutions, matrix products) is linear in the batch, so the
    caller counts one slice and multiplies: no full-size step before the first line.
    """
    models = build_models(config).to(device, channels_last=True)
    optimisers = make_optimisers(models, config.optim)
    with FlopCounterMode(display=False) as counter:
        train_step(models, optimisers, batch, config.loss)
    return counter.get_total_flops()


def warmed_up(config, batch, device, amp, warmup: int, compile: str):
    """Fresh networks (seed 0, NHWC, compiled with ``compile``) and their optimisers after
    ``warmup`` training steps (cuDNN autotuning and compilation happen there)."""
    torch.manual_seed(0)
    plain = build_models(config).to(device, channels_last=True)
    optimisers = make_optimisers(plain, config.optim)
    models = compile_models(plain, compile, device)
    for _ in range(warmup):
        train_step(models, optimisers, batch, config.loss, amp=amp)
    synchronise(device)
    return models, optimisers


def time_steps(
    config, batch, device, amp, warmup: int, steps: int, compile: str = "off"
) -> tuple[float, float]:
    """Median seconds per training step (after ``warmup`` steps, which include cuDNN autotuning
    and compilation) and the peak GPU memory of the steps in GiB (NaN on CPU)."""
    precision = "fp32" if amp is None else "bf16"
    progress(f"{precision}, compile {compile}: {warmup} warm-up step(s) (autotuning, compiling)")
    models, optimisers = warmed_up(config, batch, device, amp, warmup, compile)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    progress(f"{precision}, compile {compile}: {steps} timed step(s)")
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        train_step(models, optimisers, batch, config.loss, amp=amp)
        synchronise(device)
        times.append(time.perf_counter() - start)
    memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else NAN
    return sorted(times)[len(times) // 2], memory


NAN = float("nan")


def _concurrent_worker(config, size, batch_size, device, amp, warmup, steps, compile, barrier,
                       results) -> None:  # fmt: skip
    """One of ``--concurrent`` processes: warm up, wait for the others, time ``steps`` steps."""
    if device.type == "cpu":  # an equal share of the cores, as train --concurrent-folds gives
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // barrier.parties))
    batch = make_batch(batch_size, size, device)
    models, optimisers = warmed_up(config, batch, device, amp, warmup, compile)
    barrier.wait()  # every process starts its timed steps together
    start = time.perf_counter()
    for _ in range(steps):
        train_step(models, optimisers, batch, config.loss, amp=amp)
    synchronise(device)
    results.put(time.perf_counter() - start)


def time_concurrent(
    processes: int, config, size, batch_size, device, amp, warmup, steps, compile
) -> float:
    """Slices per second of ``processes`` training processes sharing ``device`` (what
    ``train --concurrent-folds`` does): every process times ``steps`` steps after its warm-up,
    all started together; the rate is all their slices over the slowest one's time."""
    import torch.multiprocessing as mp

    context = mp.get_context("spawn")  # CUDA cannot be forked
    barrier, results = context.Barrier(processes), context.Queue()
    arguments = (config, size, batch_size, device, amp, warmup, steps, compile, barrier, results)
    workers = [context.Process(target=_concurrent_worker, args=arguments) for _ in range(processes)]
    for worker in workers:
        worker.start()
    elapsed = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    return processes * batch_size * steps / max(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch", type=int, default=None, help="default: 2 on CPU, 6 on GPU")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 3 / 20)")
    parser.add_argument("--warmup", type=int, default=None, help="default 1 / 5")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--precision", nargs="+", default=["fp32", "bf16"])
    parser.add_argument(
        "--compile", nargs="+", default=["off"], choices=list(COMPILE_MODES), help="modes to time"
    )
    parser.add_argument(
        "--concurrent",
        type=int,
        nargs="*",
        default=[],
        help="also time N training processes sharing the device (train --concurrent-folds), "
        "with the last --compile mode and bf16 if asked for",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # a pipe gets each line now, not at exit

    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 here
    torch.backends.cudnn.allow_tf32 = False
    batch_size = args.batch or (6 if gpu else 2)
    steps = args.steps or (20 if gpu else 3)
    warmup = args.warmup or (5 if gpu else 1)
    model = {"width": args.width, "depth": args.depth, "discriminator_width": args.width}
    config = with_overrides(load_config("gan-gn-maxout"), model=model)
    name = torch.cuda.get_device_name(device) if gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}")
    progress("counting the FLOPs of one step on one slice")
    flops = step_flops(config, make_batch(1, args.size, device), device) * batch_size
    batch = make_batch(batch_size, args.size, device)
    print(
        f"step: D + G + S (gan-gn-maxout), width {args.width}, depth {args.depth}, "
        f"{args.size}x{args.size}, batch {batch_size}, channels_last; "
        f"{flops / 1e9:.1f} GFLOP per step ({flops / batch_size / 1e9:.1f} per slice)"
    )
    header = f"{'precision':<10}{'compile':<14}{'s/step':>9}{'slices/s':>10}{'TFLOP/s':>9}"
    print(f"{header}{'peak':>8}{'ratio':>8}{'schedule':>12}{'vs off':>8}{'GPU GiB':>9}")
    for precision in args.precision:
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        size, repeats = (8192, 10) if gpu else (2048, 10)
        amp = dtype if precision == "bf16" else None
        # Peak before and after the steps, best of both: on a shared machine the load changes.
        progress(f"{precision}: matmul peak ({size}x{size})")
        peak = matmul_peak(device, dtype, size, repeats)
        timed = {
            mode: time_steps(config, batch, device, amp, warmup, steps, mode)
            for mode in args.compile
        }
        seconds = {mode: step for mode, (step, _) in timed.items()}
        peak = max(peak, matmul_peak(device, dtype, size, repeats))
        for mode, step in seconds.items():
            achieved, rate = flops / step, batch_size / step
            ratio = f"{seconds['off'] / step:>7.2f}x" if "off" in seconds else f"{'-':>8}"
            print(
                f"{precision:<10}{mode:<14}{step:>9.3f}{rate:>10.2f}{achieved / 1e12:>9.3f}"
                f"{peak / 1e12:>8.3f}{achieved / peak:>8.1%}{_duration(SCHEDULE_SLICES / rate):>12}"
                f"{ratio}{_gib(timed[mode][1]):>9}"
            )
    for processes in args.concurrent:
        amp = torch.bfloat16 if "bf16" in args.precision else None
        precision = "bf16" if amp is not None else "fp32"
        mode = args.compile[-1]
        progress(f"{processes} concurrent processes, {precision}, compile {mode}")
        rate = time_concurrent(processes, config, args.size, batch_size, device, amp, warmup,
                               steps, mode)  # fmt: skip
        achieved = flops / batch_size * rate
        print(
            f"{processes} processes sharing the device ({precision}, compile {mode}): "
            f"{rate:.2f} slices/s in all, {achieved / 1e12:.3f} TFLOP/s, {achieved / peak:.1%} of "
            f"the last peak; schedule {_duration(SCHEDULE_SLICES / rate)} with the folds concurrent"
        )
    print(f"schedule: {SCHEDULE_SLICES:,} slice-steps (700 epochs x 376 slices x 4 folds)")


def _gib(value: float) -> str:
    """``12.34`` GiB, or ``-`` for NaN (no GPU)."""
    return "-" if value != value else f"{value:.2f}"


def _duration(seconds: float) -> str:
    """``3.2 d``, ``4.5 h`` or ``12 min``."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


if __name__ == "__main__":
    main()
