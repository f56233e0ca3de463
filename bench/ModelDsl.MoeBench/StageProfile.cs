using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// Forward and backward time of each stage of the MoE feed-forward, each stage run on its own with
/// leaf inputs and a random output gradient (so a stage's backward is timed without the others).
/// Sizes as in the main benchmark; the routing is drawn like a near-uniform router's.
/// </summary>
internal static class StageProfile
{
    public static void Run(int tokens, int width, int experts, int k, int hidden, int rounds)
    {
        manual_seed(1);
        var x = randn([tokens, width]);
        var routerWeight = randn([experts, width]) * 0.02f;
        var gateUp = randn([experts, 2L * hidden, width]) * 0.02f;
        var down = randn([experts, width, hidden]) * 0.02f;
        var ids = rand([tokens, experts]).topk(k, dim: -1).indexes;
        var combineWeights = rand([tokens, k]);
        var flat = ids.reshape(-1);
        var (sorted, order) = flat.sort(dim: 0, descending: false, stable: true);
        var counts = flat.bincount(null, experts).data<long>().ToArray();
        var tokenOfSlot = order.div(k, rounding_mode: RoundingMode.floor);
        var gathered = x.index_select(0, tokenOfSlot);
        var slotWeights = combineWeights.reshape(-1).index_select(0, order).unsqueeze(1);
        var perExpert = gathered.split(counts, 0);
        var expertOutputs = cat(perExpert.Select((s, e) => ExpertForward(s, gateUp[e], down[e])).ToArray(), 0);

        var stages = new List<(string Name, Tensor[] Inputs, Func<Tensor[], Tensor> Forward)>();
        void Stage(string name, Tensor[] inputs, Func<Tensor[], Tensor> forward) => stages.Add((name, inputs, forward));
        Stage("router: linear, softmax, top-k", [x, routerWeight], l =>
        {
            var probabilities = nn.functional.linear(l[0], l[1]).softmax(-1);
            var (top, _) = probabilities.topk(k, dim: -1);
            return (top / top.sum(-1, keepdim: true)).sum() + probabilities.mean([0]).sum();
        });
        Stage("sort + bincount + host copy", [], _ =>
        {
            var f = ids.reshape(-1);
            var (s, o) = f.sort(dim: 0, descending: false, stable: true);
            var c = f.bincount(null, experts).data<long>().ToArray();
            return o.div(k, rounding_mode: RoundingMode.floor);
        });
        Stage("gather tokens (index_select)", [x], l => l[0].index_select(0, tokenOfSlot));
        Stage("experts: per-expert SwiGLU", [gathered, gateUp, down], l =>
        {
            var segments = l[0].split(counts, 0);
            var g = l[1].unbind(0);
            var d = l[2].unbind(0);
            return cat(segments.Select((s, e) => ExpertForward(s, g[e], d[e])).ToArray(), 0);
        });
        var capacity = (counts.Max() + 7) / 8 * 8;
        var padded = zeros([experts * capacity, width]);
        var startsOf = new long[experts];
        for (var e = 1; e < experts; e++) startsOf[e] = startsOf[e - 1] + counts[e - 1];
        var paddedRow = cat(Enumerable.Range(0, experts).Select(e => arange(counts[e], ScalarType.Int64) + e * capacity).ToArray());
        padded.index_copy_(0, paddedRow, gathered);
        Console.WriteLine($"padding: {experts * capacity} padded rows for {gathered.shape[0]} slots (max segment {counts.Max()}, min {counts.Min()})");
        Stage("experts: padded bmm SwiGLU", [padded, gateUp, down], l =>
        {
            var halves = l[0].view(experts, capacity, width).bmm(l[1].transpose(1, 2)).chunk(2, -1);
            return (nn.functional.silu(halves[0]) * halves[1]).bmm(l[2].transpose(1, 2)).view(-1, width);
        });
        Stage("combine: weight, index_add", [expertOutputs, slotWeights], l =>
            zeros_like(x).index_add(0, tokenOfSlot, l[0] * l[1], 1));
        var rowOfSlot = full(flat.shape[0], order.shape[0], ScalarType.Int64).scatter_(0, order, arange(order.shape[0], ScalarType.Int64));
        Stage("gather tokens (slot gather)", [x], l => ModelDsl.Runtime.Kernels.MoeSlotGathers.Dispatch(l[0], tokenOfSlot, rowOfSlot, false, false));
        Stage("combine: slot gather, weighted sum", [expertOutputs, combineWeights], l =>
            (ModelDsl.Runtime.Kernels.MoeSlotGathers.Combine(l[0], rowOfSlot, order, false, false).view(tokens, k, width) * l[1].unsqueeze(-1)).sum(1));
        Stage("dense SwiGLU (same active hidden)", [x, randn([2L * k * hidden, width]) * 0.02f, randn([width, (long)k * hidden]) * 0.02f],
            l => ExpertForward(l[0], l[1], l[2]));
        // Round robin over the stages, so load from other processes falls on all of them alike.
        var times = stages.Select(_ => (Forward: new List<double>(), Backward: new List<double>())).ToArray();
        for (var r = 0; r <= rounds; r++)
            for (var i = 0; i < stages.Count; i++)
            {
                var (forwardTime, backwardTime) = Time(stages[i].Inputs, stages[i].Forward);
                if (r == 0) continue;  // warm-up
                times[i].Forward.Add(forwardTime);
                times[i].Backward.Add(backwardTime);
            }
        Console.WriteLine($"stage profile: medians of {rounds} rounds, ms (forward / backward)");
        for (var i = 0; i < stages.Count; i++)
            Console.WriteLine($"  {stages[i].Name,-36} {Median(times[i].Forward),8:F1} / {Median(times[i].Backward),8:F1}   min {times[i].Forward.Min(),7:F1} / {times[i].Backward.Min(),7:F1}");
    }

    private static Tensor ExpertForward(Tensor x, Tensor gateUp, Tensor down)
    {
        var halves = x.matmul(gateUp.t()).chunk(2, -1);
        return (nn.functional.silu(halves[0]) * halves[1]).matmul(down.t());
    }

    private static (double Forward, double Backward) Time(Tensor[] inputs, Func<Tensor[], Tensor> forward)
    {
        using var scope = NewDisposeScope();
        var leaves = inputs.Select(t => t.detach().clone().requires_grad_()).ToArray();
        var sw = Stopwatch.StartNew();
        var output = forward(leaves);
        var forwardTime = sw.Elapsed.TotalMilliseconds;
        var probe = output.requires_grad ? randn_like(output) : null;
        sw.Restart();
        if (probe is not null) output.backward([probe]);
        return (forwardTime, sw.Elapsed.TotalMilliseconds);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
