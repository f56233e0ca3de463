#!/usr/bin/env python3
"""PyTorch-eager CPU training loop doing the work of one ModelDsl Trainer.Run step, for comparison.

Per step, as ModelDsl's trainer does it: a batch of random windows of a token stream (inputs and
next-token targets), forward, cross-entropy over the vocabulary, backward, the global gradient norm
clipped to 1.0 (clip_grad_norm_), AdamW (lr 1e-3 under warmup-cosine, betas 0.9/0.95, eps 1e-8,
weight decay 0.1 on the block matrices and the head only), zero_grad, the loss read back with
.item() and one metrics line (loss, lr, grad norm, tokens/s, elapsed) appended and flushed to a
JSON-lines file. The model is ModelDsl's Llama block: fused qkv, RoPE (rotate-half, theta 1e4),
causal SDPA, fused gate/up SwiGLU with Llama's hidden size, RMSNorm (eps 1e-6), untied head; init
N(0, 0.02) with the residual output projections scaled by 1/sqrt(2 layers). fp32.
Prints one JSON line: the median step time over steps 3..N, tokens/s from it, and the peak RSS.
Run with /work/shared/peer-pytorch/py.sh (torch 2.6, OpenBLAS).
"""
import argparse
import json
import math
import os
import statistics
import tempfile
import time

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
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(1)
WIDTH, LAYERS, HEADS, SEQ, BATCH = CONFIGS[args.config]
VOCAB = args.vocab


def llama_hidden(width):
    return 64 * math.ceil(8 * width / 3 / 64)


class RmsNorm(nn.Module):
    def __init__(self, width, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x):
        return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + self.eps) * self.weight


def rotary_tables(length, head_dim, theta=10000.0):
    frequencies = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(length, dtype=torch.float32), frequencies)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def rotate(x, cos, sin):
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-second, first], dim=-1) * sin


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.head_dim = WIDTH // HEADS
        self.attention_norm = RmsNorm(WIDTH)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH, bias=False)
        self.output = nn.Linear(WIDTH, WIDTH, bias=False)
        self.feed_forward_norm = RmsNorm(WIDTH)
        self.gate_up = nn.Linear(WIDTH, 2 * llama_hidden(WIDTH), bias=False)
        self.down = nn.Linear(llama_hidden(WIDTH), WIDTH, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        qkv = self.qkv(self.attention_norm(x)).view(b, t, 3, HEADS, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        y = F.scaled_dot_product_attention(rotate(q, cos, sin), rotate(k, cos, sin), v, is_causal=True)
        x = x + self.output(y.transpose(1, 2).reshape(b, t, WIDTH))
        gate, up = self.gate_up(self.feed_forward_norm(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(gate) * up)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, WIDTH)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.final_norm = RmsNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB, bias=False)
        cos, sin = rotary_tables(SEQ, WIDTH // HEADS)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        residual_std = 0.02 / math.sqrt(2 * LAYERS)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=residual_std if name.endswith(("output.weight", "down.weight")) else 0.02)

    def forward(self, tokens):
        x = self.embedding(tokens)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        return self.head(self.final_norm(x))


def peak_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def warmup_cosine(step, total, warmup_fraction=0.05, min_ratio=0.0):
    warmup = max(1, round(warmup_fraction * total))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


model = Model()
model.train()
decayed = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embedding")]
undecayed = [p for n, p in model.named_parameters() if not (p.dim() == 2 and not n.startswith("embedding"))]
LR = 1e-3
optimizer = torch.optim.AdamW([{"params": decayed, "weight_decay": 0.1}, {"params": undecayed, "weight_decay": 0.0}],
                              lr=LR, betas=(0.9, 0.95), eps=1e-8)
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

measured = times[2:]
step_seconds = statistics.median(measured)
print(json.dumps({
    "Impl": "pytorch-eager", "Torch": torch.__version__, "Threads": torch.get_num_threads(), "Config": args.config,
    "Parameters": sum(p.numel() for p in model.parameters()), "TokensPerStep": tokens_per_step, "MeasuredSteps": len(measured),
    "StepSeconds": step_seconds, "TokensPerSecond": tokens_per_step / step_seconds, "PeakRssMiB": peak_rss_mib(),
    "LossFirst": losses[0], "LossLast": losses[-1],
}))
