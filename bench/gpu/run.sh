#!/usr/bin/env bash
# On the GPU machine (no .NET, a CUDA PyTorch): unpack the publish made by pack.sh, point ModelDsl at
# PyTorch's libtorch, check the native shim links against it, then measure ModelDsl and PyTorch on the
# same card, alternating. Everything goes to $OUT (default ./gpu-out): checks.jsonl, symbols.txt, logs.
#   bench/gpu/run.sh [--configs S,M,L] [--steps 12] [--rounds 2]
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$PWD/gpu-out}
configs=S,M,L steps=12 rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --configs) configs=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/run.log"; }

python=${PYTHON:-python3}
torch_lib=$($python -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') || {
  log "no PyTorch for $python"; exit 1; }
log "torch/lib: $torch_lib"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia-smi.csv" 2>&1 || true

work=$(mktemp -d)
tar -C "$work" -xJf "$here/dist/gpubench.tar.xz"
bench="$work/gpubench"

# 1. Does TorchSharp's shim (built against libtorch 2.10) link against this libtorch? Unresolved symbols, demangled.
cuda_libs=$(find "$($python -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')/nvidia" -name lib -type d 2>/dev/null | tr '\n' ':')
LD_LIBRARY_PATH="$torch_lib:$cuda_libs" ldd -r "$bench/libLibTorchSharp.so" > "$OUT/ldd.txt" 2>&1
grep "undefined symbol" "$OUT/ldd.txt" | awk '{print $3}' | c++filt > "$OUT/symbols.txt"
log "shim symbols unresolved against this libtorch: $(wc -l < "$OUT/symbols.txt") (list in symbols.txt)"

# 2. Alternate the two programs over rounds; each writes JSON lines.
export MODELDSL_LIBTORCH="$torch_lib"
export LD_LIBRARY_PATH="$torch_lib:$cuda_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for round in $(seq 1 "$rounds"); do
  log "round $round: ModelDsl"
  "$bench/ModelDsl.GpuBench" --device cuda --configs "$configs" --precisions float32,tf32 --steps "$steps" --work "$work/w" \
    2> "$OUT/modeldsl-$round.err" | tee -a "$OUT/checks.jsonl"
  log "round $round: PyTorch"
  $python "$here/torch_bench.py" --configs "$configs" --precisions float32,tf32,bf16 --steps "$steps" \
    2> "$OUT/pytorch-$round.err" | tee -a "$OUT/checks.jsonl"
done
$python "$here/summarize.py" "$OUT/checks.jsonl" | tee "$OUT/summary.md"
