#!/usr/bin/env bash
# Op-level profile of one training step, ModelDsl against PyTorch eager: each part of the Llama step
# (embedding, RMSNorm, projections, RoPE, SDPA, SwiGLU, residual adds, final norm, head, loss) timed
# alone with the shapes, strides and values it has in the model, forward and forward + backward, on
# both sides (ModelDsl.TrainerBench --components and torch_components.py), alternating the two
# programs round by round. Prints one table: the median over rounds of each side's per-part medians,
# the speed ratio (PyTorch ms / ModelDsl ms: above 1, ModelDsl is faster), each part's ms per step
# (times its count per step), its share of ModelDsl's forward + backward, and its contribution to the
# gap; then the per-module forward breakdown of whole steps, the resident set at four points, and
# torch.profiler's top ops of one PyTorch step (the first round's).
# Usage: bench/trainer/components.sh [rounds (default 5)] [reps per part (default 10)]
#   CONFIG=S (default) or M; THREADS=2 (default); PEER_PY=... to override the PyTorch runner;
#   CLOCK=wall (default) or cpu: the calling thread's CPU time, which with THREADS=1 measures an op's
#   work even on a loaded host (wall time there measures the load).
#   Both programs inherit glibc's malloc tunables: MALLOC_MMAP_THRESHOLD_=268435456
#   MALLOC_TRIM_THRESHOLD_=1073741824 keeps freed tensor buffers in malloc instead of returning them
#   to the system, so that new tensors do not page-fault; run once with and once without to see
#   what page faults cost each side.
# Runtime on a quiet 2-core host with the defaults: about 6-8 minutes (~40 s per side per round at S).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rounds=${1:-5}
reps=${2:-10}
config=${CONFIG:-S}
threads=${THREADS:-2}
clock=${CLOCK:-wall}
peer=${PEER_PY:-/work/shared/peer-pytorch/py.sh}
cd "$root"
dotnet build bench/ModelDsl.TrainerBench -c Release -nologo -v q >/dev/null
bench=bench/ModelDsl.TrainerBench/bin/Release/net10.0/ModelDsl.TrainerBench.dll
results=$(mktemp)
profile=$(mktemp)
trap 'rm -f "$results" "$profile"' EXIT
for round in $(seq "$rounds"); do
  echo "round $round/$rounds: ModelDsl ..." >&2
  dotnet "$bench" --components "$config" --reps "$reps" --threads "$threads" --clock "$clock" | grep '^{' >>"$results"
  echo "round $round/$rounds: PyTorch ..." >&2
  extra=()
  [ "$round" -eq 1 ] && extra=(--profile "$profile")
  "$peer" bench/trainer/torch_components.py --config "$config" --reps "$reps" --threads "$threads" --clock "$clock" "${extra[@]}" | grep '^{' >>"$results"
done
python3 - "$results" "$rounds" "$reps" "$threads" "$config" "$clock" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
rounds, reps, threads, config, clock = sys.argv[2:7]
med = statistics.median
SIDES = ("modeldsl", "pytorch-eager")

def of(kind, impl):
    out = {}
    for r in rows:
        if r["Kind"] == kind and r["Impl"] == impl:
            out.setdefault(r["Name"], []).append(r)
    return out

parts = {impl: of("component", impl) for impl in SIDES}
names = list(parts["modeldsl"])
def ms(impl, name, key): return med([r[key] for r in parts[impl][name]])
count = {name: parts["modeldsl"][name][0]["Count"] for name in names}
whole = ms("modeldsl", "whole: model+loss", "ForwardBackwardMs")

print(f"Component profile, config {config}, fp32, {threads} threads, {clock} clock: median over {rounds} alternating rounds of per-part medians "
      f"of {reps} repetitions; speed = PyTorch ms / ModelDsl ms (above 1: ModelDsl faster)")
print()
header = (f"{'component':<22} {'n':>2} {'MD fwd':>8} {'PT fwd':>8} {'speed':>6} {'MD f+b':>8} {'PT f+b':>8} {'speed':>6} "
          f"{'MD ms/step':>10} {'PT ms/step':>10} {'share MD':>8} {'gap ms/step':>11}")
print(header)
print("-" * len(header))
sums = {"md_f": 0.0, "pt_f": 0.0, "md_b": 0.0, "pt_b": 0.0}
def row(label, n, md_f, pt_f, md_b, pt_b, per_step=True):
    k = n if per_step else 1
    print(f"{label:<22} {n:>2} {md_f:>8.2f} {pt_f:>8.2f} {pt_f / md_f:>5.2f}x {md_b:>8.2f} {pt_b:>8.2f} {pt_b / md_b:>5.2f}x "
          f"{k * md_b:>10.1f} {k * pt_b:>10.1f} {100 * k * md_b / whole:>7.1f}% {k * (md_b - pt_b):>+11.1f}")
for name in names:
    if name.startswith("whole:"):
        continue
    values = [ms(impl, name, key) for key in ("ForwardMs", "ForwardBackwardMs") for impl in SIDES]
    row(name, count[name], values[0], values[1], values[2], values[3])
    n = count[name]
    sums["md_f"] += n * values[0]; sums["pt_f"] += n * values[1]; sums["md_b"] += n * values[2]; sums["pt_b"] += n * values[3]
print("-" * len(header))
row("sum of parts x n", 1, sums["md_f"], sums["pt_f"], sums["md_b"], sums["pt_b"])
for name in names:
    if name.startswith("whole:"):
        values = [ms(impl, name, key) for key in ("ForwardMs", "ForwardBackwardMs") for impl in SIDES]
        row(name, count[name], values[0], values[1], values[2], values[3])
print()
print("share MD = n x ModelDsl f+b / ModelDsl's whole model+loss f+b; gap = n x (ModelDsl f+b - PyTorch f+b), ms per step")
print("(positive: ModelDsl slower). Parts are timed as leaves, so the sum need not equal the whole.")

steps = {impl: of("step", impl) for impl in SIDES}
print()
print("Per-module forward time inside whole steps (forward with autograd, loss, backward; summed over layers), ms:")
print(f"{'module':<20} {'ModelDsl':>9} {'PyTorch':>9} {'speed':>6}")
for name in steps["modeldsl"]:
    md = med([r["Ms"] for r in steps["modeldsl"][name]])
    pt = med([r["Ms"] for r in steps["pytorch-eager"][name]])
    print(f"{name:<20} {md:>9.1f} {pt:>9.1f} {pt / md:>5.2f}x")

print()
print("Rise of the resident set over a forward + backward (VmHWM minus VmRSS before it, after malloc_trim), MiB:")
for impl in SIDES:
    for name, values in of("peak", impl).items():
        print(f"  {impl:<14} {name:<22} {med([r['MiB'] for r in values]):>7.0f}")

print()
print("Resident set, MiB (median over rounds): RSS = anon (heaps: tensors, allocator caches) + file (mapped libraries);")
print("peak = VmHWM so far; malloc used/free = glibc mallinfo2 (allocated chunks incl. mmapped / freed bytes kept); GC = .NET committed")
keys = [("VmRSS", "RSS"), ("RssAnon", "anon"), ("RssFile", "file"), ("VmHWM", "peak"), ("MallocInUse", "m.used"), ("MallocFree", "m.free")]
print(f"{'':<8} " + " ".join(f"{'MD ' + label:>9}" for _, label in keys) + f" {'MD GC':>6}   " + " ".join(f"{'PT ' + label:>9}" for _, label in keys))
memory = {impl: [r["Memory"] for r in rows if r["Kind"] == "memory" and r["Impl"] == impl] for impl in SIDES}
for point in ("start", "runtime", "model", "step1", "end", "trimmed"):
    def m(impl, key):
        values = [r[point][key] for r in memory[impl] if point in r and key in r[point]]
        return med(values) if values else float("nan")
    print(f"{point:<8} " + " ".join(f"{m('modeldsl', key):>9.0f}" for key, _ in keys) + f" {m('modeldsl', 'GcCommitted'):>6.0f}   "
          + " ".join(f"{m('pytorch-eager', key):>9.0f}" for key, _ in keys))
print("start: the runtime alone (.NET / the interpreter); runtime: libtorch and its BLAS loaded; model: built; step1: after")
print("one forward + backward; end: after every timing; trimmed: after malloc_trim(0).")
PY
echo
cat "$profile"
