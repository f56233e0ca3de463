using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;
using static ModelDsl.Runtime.Kernels.PathAttentionBlockwise;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// The handwritten backward of <see cref="PathAttentionBlockwise"/> (arXiv 2505.16381, §3.2; the
/// reverse walk of the authors' kernels, derived here for the blocks-first CPU layout).
///
/// The preparation scales the queries and gate sums, so a score block is z = Q_(I->J) K~_J^T + G_I - G_J
/// directly. With p = exp(z - lse_i) and Delta_i = dO_i · O_i, every score block contributes, as in
/// FlashAttention-2: dV_J += p^T dO_I, dz = p ∘ (dO_I V_J^T - Delta_I), dG_I += rowsum(dz),
/// dG_J -= colsum(dz); inside a block dz is the gradient of the local scores. Across blocks
/// Q_(I->J) = Q~_I P_(I-1) ... P_(J+1) is query block I carried to key block J (the forward computes it
/// right to left: Q_(I->J-1) = Q_(I->J) P_J), so dK~_J += dz^T Q_(I->J), and the gradient reaching
/// Q_(I->J) is dQ_(I->J) = dz K~_J + dQ_(I->J-1) P_J^T, with dP_J += Q_(I->J)^T dQ_(I->J-1).
/// The carried queries are made right to left but their gradients flow left to right, so each group of
/// query blocks first replays its chain Q_(I->J) (kept for the group only: O(group T d) memory), then
/// walks back from key block 0 accumulating dQ (a Horner sum), and ends with the gradient of Q~_I.
/// The gradients of the per-block quantities (Q~, K~, P, V, local scores, G) reach q, k, v, w, beta
/// and g through autograd on <see cref="PathAttentionBlockwise.Prepare"/>, which is O(T m d).
/// </summary>
public static class PathAttentionBackward
{
    /// <summary>Query blocks replayed together: more blocks give fewer, larger batched steps; the
    /// replayed chain takes up to Group * T * D per head, so memory stays linear in T.</summary>
    public const int Group = 16;

    /// <summary>Gradients of the per-block quantities, in the order of <see cref="Prepared.Tensors"/>.</summary>
    internal static List<Tensor> BlockGradients(Prepared p, Tensor output, Tensor logSumExp, Tensor gradOutput)
    {
        var dOutput = gradOutput;
        var delta = (dOutput * output).sum(-1);                                 // [n, BH, m]

        // Inside the blocks, all at once.
        var localWeights = (p.LocalScores - logSumExp.unsqueeze(-1)).exp();   // zero above the diagonal
        var dValues = localWeights.transpose(-1, -2).matmul(dOutput);
        var dLocal = localWeights * (dOutput.matmul(p.Values.transpose(-1, -2)) - delta.unsqueeze(-1));
        var dQueries = torch.zeros_like(p.Queries);
        var dKeys = torch.zeros_like(p.Keys);
        var dTransitions = torch.zeros_like(p.Transitions);
        var dGate = p.GateSums is null ? null : torch.zeros_like(p.GateSums);

        for (long first = 1; first < p.Blocks; first += Group)   // block 0 has no earlier key blocks
        {
            using var groupScope = NewDisposeScope();
            var last = Math.Min(first + Group, p.Blocks) - 1;
            var chain = ReplayChain(p, first, last);
            Tensor? gradient = null;   // dQ_(I->J-1) for the active blocks that have passed key block 0
            for (var step = last; step >= 1; step--)
            {
                using var stepScope = NewDisposeScope();
                var queryStart = Math.Max(first, step);
                var active = last - queryStart + 1;
                var keyStart = queryStart - step;
                var carried = chain[(int)step];
                var keys = p.Keys.narrow(0, keyStart, active);
                var values = p.Values.narrow(0, keyStart, active);
                var dOut = dOutput.narrow(0, queryStart, active);

                var scores = carried.matmul(keys.transpose(-1, -2));
                if (p.GateSums is { } G)
                    scores = scores.add(G.narrow(0, queryStart, active).unsqueeze(-1), One) - G.narrow(0, keyStart, active).unsqueeze(-2);
                var weights = scores.sub_(logSumExp.narrow(0, queryStart, active).unsqueeze(-1)).exp_();
                dValues.narrow(0, keyStart, active).add_(weights.transpose(-1, -2).matmul(dOut), One);
                var dz = dOut.matmul(values.transpose(-1, -2)).sub_(delta.narrow(0, queryStart, active).unsqueeze(-1)).mul_(weights);
                if (dGate is not null)
                {
                    dGate.narrow(0, queryStart, active).add_(dz.sum(-1), One);
                    dGate.narrow(0, keyStart, active).sub_(dz.sum(-2));
                }
                var dScores = dz;
                dKeys.narrow(0, keyStart, active).add_(dScores.transpose(-1, -2).matmul(carried), One);
                var fromScores = dScores.matmul(keys);

                // Block I = step meets key block 0 now for the first time (it has no gradient yet);
                // the others carry dQ_(I->J-1) through P_J, J = I - step >= 1.
                var joined = step >= first ? 1L : 0L;
                var next = fromScores;
                if (gradient is not null)
                {
                    var older = active - joined;
                    var transitions = p.Transitions.narrow(0, keyStart + joined, older);
                    dTransitions.narrow(0, keyStart + joined, older).add_(carried.narrow(0, joined, older).transpose(-1, -2).matmul(gradient), One);
                    var through = gradient.matmul(transitions.transpose(-1, -2)).add(fromScores.narrow(0, joined, older), One);
                    next = joined == 1 ? torch.cat([fromScores.narrow(0, 0, 1), through], 0) : through;
                }
                chain[(int)step].Dispose();
                gradient?.Dispose();
                gradient = next.MoveToOuterDisposeScope();
            }
            dQueries.narrow(0, first, last - first + 1).copy_(gradient!);
        }
        return [dQueries, dKeys, dTransitions, dValues, dLocal, .. dGate is null ? Array.Empty<Tensor>() : [dGate]];
    }

    /// <summary>Q_(I->I-step) for the query blocks first..last, indexed by step (1..last): the queries
    /// as the forward's walk carries them, each step's tensor holding blocks max(first, step)..last.</summary>
    private static Tensor[] ReplayChain(Prepared p, long first, long last)
    {
        var chain = new Tensor[last + 1];
        chain[1] = p.Queries.narrow(0, first, last - first + 1);
        for (var step = 2L; step <= last; step++)
        {
            // Drop the block that met key block 0 at step-1; the rest absorb key block I - (step - 1).
            var drop = step - 1 >= first ? 1L : 0L;
            var queryStart = Math.Max(first, step);
            var active = last - queryStart + 1;
            chain[step] = chain[step - 1].narrow(0, drop, active).matmul(p.Transitions.narrow(0, queryStart - step + 1, active));
        }
        return chain;
    }

    /// <summary>The autograd function. The forward builds the per-block quantities from detached copies
    /// of the inputs with a graph (O(T (d + m) + (T/m) d^2) memory, kept for the backward so that nothing
    /// is recomputed), walks without a graph and saves its output and log-sum-exp; the backward runs
    /// <see cref="BlockGradients"/> and then autograd through the preparation's graph.</summary>
    internal sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "PathAttentionBlockwise";

        private sealed record State(List<Tensor> Leaves, Prepared Prepared, Tensor Output, Tensor LogSumExp, bool Gate) : IDisposable
        {
            public void Dispose()
            {
                foreach (var t in Leaves.Concat(Prepared.Tensors).Append(Output).Append(LogSumExp)) t.Dispose();
            }
        }

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var inputs = vars.Take(6).Select(o => o as Tensor).ToArray();
            var (scale, blockSize) = ((double)vars[6], (int)vars[7]);
            using var scope = NewDisposeScope();
            var leaves = inputs.Where(t => t is not null).Select(t => t!.detach().requires_grad_(true)).ToList();
            Prepared prepared;
            using (torch.enable_grad())
                prepared = Prepare(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], inputs[5] is null ? null : leaves[5], scale, blockSize);
            var walk = Walk(Detached(prepared), 0, prepared.Blocks, freeSteps: true);
            var result = prepared.Unblock(walk.Output).MoveToOuterDisposeScope();
            foreach (var t in leaves.Concat(prepared.Tensors).Append(walk.Output).Append(walk.LogSumExp)) t.DetachFromDisposeScope();
            ctx.save_data("state", new State(leaves, prepared, walk.Output, walk.LogSumExp, inputs[5] is not null));
            return result;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var state = (State)ctx.get_data("state");
            using var scope = NewDisposeScope();
            List<Tensor> blockGradients;
            using (torch.no_grad())
                blockGradients = BlockGradients(Detached(state.Prepared), state.Output, state.LogSumExp, state.Prepared.Block(gradOutput));
            torch.autograd.backward(state.Prepared.Tensors.ToList(), blockGradients);
            var gradients = state.Leaves.Select(l => l.grad is { } g ? g.detach().clone().MoveToOuterDisposeScope() : l.zeros_like().MoveToOuterDisposeScope()).ToList();
            return [gradients[0], gradients[1], gradients[2], gradients[3], gradients[4], state.Gate ? gradients[5] : null!, null!, null!];
        }

        private static Prepared Detached(Prepared p) => p with
        {
            Queries = p.Queries.detach(), Keys = p.Keys.detach(), Transitions = p.Transitions.detach(),
            Values = p.Values.detach(), LocalScores = p.LocalScores.detach(), GateSums = p.GateSums?.detach(),
        };
    }
}
