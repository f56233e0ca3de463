#!/usr/bin/env python3
"""Reads checks.jsonl from run.sh and prints a Markdown table: tokens/s (median over rounds) of ModelDsl
and PyTorch per config and precision, their ratio, and MFU against the card's dense peak."""
import json
import statistics
import sys

# H200 (SXM) dense peaks in FLOP/s: bf16 and TF32 tensor cores, fp32 without them.
PEAK = {"bf16": 989e12, "tf32": 494e12, "float32": 67e12}

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
for r in rows:
    if r.get("check") in ("libtorch", "loss", "torch", "stop"):
        print(f"- {json.dumps(r)}")
by_key = {}
for r in rows:
    if r.get("check") == "throughput" and r.get("tokensPerSecond") and not r.get("error"):
        by_key.setdefault((r["config"], r["precision"], r["side"]), []).append(r)
print()
print("| config | precision | ModelDsl tokens/s | PyTorch tokens/s | ratio | ModelDsl MFU | PyTorch MFU |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for config in ("S", "M", "L", "XL"):
    for precision in ("float32", "tf32", "bf16"):
        ours, theirs = by_key.get((config, precision, "modeldsl")), by_key.get((config, precision, "pytorch"))
        if not ours and not theirs:
            continue
        def median(rs):
            return statistics.median(r["tokensPerSecond"] for r in rs) if rs else None
        def mfu(rs):
            return median(rs) * rs[0]["trainingFlopsPerToken"] / PEAK[precision] if rs else None
        a, b = median(ours), median(theirs)
        fmt = lambda x, f: f.format(x) if x is not None else "-"
        print(f"| {config} | {precision} | {fmt(a, '{:.0f}')} | {fmt(b, '{:.0f}')} | {fmt(a / b if a and b else None, '{:.2f}')} "
              f"| {fmt(mfu(ours), '{:.1%}')} | {fmt(mfu(theirs), '{:.1%}')} |")
errors = [r for r in rows if r.get("error")]
for r in errors:
    print(f"- error: {r['side']} {r['config']} {r['precision']}: {r['error']}")
