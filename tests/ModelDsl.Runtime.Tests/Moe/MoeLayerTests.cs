using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Validation;
using ModelDsl.Runtime.Compile;
using ModelDsl.Runtime.Kernels;
using ModelDsl.Runtime.Layers;
using ModelDsl.Runtime.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;
using ModelDsl.Runtime.Moe;
using ModelDsl.Runtime.Parameters;

namespace ModelDsl.Runtime.Tests.Moe;

public class MoeLayerTests
{
    // Router weight [E = 3, D = 2]: logits = (x0, x1, -x0 - x1).
    private static readonly double[,] RouterWeight = { { 1, 0 }, { 0, 1 }, { -1, -1 } };

    // Three micro-batches of two tokens: the first leans to expert 0, the second to expert 1, the third is mixed.
    private static readonly double[][][] MicroBatches =
    [
        [[2.0, 0.0], [3.0, 0.5]],
        [[0.0, 2.0], [0.5, 3.0]],
        [[-2.0, -2.0], [2.0, 0.5]],
    ];

    private static MixtureOfExpertsFeedForward Layer(BalanceScope scope, int topK, bool normalize = true, double coefficient = 0.1)
    {
        var spec = new MoeFeedForward
        {
            Experts = 3, TopK = topK, ExpertHidden = 4, NormalizeTopK = normalize,
            Balance = new LoadBalance { Scope = scope, Coefficient = coefficient },
        };
        var layer = new MixtureOfExpertsFeedForward(spec, width: 2, label: "moe", ScalarType.Float64);
        using var noGrad = no_grad();
        var generator = new torch.Generator(5, torch.CPU);
        foreach (var (_, p) in layer.named_parameters()) p.copy_(randn(p.shape, ScalarType.Float64, generator: generator) * 0.3);
        layer.Router.parameters().First().copy_(tensor(RouterWeight, ScalarType.Float64));
        return layer;
    }

    private static double[] Softmax(double[] logits)
    {
        var max = logits.Max();
        var e = logits.Select(l => Math.Exp(l - max)).ToArray();
        return e.Select(v => v / e.Sum()).ToArray();
    }

    private static double[] HandLogits(double[] x) => [x[0], x[1], -x[0] - x[1]];

    private static int[] HandTopK(double[] probabilities, int k) =>
        probabilities.Select((p, i) => (p, i)).OrderByDescending(t => t.p).Take(k).Select(t => t.i).ToArray();

    /// <summary>Per-expert slot counts and mean probabilities of one micro-batch, by hand.</summary>
    private static (double[] Counts, double[] MeanProbabilities) HandStatistics(double[][] batch, int k)
    {
        var counts = new double[3];
        var mean = new double[3];
        foreach (var x in batch)
        {
            var p = Softmax(HandLogits(x));
            foreach (var e in HandTopK(p, k)) counts[e]++;
            for (var i = 0; i < 3; i++) mean[i] += p[i] / batch.Length;
        }
        return (counts, mean);
    }

    private static Tensor Input(double[][] batch) =>
        tensor(batch.SelectMany(r => r).ToArray(), [1, batch.Length, 2], ScalarType.Float64);

    private static double BalanceTerm(MixtureOfExpertsFeedForward layer, double[][] batch)
    {
        var losses = new AuxiliaryLosses();
        layer.Forward(Input(batch), losses);
        var term = Assert.Single(losses.Terms);
        Assert.Equal("moe.balance", term.Name);
        return term.Loss.item<double>();
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(2, false)]
    public void RouterMatchesAHandComputedSoftmaxAndTopK(int k, bool normalize)
    {
        using var scope = NewDisposeScope();
        var layer = Layer(BalanceScope.MicroBatch, k, normalize);
        var batch = MicroBatches.SelectMany(b => b).ToArray();
        var routing = layer.Router.forward(Input(batch).reshape(-1, 2));
        for (var n = 0; n < batch.Length; n++)
        {
            var p = Softmax(HandLogits(batch[n]));
            for (var i = 0; i < 3; i++) Assert.Equal(p[i], routing.Probabilities[n, i].item<double>(), 12);
            var chosen = HandTopK(p, k);
            var total = chosen.Sum(e => p[e]);
            for (var j = 0; j < k; j++)
            {
                Assert.Equal(chosen[j], routing.Experts[n, j].item<long>());
                Assert.Equal(normalize ? p[chosen[j]] / total : p[chosen[j]], routing.Weights[n, j].item<double>(), 12);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void MicroBatchBalanceUsesEachMicroBatchsOwnFrequencies(int k)
    {
        using var scope = NewDisposeScope();
        var layer = Layer(BalanceScope.MicroBatch, k);
        layer.train();
        foreach (var batch in MicroBatches)
        {
            var (counts, mean) = HandStatistics(batch, k);
            var expected = 0.1 * 3 * Enumerable.Range(0, 3).Sum(i => counts[i] / (batch.Length * k) * mean[i]);
            Assert.Equal(expected, BalanceTerm(layer, batch), 12);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void GlobalBatchBalanceUsesTheRunningCountsOfTheStepWithLocalProbabilities(int k)
    {
        using var scope = NewDisposeScope();
        var layer = Layer(BalanceScope.GlobalBatch, k);
        layer.train();
        var running = new double[3];
        var slots = 0.0;
        var values = new List<double>();
        foreach (var batch in MicroBatches)
        {
            var (counts, mean) = HandStatistics(batch, k);
            for (var i = 0; i < 3; i++) running[i] += counts[i];
            slots += batch.Length * k;
            var expected = 0.1 * 3 * Enumerable.Range(0, 3).Sum(i => running[i] / slots * mean[i]);
            values.Add(BalanceTerm(layer, batch));
            Assert.Equal(expected, values[^1], 12);
        }
        Assert.Equal(MicroBatches.Length, layer.GlobalCounts.MicroBatches);
        // With k = 1 the second micro-batch alone is unbalanced towards expert 1; over the step so far
        // it is not, so the global value must differ from the micro-batch one there.
        if (k == 1)
        {
            var micro = Layer(BalanceScope.MicroBatch, k);
            micro.train();
            BalanceTerm(micro, MicroBatches[0]);
            Assert.NotEqual(BalanceTerm(micro, MicroBatches[1]), values[1], 6);
        }

        // After a reset (an optimizer step) the first micro-batch counts alone again.
        layer.GlobalCounts.Reset();
        var (firstCounts, firstMean) = HandStatistics(MicroBatches[0], k);
        var afterReset = 0.1 * 3 * Enumerable.Range(0, 3).Sum(i => firstCounts[i] / (2.0 * k) * firstMean[i]);
        Assert.Equal(afterReset, BalanceTerm(layer, MicroBatches[0]), 12);
    }

    [Fact]
    public void GlobalCountsAreNotAccumulatedOutsideTraining()
    {
        using var scope = NewDisposeScope();
        var layer = Layer(BalanceScope.GlobalBatch, 1);
        layer.eval();
        BalanceTerm(layer, MicroBatches[0]);
        layer.train();
        using (no_grad()) BalanceTerm(layer, MicroBatches[1]);
        Assert.Equal(0, layer.GlobalCounts.MicroBatches);
    }

    [Fact]
    public void BalanceGradientFlowsThroughProbabilitiesOnly()
    {
        using var scope = NewDisposeScope();
        // d/dp of E * sum f_i p_i is E * f: check against finite differences of the loss in p.
        var counts = tensor(new double[] { 3, 1, 0 }, ScalarType.Float64);
        var p = tensor(new double[] { 0.5, 0.3, 0.2 }, ScalarType.Float64).requires_grad_();
        var loss = LoadBalanceLoss.Compute(counts, 4, p);
        Assert.Equal(3 * (0.75 * 0.5 + 0.25 * 0.3), loss.item<double>(), 12);
        loss.backward();
        Assert.Equal(new[] { 3 * 0.75, 3 * 0.25, 0.0 }, p.grad!.data<double>().ToArray());
        // Uniform routing and uniform probabilities give exactly 1.
        Assert.Equal(1.0, LoadBalanceLoss.Compute(tensor(new double[] { 2, 2, 2 }), 6, full(3, 1.0 / 3, ScalarType.Float64)).item<double>(), 12);
    }

    [Fact]
    public void RouterZLossIsTheMeanSquaredLogSumExp()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new double[,] { { 0, 0 }, { 1, 2 } });
        var expected = (Math.Pow(Math.Log(2), 2) + Math.Pow(Math.Log(Math.Exp(1) + Math.Exp(2)), 2)) / 2;
        Assert.Equal(expected, LoadBalanceLoss.RouterZLoss(logits).item<double>(), 12);
    }

    [Fact]
    public void LayerEqualsThePerTokenReferenceInOutputsAndGradients()
    {
        using var scope = NewDisposeScope();
        var layer = Layer(BalanceScope.MicroBatch, 2);
        var x = randn([2, 5, 2], ScalarType.Float64, generator: new torch.Generator(3, torch.CPU)).requires_grad_();
        var probe = randn([2, 5, 2], ScalarType.Float64);

        var fast = layer.forward(x);
        var fastGradients = autograd.grad([(fast * probe).sum()], [x, .. layer.parameters()]).ToArray();

        var routing = layer.Router.forward(x.reshape(-1, 2));
        var reference = MoeDispatchNaive.Forward(x.reshape(-1, 2), routing.Experts, routing.Weights, layer.ExpertWeights).Output.reshape(2, 5, 2);
        var referenceGradients = autograd.grad([(reference * probe).sum()], [x, .. layer.parameters()]).ToArray();

        Assert.True(GradientCheck.MaxAbsDifference(fast, reference) < 1e-12);
        for (var i = 0; i < fastGradients.Length; i++)
            Assert.True(GradientCheck.MaxAbsDifference(fastGradients[i], referenceGradients[i]) < 1e-12, $"gradient {i}");
        Assert.True(fastGradients[1].abs().max().item<double>() > 0, "the router must receive a gradient through the combine weights");
    }

    [Fact]
    public void OneExpertWithTopOneIsADenseSwiGlu()
    {
        using var scope = NewDisposeScope();
        var spec = new MoeFeedForward { Experts = 1, TopK = 1, ExpertHidden = 6, Balance = new LoadBalance { Coefficient = 0 } };
        var moe = new MixtureOfExpertsFeedForward(spec, width: 4, label: "moe", ScalarType.Float64);
        var dense = new SwiGluFeedForward(4, 6, bias: false, ScalarType.Float64);
        using (no_grad())
        {
            var generator = new torch.Generator(11, torch.CPU);
            foreach (var p in moe.parameters()) p.copy_(randn(p.shape, ScalarType.Float64, generator: generator));
            var weights = moe.ExpertWeights;
            var denseParameters = dense.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            denseParameters["gateUp.weight"].copy_(weights.GateUp[0]);
            denseParameters["down.weight"].copy_(weights.Down[0]);
        }
        var x = randn([2, 3, 4], ScalarType.Float64);
        Assert.True(GradientCheck.MaxAbsDifference(moe.forward(x), dense.forward(x)) < 1e-12);
    }

    [Fact]
    public void SharedExpertsAddADenseSwiGluOfCountTimesHidden()
    {
        using var scope = NewDisposeScope();
        var spec = new MoeFeedForward { Experts = 2, TopK = 1, ExpertHidden = 3, Shared = new SharedExperts { Count = 2, Hidden = 5 } };
        var moe = new MixtureOfExpertsFeedForward(spec, width: 4, label: "moe", ScalarType.Float64);
        var names = moe.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal([20L, 4], names["shared.gateUp.weight"]);
        Assert.Equal([12L, 4], names["experts.gateUp"]);
        Assert.Equal([8L, 3], names["experts.down"]);
        var facts = moe.PublishedParameters.ToDictionary(f => f.Name);
        Assert.Equal([3L, 3, 3, 3], facts["experts.gateUp"].RowBlocks);
        Assert.Equal([4L, 4], facts["experts.down"].RowBlocks);
    }

    [Theory]
    [InlineData(4, 5, "topK", "exceeds the 4 experts")]
    [InlineData(0, 1, "experts", "must be at least 1")]
    [InlineData(4, 0, "topK", "must be at least 1")]
    public void BadSpecsNameTheFieldAndTheReason(int experts, int topK, string field, string message)
    {
        var spec = ModelSpec.Llama(vocab: 13, width: 16, depth: 2, heads: 4);
        var blocks = spec.Blocks.ToList();
        blocks[1] = blocks[1] with { FeedForward = new MoeFeedForward { Experts = experts, TopK = topK } };
        var error = Assert.Throws<SpecValidationException>(() => ModelCompiler.Build(spec with { Blocks = ValueList.Of(blocks.ToArray()) }));
        Assert.Contains(error.Errors, e => e.Path == $"model.blocks[1].feedForward.{field}" && e.Message.Contains(message));
    }

    [Fact]
    public void CapacityFactorAndCoefficientsMustBePositiveAndFinite()
    {
        var v = new Validator();
        new MoeFeedForward { CapacityFactor = 0, ZLoss = -1, Balance = new LoadBalance { Coefficient = double.NaN } }
            .Validate(v, "ffn", new ModelSpec());
        Assert.Equal(new[] { "ffn.capacityFactor", "ffn.balance.coefficient", "ffn.zLoss" }, v.Errors.Select(e => e.Path).ToArray());
    }

    [Fact]
    public void CompiledMoeModelGivesMatrixOptimizersOneBlockPerExpertMatrix()
    {
        var spec = ModelSpec.Llama(vocab: 13, width: 16, depth: 2, heads: 4);
        var blocks = spec.Blocks.ToList();
        blocks[1] = blocks[1] with { FeedForward = new MoeFeedForward { Experts = 4, TopK = 2, ExpertHidden = 8, ZLoss = 1e-3 } };
        using var model = ModelCompiler.Build(spec with { Blocks = ValueList.Of(blocks.ToArray()) });
        var parameters = model.NamedParameters().ToDictionary(p => p.Name);
        Assert.Equal(Enumerable.Repeat(8L, 8), parameters["blocks.1.feedForward.experts.gateUp"].RowBlocks!);
        Assert.Equal(Enumerable.Repeat(16L, 4), parameters["blocks.1.feedForward.experts.down"].RowBlocks!);
        Assert.Equal(ParameterRole.Router, parameters["blocks.1.feedForward.router.scores.weight"].Role);
        var output = model.Run(torch.zeros([2, 5], ScalarType.Int64));
        Assert.Equal(new[] { "model.blocks[1].feedForward.balance", "model.blocks[1].feedForward.zLoss" }, output.AuxiliaryLosses.Terms.Select(t => t.Name).ToArray());
        // FLOPs count 2 of the 4 experts: 6 * (16 * 8 * 2 + 16 * 8) * 2 fewer than all hidden matrices.
        using var dense = ModelCompiler.Build(spec);
        var expertParameters = 4 * (2 * 8 * 16 + 16 * 8);
        var moeMatrices = model.NamedParameters().Where(p => p.Role is ParameterRole.HiddenMatrix or ParameterRole.Router).Sum(p => p.Parameter.numel());
        var denseMatrices = dense.NamedParameters().Where(p => p.Role == ParameterRole.HiddenMatrix).Sum(p => p.Parameter.numel());
        Assert.Equal(6.0 * (moeMatrices - expertParameters / 2 - denseMatrices),
            model.TrainingFlopsPerToken(8) - dense.TrainingFlopsPerToken(8), 6);
        // Initialised: no uninitialised memory left in the expert stacks.
        Assert.True(parameters["blocks.1.feedForward.experts.down"].Parameter.abs().max().item<float>() is > 0 and < 1);
    }
}
