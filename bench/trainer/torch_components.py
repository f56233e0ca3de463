#!/usr/bin/env python3
"""The PyTorch-eager side of the component profile (ModelDsl.TrainerBench --components is the other).

Each part of the Llama training step of torch_trainer.py is timed alone, with the shapes, strides and
values it sees in the model: the forward runs once without autograd on a random batch, and each part
gets its real inputs as fresh leaves (detached, so views keep their strides) that require gradients.
Per part: the forward alone (autograd recording, as in training) and forward + backward (the
backward seeded with fixed random output gradients); gradients are dropped after every repetition
(zero_grad(set_to_none=True), as the trainer does). Medians over --reps repetitions after --warmup.
Then a per-module forward breakdown of whole training steps (forward, loss, backward; no optimizer)
the rise of the resident set over a step, the resident set at six points (the last after malloc_trim),
and with --profile FILE the torch.profiler table of one full step
(forward, loss, backward, clip_grad_norm_, AdamW) by self CPU time.
Prints JSON lines (Kind: component, step, memory); bench/trainer/components.sh tabulates them.
Run with /work/shared/peer-pytorch/py.sh (torch 2.6, OpenBLAS).
"""
import argparse
import json
import os
import statistics
import time

from proc_memory import memory_mib, reset_peak, trim

memory_start = memory_mib()

CONFIGS = {  # width, layers, heads, seq, batch (as torch_trainer.py)
    "S": (256, 4, 4, 256, 8),
    "M": (512, 8, 8, 512, 4),
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--config", choices=sorted(CONFIGS), default="S")
parser.add_argument("--reps", type=int, default=10, help="timed repetitions of each part")
parser.add_argument("--warmup", type=int, default=2, help="untimed repetitions before them")
parser.add_argument("--steps", type=int, default=5, help="timed steps of the per-module breakdown")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--vocab", type=int, default=4096)
parser.add_argument("--profile", metavar="FILE", help="write torch.profiler's top ops of one step here")
parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time, or this thread's CPU time (with --threads 1, an op's work even on a loaded host)")
args = parser.parse_args()
now = time.perf_counter if args.clock == "wall" else time.thread_time  # thread_time: CLOCK_THREAD_CPUTIME_ID

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = str(args.threads)

import torch  # noqa: E402  (after the thread variables)
import torch.nn.functional as F  # noqa: E402

from llama_torch import Block, Model, rotate  # noqa: E402

torch.set_num_threads(args.threads)
torch.ones(8, 8).mm(torch.ones(8, 8))
memory_torch = memory_mib()
torch.manual_seed(1)
WIDTH, LAYERS, HEADS, SEQ, BATCH = CONFIGS[args.config]
VOCAB = args.vocab
model = Model(VOCAB, WIDTH, LAYERS, HEADS, SEQ)
model.train()
memory_model = memory_mib()
cos, sin = model.cos, model.sin
generator = torch.Generator().manual_seed(3)
tokens = torch.randint(0, 256, (BATCH, SEQ), generator=generator)
targets = torch.randint(0, 256, (BATCH, SEQ), generator=generator)


def emit(**fields):
    print(json.dumps({"Impl": "pytorch-eager", "Torch": torch.__version__, "Config": args.config, **fields}), flush=True)


def loss_of(logits):
    return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))


def drop_gradients(leaves):
    model.zero_grad(set_to_none=True)
    for leaf in leaves:
        leaf.grad = None


# The first training step's forward and backward, for the resident set after it.
loss_of(model(tokens)).backward()
drop_gradients([])
memory_step1 = memory_mib()

# Every part's inputs, from one forward without autograd through block 0 (and all blocks for the head).
block = model.blocks[0]
with torch.no_grad():
    x0 = model.embedding(tokens)
    a = block.attention_norm(x0)
    q, k, v = block.heads_of(a)
    qr, kr = rotate(q, cos, sin), rotate(k, cos, sin)
    attended = F.scaled_dot_product_attention(qr, kr, v, is_causal=True)
    o = block.merge_heads(attended)
    h = x0 + o
    f = block.feed_forward_norm(h)
    gu = block.gate_up(f)
    s = Block.swiglu(gu)
    x = x0
    for b in model.blocks:
        x = b(x, cos, sin)
    xl = x
    fn = model.final_norm(xl)
    logits = model.head(fn)


def leaf(t):
    return t.detach().requires_grad_()


# name, times per step, leaves, the part as a function of them. Rows marked whole are for reference:
# they contain the rows above them.
PARTS = [
    ("embedding", 1, [], lambda: model.embedding(tokens)),
    ("rmsnorm", 2 * LAYERS, [leaf(x0)], lambda t: block.attention_norm(t)),
    ("qkv projection", LAYERS, [leaf(a)], lambda t: block.heads_of(t)),
    ("rope q,k", LAYERS, [leaf(q), leaf(k)], lambda tq, tk: (rotate(tq, cos, sin), rotate(tk, cos, sin))),
    ("sdpa causal", LAYERS, [leaf(qr), leaf(kr), leaf(v)], lambda tq, tk, tv: F.scaled_dot_product_attention(tq, tk, tv, is_causal=True)),
    ("o projection", LAYERS, [leaf(attended)], lambda t: block.merge_heads(t)),
    ("residual add", 2 * LAYERS, [leaf(x0), leaf(o)], lambda t, u: t + u),
    ("gate/up projection", LAYERS, [leaf(f)], lambda t: block.gate_up(t)),
    ("silu*mul", LAYERS, [leaf(gu)], lambda t: Block.swiglu(t)),
    ("down projection", LAYERS, [leaf(s)], lambda t: block.down(t)),
    ("final norm", 1, [leaf(xl)], lambda t: model.final_norm(t)),
    ("lm head", 1, [leaf(fn)], lambda t: model.head(t)),
    ("cross-entropy", 1, [leaf(logits)], lambda t: loss_of(t)),
    ("whole: attention", LAYERS, [leaf(a)], lambda t: block.attention(t, cos, sin)),
    ("whole: feed-forward", LAYERS, [leaf(f)], lambda t: block.feed_forward(t)),
    ("whole: block", LAYERS, [leaf(x0)], lambda t: block(t, cos, sin)),
    ("whole: model+loss", 1, [], lambda: loss_of(model(tokens))),
]

seed_gradients = torch.Generator().manual_seed(5)
for name, count, leaves, part in PARTS:
    outputs = part(*leaves)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    gradients = [torch.randn(o.shape, generator=seed_gradients) * 1e-2 for o in outputs]
    del outputs
    drop_gradients(leaves)

    def once(backward):
        start = now()
        result = part(*leaves)
        if backward:
            torch.autograd.backward(result if isinstance(result, tuple) else (result,), gradients)
        seconds = now() - start
        del result
        drop_gradients(leaves)
        return seconds

    timings = {}
    for backward in (False, True):
        for _ in range(args.warmup):
            once(backward)
        timings[backward] = statistics.median(once(backward) for _ in range(args.reps))
    emit(Kind="component", Clock=args.clock, Threads=args.threads, Name=name, Count=count, ForwardMs=timings[False] * 1e3, ForwardBackwardMs=timings[True] * 1e3)

# Per-module forward times inside whole steps (forward with autograd, loss, backward), summed over the
# layers: the parts as the step runs them, with the caches and allocator in their training state.
steps = []
for step in range(args.steps + 2):
    laps = dict.fromkeys(["embedding", "attention norm", "attention", "residual adds", "feed-forward norm", "feed-forward",
                          "final norm", "lm head", "cross-entropy", "backward"], 0.0)
    clock = now()

    def lap(key):
        global clock
        time_now = now()
        laps[key] += time_now - clock
        clock = time_now

    begin = clock
    x = model.embedding(tokens)
    lap("embedding")
    for b in model.blocks:
        normed = b.attention_norm(x)
        lap("attention norm")
        attention = b.attention(normed, cos, sin)
        lap("attention")
        x = x + attention
        lap("residual adds")
        normed = b.feed_forward_norm(x)
        lap("feed-forward norm")
        ff = b.feed_forward(normed)
        lap("feed-forward")
        x = x + ff
        lap("residual adds")
    x = model.final_norm(x)
    lap("final norm")
    out = model.head(x)
    lap("lm head")
    loss = loss_of(out)
    lap("cross-entropy")
    loss.backward()
    lap("backward")
    laps["step"] = now() - begin
    del x, normed, attention, ff, out, loss
    drop_gradients([])
    if step >= 2:
        steps.append(laps)
for key in steps[0]:
    emit(Kind="step", Name=key, Ms=statistics.median(s[key] for s in steps) * 1e3)

# How far the resident set rises over a step above what is live before it (malloc_trim first, so that
# memory malloc kept from earlier steps does not absorb the rise).
rises = []
for step in range(4):
    trim()
    reset_peak()
    resident = memory_mib()["VmRSS"]
    loss_of(model(tokens)).backward()
    drop_gradients([])
    if step >= 1:
        rises.append(memory_mib()["VmHWM"] - resident)
emit(Kind="peak", Name="step", MiB=statistics.median(rises))

memory_end = memory_mib()
trim()
emit(Kind="memory", Memory={"start": memory_start, "runtime": memory_torch, "model": memory_model, "step1": memory_step1,
                            "end": memory_end, "trimmed": memory_mib()})

if args.profile:
    decayed = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embedding")]
    undecayed = [p for n, p in model.named_parameters() if not (p.dim() == 2 and not n.startswith("embedding"))]
    optimizer = torch.optim.AdamW([{"params": decayed, "weight_decay": 0.1}, {"params": undecayed, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.95), eps=1e-8)

    def train_step():
        loss = loss_of(model(tokens))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(2):
        train_step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        train_step()
    with open(args.profile, "w") as out:
        out.write(f"torch.profiler, one {args.config} training step (forward, loss, backward, clip, AdamW), {args.threads} threads\n")
        out.write(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=30) + "\n")
