#!/usr/bin/env bash
# ModelDsl's Trainer.Run against a PyTorch-eager loop doing the same work per step (torch_trainer.py),
# on the S and M configs, alternating the two programs round by round so that drifting load on the
# host hits both alike. Prints the median over rounds of each side's median step time, tokens/s, the
# ratio ModelDsl / PyTorch in tokens/s, peak RSS, and ModelDsl's per-step phase breakdown.
# Usage: bench/trainer/compare.sh [rounds (default 3)] [steps (default 15)] [configs (default "S M")]
# Runtime on a quiet 2-core host: about 8 minutes with the defaults (M dominates: ~2 s a step).
# PyTorch: /work/shared/peer-pytorch/py.sh (torch 2.6, OpenBLAS); override with PEER_PY=... .
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rounds=${1:-3}
steps=${2:-15}
configs=${3:-S M}
threads=${THREADS:-2}
peer=${PEER_PY:-/work/shared/peer-pytorch/py.sh}
cd "$root"
dotnet build bench/ModelDsl.TrainerBench -c Release -nologo -v q >/dev/null
bench=bench/ModelDsl.TrainerBench/bin/Release/net10.0/ModelDsl.TrainerBench.dll
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for config in $configs; do
    echo "round $round/$rounds, $config: ModelDsl ..." >&2
    dotnet "$bench" --child "$config" --steps "$steps" --threads "$threads" | tail -n 1 >>"$results"
    echo "round $round/$rounds, $config: PyTorch ..." >&2
    "$peer" bench/trainer/torch_trainer.py --config "$config" --steps "$steps" --threads "$threads" | tail -n 1 >>"$results"
  done
done
python3 - "$results" "$rounds" "$steps" "$threads" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
rounds, steps, threads = sys.argv[2], sys.argv[3], sys.argv[4]
def med(values): return statistics.median(values)
print(f"Trainer path vs PyTorch eager: {rounds} alternating rounds, {steps} steps each (median of steps 3..{steps}), {threads} threads, fp32")
print()
print(f"{'config':<6} {'ModelDsl ms':>11} {'PyTorch ms':>10} {'ModelDsl tok/s':>14} {'PyTorch tok/s':>13} {'ratio':>6} {'ModelDsl RSS MiB':>16} {'PyTorch RSS MiB':>15}  rounds (ratio)")
configs = list(dict.fromkeys(r["Config"] for r in rows))
for c in configs:
    ours = [r for r in rows if r["Config"] == c and r["Impl"] == "modeldsl-trainer"]
    theirs = [r for r in rows if r["Config"] == c and r["Impl"] == "pytorch-eager"]
    o_ms, t_ms = med([r["StepSeconds"] for r in ours]) * 1e3, med([r["StepSeconds"] for r in theirs]) * 1e3
    o_tps, t_tps = med([r["TokensPerSecond"] for r in ours]), med([r["TokensPerSecond"] for r in theirs])
    per_round = " ".join(f"{a['TokensPerSecond'] / b['TokensPerSecond']:.2f}" for a, b in zip(ours, theirs))
    print(f"{c:<6} {o_ms:>11.1f} {t_ms:>10.1f} {o_tps:>14.0f} {t_tps:>13.0f} {o_tps / t_tps:>5.2f}x "
          f"{med([r['PeakRssMiB'] for r in ours]):>16.0f} {med([r['PeakRssMiB'] for r in theirs]):>15.0f}  {per_round}")
print()
print("ModelDsl step breakdown (median over rounds of the per-step medians, ms; overhead = step minus the phases):")
print(f"{'config':<6} {'step':>8} {'fwd+loss':>9} {'backward':>9} {'norm':>7} {'clip':>7} {'optim':>7} {'zero':>7} {'overhead':>9} {'(batch)':>8} {'overhead %':>10}")
for c in configs:
    ours = [r for r in rows if r["Config"] == c and r["Impl"] == "modeldsl-trainer"]
    m = {k: med([r[k] for r in ours]) * 1e3 for k in ("StepSeconds", "ForwardLossSeconds", "BackwardSeconds", "GradientNormSeconds",
                                                     "ClipSeconds", "OptimizerSeconds", "ZeroGradSeconds", "OverheadSeconds", "BatchSeconds")}
    print(f"{c:<6} {m['StepSeconds']:>8.1f} {m['ForwardLossSeconds']:>9.1f} {m['BackwardSeconds']:>9.1f} {m['GradientNormSeconds']:>7.1f} "
          f"{m['ClipSeconds']:>7.1f} {m['OptimizerSeconds']:>7.1f} {m['ZeroGradSeconds']:>7.1f} {m['OverheadSeconds']:>9.2f} {m['BatchSeconds']:>8.2f} "
          f"{100 * m['OverheadSeconds'] / m['StepSeconds']:>9.2f}%")
print()
print("Resident set by point, MiB (median over rounds): RSS (anon + file), anon, glibc malloc in use / kept free (mallinfo2)")
print(f"{'config':<6} {'point':<8} {'MD RSS':>7} {'MD anon':>8} {'MD file':>8} {'MD m.used':>9} {'MD m.free':>9}   {'PT RSS':>7} {'PT anon':>8} {'PT file':>8} {'PT m.used':>9} {'PT m.free':>9}")
for c in configs:
    sides = [[r["Memory"] for r in rows if r["Config"] == c and r["Impl"] == impl and "Memory" in r] for impl in ("modeldsl-trainer", "pytorch-eager")]
    for point in ("start", "runtime", "model", "step1", "last"):
        cells = []
        for side in sides:
            for key in ("VmRSS", "RssAnon", "RssFile", "MallocInUse", "MallocFree"):
                values = [m[point][key] for m in side if point in m and key in m[point]]
                cells.append(med(values) if values else float("nan"))
        print(f"{c:<6} {point:<8} {cells[0]:>7.0f} {cells[1]:>8.0f} {cells[2]:>8.0f} {cells[3]:>9.0f} {cells[4]:>9.0f}   "
              f"{cells[5]:>7.0f} {cells[6]:>8.0f} {cells[7]:>8.0f} {cells[8]:>9.0f} {cells[9]:>9.0f}")
print("start: the runtime alone (.NET / the interpreter); runtime: torch and its BLAS loaded; model: built (PyTorch: with")
print("the optimizer); step1 and last: after the first and the last step. Peak RSS (above) is VmHWM at the end.")
PY
