#!/usr/bin/env python3
"""PyTorch eager on the same card: the configs of ModelDsl.GpuBench, one JSON object per line.

Model (matching ModelDsl's Llama stack): token embedding; per layer x + Attn(RMSNorm(x)) and
x + SwiGLU(RMSNorm(x)); final RMSNorm; untied head. Attention: fused qkv (no bias), RoPE on q and k,
causal scaled_dot_product_attention, output projection. SwiGLU hidden = ceil(8/3 D / 64) * 64.
Init N(0, 0.02). One timed step = forward + cross-entropy + backward + clip_grad_norm(1.0) + AdamW
(lr 3e-4, weight decay 0.1) + zero_grad. Precisions: float32; tf32 (TF32 matmuls); bf16 (autocast
to bfloat16 over fp32 weights, the usual mixed precision).
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {  # name: (vocab, width, layers, heads, sequence, batch), as in bench/ModelDsl.GpuBench
    "S": (4096, 256, 4, 4, 256, 8),
    "M": (4096, 512, 8, 8, 512, 4),
    "L": (4096, 1024, 16, 16, 1024, 8),
    "XL": (4096, 2048, 24, 16, 1024, 8),
}


class RMSNorm(nn.Module):
    def __init__(self, width, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x):
        wide = x.float()
        return (wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_tables(sequence, head_dim, device, theta=10000.0):
    inverse = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim)
    angles = torch.outer(torch.arange(sequence, device=device).float(), inverse)
    return angles.cos(), angles.sin()


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        hidden = math.ceil(8 * width / 3 / 64) * 64
        self.attention_norm = RMSNorm(width)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.out = nn.Linear(width, width, bias=False)
        self.feed_forward_norm = RMSNorm(width)
        self.gate_up = nn.Linear(width, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        q, k, v = self.qkv(self.attention_norm(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(y.transpose(1, 2).reshape(b, t, d))
        gate, up = self.gate_up(self.feed_forward_norm(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(gate) * up)


class Llama(nn.Module):
    def __init__(self, vocab, width, layers, heads):
        super().__init__()
        self.embedding = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.norm = RMSNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.heads = heads
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens):
        x = self.embedding(tokens)
        cos, sin = rope_tables(tokens.shape[1], x.shape[-1] // self.heads, tokens.device)
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.head(self.norm(x))


def flops_per_token(model, vocab, width, layers, sequence):
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embedding"))
    return 6 * matmul + layers * 12 * sequence * width


def bench(name, precision, steps, device):
    vocab, width, layers, heads, sequence, batch = CONFIGS[name]
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    torch.manual_seed(0)
    model = Llama(vocab, width, layers, heads).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    tokens = torch.randint(0, vocab, (batch, sequence + 1), device=device)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(inputs)
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    median = statistics.median(times[2:])
    record = {
        "check": "throughput", "side": "pytorch", "config": name, "precision": precision, "device": device,
        "parameters": sum(p.numel() for p in model.parameters()), "sequence": sequence, "batch": batch,
        "steps": steps, "medianStepSeconds": median, "tokensPerSecond": batch * sequence / median,
        "trainingFlopsPerToken": flops_per_token(model, vocab, width, layers, sequence),
        "peakMemoryBytes": torch.cuda.max_memory_allocated() if device.startswith("cuda") else None,
        "finalLoss": loss.item(),
    }
    del model, optimizer
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="S,M,L")
    parser.add_argument("--precisions", default="float32,tf32,bf16")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    print(json.dumps({"check": "torch", "version": torch.__version__, "cuda": torch.version.cuda,
                      "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"}), flush=True)
    for name in args.configs.split(","):
        for precision in args.precisions.split(","):
            try:
                print(json.dumps(bench(name, precision, args.steps, args.device)), flush=True)
            except Exception as e:  # report and go on: one config out of memory must not lose the others
                print(json.dumps({"check": "throughput", "side": "pytorch", "config": name, "precision": precision,
                                  "error": f"{type(e).__name__}: {e}"}), flush=True)
