#!/usr/bin/env bash
# Where the CPU time of S training steps goes, by native function, on both sides: perf samples
# (cpu-clock) of ModelDsl.TrainerBench --child and of torch_trainer.py over the same steps, reported
# as the top symbols with their library (sgemm kernels, elementwise loops, the allocator, ...).
# Usage: bench/trainer/perf_symbols.sh [steps (default 10)] [top (default 25)]
# Needs perf (linux-perf) and root or perf_event_paranoid <= 1. About 1 minute on a quiet host.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
steps=${1:-10}
top=${2:-25}
config=${CONFIG:-S}
threads=${THREADS:-2}
peer=${PEER_PY:-/work/shared/peer-pytorch/py.sh}
cd "$root"
dotnet build bench/ModelDsl.TrainerBench -c Release -nologo -v q >/dev/null
bench=bench/ModelDsl.TrainerBench/bin/Release/net10.0/ModelDsl.TrainerBench.dll
folder=$(mktemp -d)
trap 'rm -rf "$folder"' EXIT
perf record -q -e cpu-clock -F 997 -o "$folder/modeldsl.data" -- dotnet "$bench" --child "$config" --steps "$steps" --threads "$threads" >/dev/null
perf record -q -e cpu-clock -F 997 -o "$folder/pytorch.data" -- "$peer" bench/trainer/torch_trainer.py --config "$config" --steps "$steps" --threads "$threads" >/dev/null
for side in modeldsl pytorch; do
  echo "== $side: top $top symbols by samples ($config, $steps steps incl. startup, $threads threads) =="
  perf report -i "$folder/$side.data" --stdio --sort dso,sym 2>/dev/null >"$folder/$side.txt"
  grep -v '^#' "$folder/$side.txt" | grep -v '^$' | head -n "$top" | cut -c1-160 || true
  echo
done
