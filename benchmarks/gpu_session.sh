#!/usr/bin/env bash
# Issue 16's GPU measurements in one call of a lent GPU machine (about 8 minutes of device time).
#
# The machine has torch + CUDA but not nibabel; carry it as a wheel. Here, once:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux2014_x86_64 -d .whl nibabel==5.3.2
# Then run `bash benchmarks/gpu_session.sh` there with `.whl` carried and timeout_s 600; the
# logs come back from $OUT. Dry run on CPU: `DEVICE=cpu QUICK=1 bash benchmarks/gpu_session.sh`.
# Every step has its own time limit, so a slow one still leaves the others their turn; each
# log holds what was printed before a kill (the benchmarks print line by line).
set -u
OUT=${OUT:-gpu-out}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"
if ls .whl/*.whl > /dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
PYTHON=${PYTHON:-python3}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1;
  $PYTHON -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"; } \
    > "$OUT/device.txt" 2>&1

if [ -n "${QUICK:-}" ]; then  # the CPU dry run: tiny sizes, the same steps
    TRAIN=(--batch 1 --size 64 --width 8 --depth 3 --steps 2 --warmup 1)
    INFER=(--quick)
else
    TRAIN=(--batch 6)
    INFER=()
fi

# 1. the training step: eager and compiled, fp32 and bf16, against the same-run matmul peak.
timeout 240 $PYTHON benchmarks/training.py --device "$DEVICE" "${TRAIN[@]}" \
    --compile off default max-autotune > "$OUT/training.log" 2>&1
echo "training: exit $?" >> "$OUT/device.txt"
# 2. folds trained concurrently: 2 and 4 processes sharing the GPU, bf16, eager.
timeout 120 $PYTHON benchmarks/training.py --device "$DEVICE" "${TRAIN[@]}" --precision bf16 \
    --compile off --concurrent 2 4 > "$OUT/concurrent.log" 2>&1
echo "concurrent: exit $?" >> "$OUT/device.txt"
# 3. inference: the batched Predictor path, eager and compiled, at width 64.
timeout 150 $PYTHON benchmarks/inference.py --device "$DEVICE" --sections gpu "${INFER[@]}" \
    --compile default max-autotune > "$OUT/inference.log" 2>&1
echo "inference: exit $?" >> "$OUT/device.txt"
cat "$OUT/device.txt"
