"""Independent check of `modeldsl export --format hf`: a plain-PyTorch Llama written from Hugging Face's
conventions (not from this project's code) runs the exported weights and compares its logits with ours.

    python3 check_llama.py DIR [DIR ...] [--safetensors-path PATH] [--tolerance 1e-5]

Each DIR holds config.json and model.safetensors (the export) and logits.safetensors with "tokens"
(int64 [B, T]) and "logits" ([B, T, vocab], our forward pass); export_check_models.fsx writes such
directories. Weights are read with the reference safetensors implementation. Exit code 0 when every
directory agrees within the tolerance (max absolute difference of the logits).
"""
import argparse
import json
import math
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("dirs", nargs="+")
parser.add_argument("--safetensors-path", default=None)
parser.add_argument("--tolerance", type=float, default=1e-5)
args = parser.parse_args()
if args.safetensors_path:
    sys.path.insert(0, args.safetensors_path)

import torch
from safetensors.torch import load_file


def rms_norm(x, weight, eps):
    # LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) computed in float32 (or wider), then scaled by the gain w.
    wide = x.to(torch.float64) if x.dtype == torch.float64 else x.to(torch.float32)
    normalized = wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + eps)
    return weight * normalized.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_tables(length, head_dim, theta, dtype):
    # LlamaRotaryEmbedding (default rope type): inv_freq_i = theta^(-2i/d), emb = cat(freqs, freqs).
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float64) / head_dim))
    freqs = torch.arange(length, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def linear(x, weights, name, bias):
    return torch.nn.functional.linear(x, weights[name + ".weight"], weights.get(name + ".bias") if bias else None)


def llama_logits(config, weights, tokens):
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    head_dim = config.get("head_dim") or hidden // heads
    eps, theta = config["rms_norm_eps"], config["rope_theta"]
    attention_bias, mlp_bias = config.get("attention_bias", False), config.get("mlp_bias", False)
    batch, length = tokens.shape
    x = weights["model.embed_tokens.weight"][tokens]
    cos, sin = rope_tables(length, head_dim, theta, x.dtype)
    causal = torch.full((length, length), float("-inf"), dtype=x.dtype).triu(1)
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}"
        h = rms_norm(x, weights[f"{p}.input_layernorm.weight"], eps)
        q = linear(h, weights, f"{p}.self_attn.q_proj", attention_bias).view(batch, length, heads, head_dim).transpose(1, 2)
        k = linear(h, weights, f"{p}.self_attn.k_proj", attention_bias).view(batch, length, kv_heads, head_dim).transpose(1, 2)
        v = linear(h, weights, f"{p}.self_attn.v_proj", attention_bias).view(batch, length, kv_heads, head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: KV head j serves query heads j*g .. j*g+g-1.
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + causal
        attended = torch.softmax(scores, dim=-1) @ v
        attended = attended.transpose(1, 2).reshape(batch, length, heads * head_dim)
        x = x + linear(attended, weights, f"{p}.self_attn.o_proj", attention_bias)
        h = rms_norm(x, weights[f"{p}.post_attention_layernorm.weight"], eps)
        mlp = linear(torch.nn.functional.silu(linear(h, weights, f"{p}.mlp.gate_proj", mlp_bias)) * linear(h, weights, f"{p}.mlp.up_proj", mlp_bias),
                     weights, f"{p}.mlp.down_proj", mlp_bias)
        x = x + mlp
    x = rms_norm(x, weights["model.norm.weight"], eps)
    head = weights["model.embed_tokens.weight"] if config.get("tie_word_embeddings", False) else weights["lm_head.weight"]
    return x @ head.T


def expected_names(config):
    names = {"model.embed_tokens.weight", "model.norm.weight"}
    if not config.get("tie_word_embeddings", False):
        names.add("lm_head.weight")
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}"
        names |= {f"{p}.input_layernorm.weight", f"{p}.post_attention_layernorm.weight"}
        for proj, bias in [(f"self_attn.{n}_proj", config.get("attention_bias", False)) for n in "qkvo"] + \
                          [(f"mlp.{n}_proj", config.get("mlp_bias", False)) for n in ("gate", "up", "down")]:
            names.add(f"{p}.{proj}.weight")
            if bias:
                names.add(f"{p}.{proj}.bias")
    return names


def check(directory):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    assert config["model_type"] == "llama" and config["architectures"] == ["LlamaForCausalLM"] and config["hidden_act"] == "silu"
    weights = load_file(os.path.join(directory, "model.safetensors"))
    missing, extra = expected_names(config) - set(weights), set(weights) - expected_names(config)
    if missing or extra:
        print(f"{directory}: FAIL names: missing {sorted(missing)}, unexpected {sorted(extra)}")
        return False
    ours = load_file(os.path.join(directory, "logits.safetensors"))
    with torch.no_grad():
        theirs = llama_logits(config, weights, ours["tokens"])
    difference = (theirs.to(torch.float64) - ours["logits"].to(torch.float64)).abs().max().item()
    scale = ours["logits"].abs().max().item()
    ok = difference <= args.tolerance
    print(f"{directory}: {'PASS' if ok else 'FAIL'} max |logit difference| {difference:.3e} (logits up to {scale:.3f}, "
          f"{config['torch_dtype']}, {config['num_hidden_layers']} layers, {config['num_attention_heads']}/{config.get('num_key_value_heads')} heads, "
          f"tied {config.get('tie_word_embeddings')}, biases {config.get('attention_bias')}/{config.get('mlp_bias')})")
    return ok


results = [check(d) for d in args.dirs]
print(f"{sum(results)} of {len(results)} agree within {args.tolerance}")
sys.exit(0 if all(results) else 1)
