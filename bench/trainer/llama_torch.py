"""ModelDsl's Llama decoder as PyTorch-eager modules, shared by torch_trainer.py and torch_components.py.

Fused qkv, RoPE (rotate-half, theta 1e4), causal SDPA, fused gate/up SwiGLU with Llama's hidden
size, RMSNorm (eps 1e-6), untied head; init N(0, 0.02) with the residual output projections scaled
by 1/sqrt(2 layers). Import it after the thread variables are set (it imports torch).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

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
    def __init__(self, width, heads):
        super().__init__()
        self.width, self.heads, self.head_dim = width, heads, width // heads
        self.attention_norm = RmsNorm(width)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.output = nn.Linear(width, width, bias=False)
        self.feed_forward_norm = RmsNorm(width)
        self.gate_up = nn.Linear(width, 2 * llama_hidden(width), bias=False)
        self.down = nn.Linear(llama_hidden(width), width, bias=False)

    # The block's steps as separate methods, so that torch_components.py times exactly these.
    def heads_of(self, x):
        b, t, _ = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv.unbind(0)

    def merge_heads(self, y):
        b, _, t, _ = y.shape
        return self.output(y.transpose(1, 2).reshape(b, t, self.width))

    def attention(self, x, cos, sin):
        q, k, v = self.heads_of(x)
        y = F.scaled_dot_product_attention(rotate(q, cos, sin), rotate(k, cos, sin), v, is_causal=True)
        return self.merge_heads(y)

    @staticmethod
    def swiglu(gate_up):
        gate, up = gate_up.chunk(2, dim=-1)
        return F.silu(gate) * up

    def feed_forward(self, x):
        return self.down(self.swiglu(self.gate_up(x)))

    def forward(self, x, cos, sin):
        x = x + self.attention(self.attention_norm(x), cos, sin)
        return x + self.feed_forward(self.feed_forward_norm(x))


class Model(nn.Module):
    def __init__(self, vocab, width, layers, heads, seq):
        super().__init__()
        self.embedding = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.final_norm = RmsNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        cos, sin = rotary_tables(seq, width // heads)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        residual_std = 0.02 / math.sqrt(2 * layers)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=residual_std if name.endswith(("output.weight", "down.weight")) else 0.02)

    def forward(self, tokens):
        x = self.embedding(tokens)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        return self.head(self.final_norm(x))

