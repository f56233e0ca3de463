#!/usr/bin/env python3
"""PyTorch-eager CPU training loop doing the work of one ModelDsl Trainer.Run step, for comparison.

Per step, as ModelDsl's trainer does it: a batch of random windows of a token stream (inputs and
next-token targets), forward, cross-entropy over the vocabulary, backward, the global gradient norm
clipped to 1.0 (clip_grad_norm_), AdamW (lr 1e-3 under warmup-cosine, betas 0.9/0.95, eps 1e-8,
weight decay 0.1 on the block matrices and the head only), zero_grad, the loss read back with
.item() and one metrics line (loss, lr, grad norm, tokens/s, elapsed) appended and flushed to a
JSON-lines file. The model is ModelDsl's Llama block (llama_torch.py): fused qkv, RoPE (rotate-half,
theta 1e4), causal SDPA, fused gate/up SwiGLU with Llama's hidden size, RMSNorm (eps 1e-6), untied
head; init N(0, 0.02) with the residual output projections scaled by 1/sqrt(2 layers). fp32.
Prints one JSON line: the median step time over steps 3..N, tokens/s from it, the peak RSS, and the
resident set before torch is loaded, after, with the model and optimizer built, after step 1 and
after the last step.
Run with /work/shared/peer-pytorch/py.sh (torch 2.6, OpenBLAS).
"""
import argparse
import json
import math
import os
import statistics
import tempfile
import time

from proc_memory import memory_mib

memory_start = memory_mib()  # the interpreter alone, before torch is loaded

CONFIGS = {  # width, layers, heads, seq, batch
    "S": (256, 4, 4, 256, 8),
    "M": (512, 8, 8, 512, 4),
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--config", choices=sorted(CONFIGS), default="S")
parser.add_argument("--steps", type=int, default=15, help="steps run; steps 1 and 2 are warm-up")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--vocab", type=int, default=4096)
args = parser.parse_args()
if args.steps < 4:
    parser.error("--steps must be at least 4")

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = str(args.threads)

import torch  # noqa: E402  (after the thread variables)
import torch.nn.functional as F  # noqa: E402

from llama_torch import Model  # noqa: E402

torch.set_num_threads(args.threads)
torch.ones(8, 8).mm(torch.ones(8, 8))  # load the BLAS too, so that the baseline below holds every library
memory_torch = memory_mib()
torch.manual_seed(1)
WIDTH, LAYERS, HEADS, SEQ, BATCH = CONFIGS[args.config]
VOCAB = args.vocab


def warmup_cosine(step, total, warmup_fraction=0.05, min_ratio=0.0):
    warmup = max(1, round(warmup_fraction * total))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


model = Model(VOCAB, WIDTH, LAYERS, HEADS, SEQ)
model.train()
decayed = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embedding")]
undecayed = [p for n, p in model.named_parameters() if not (p.dim() == 2 and not n.startswith("embedding"))]
LR = 1e-3
optimizer = torch.optim.AdamW([{"params": decayed, "weight_decay": 0.1}, {"params": undecayed, "weight_decay": 0.0}],
                              lr=LR, betas=(0.9, 0.95), eps=1e-8)
memory_model = memory_mib()  # (AdamW allocates its moments in step 1)
# A random byte stream of 4 MiB, as the ModelDsl side's corpus; windows of SEQ + 1 at random offsets.
stream = torch.randint(0, 256, (4 << 20,), dtype=torch.int64, generator=torch.Generator().manual_seed(7))
draws = torch.Generator().manual_seed(11)
tokens_per_step = BATCH * SEQ
total_steps = args.steps + 1

with tempfile.TemporaryDirectory(prefix="torch-trainer-") as folder, open(os.path.join(folder, "metrics.jsonl"), "w") as metrics:
    times, losses = [], []
    clock = time.perf_counter()
    for step in range(args.steps):
        start = time.perf_counter()
        multiplier = warmup_cosine(step, total_steps)
        for group in optimizer.param_groups:
            group["lr"] = LR * multiplier
        starts = torch.randint(0, stream.numel() - SEQ - 1, (BATCH,), generator=draws).tolist()
        windows = torch.stack([stream[s:s + SEQ + 1] for s in starts])
        inputs, targets = windows[:, :-1], windows[:, 1:]
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = loss.item()
        losses.append(loss_value)
        elapsed = time.perf_counter() - clock
        metrics.write(json.dumps({"event": "train", "step": step + 1, "loss": loss_value, "lr": LR * multiplier,
                                  "gradNorm": grad_norm.item(), "tokensPerSecond": (step + 1) * tokens_per_step / elapsed,
                                  "elapsedSeconds": elapsed}) + "\n")
        metrics.flush()
        times.append(time.perf_counter() - start)
        if step == 0:
            memory_step1 = memory_mib()
memory_last = memory_mib()

measured = times[2:]
step_seconds = statistics.median(measured)
print(json.dumps({
    "Impl": "pytorch-eager", "Torch": torch.__version__, "Threads": torch.get_num_threads(), "Config": args.config,
    "Parameters": sum(p.numel() for p in model.parameters()), "TokensPerStep": tokens_per_step, "MeasuredSteps": len(measured),
    "StepSeconds": step_seconds, "TokensPerSecond": tokens_per_step / step_seconds, "PeakRssMiB": memory_mib()["VmHWM"],
    # Resident set at five points: the interpreter alone, torch loaded, model and optimizer built,
    # after step 1, after the last step; for attributing the peak.
    "Memory": {"start": memory_start, "runtime": memory_torch, "model": memory_model, "step1": memory_step1, "last": memory_last},
    "LossFirst": losses[0], "LossLast": losses[-1],
}))
