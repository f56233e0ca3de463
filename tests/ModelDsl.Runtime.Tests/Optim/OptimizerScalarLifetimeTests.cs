using ModelDsl.Core.Training;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using TorchSharp;
using TorchSharp.Modules;
using ModelDsl.Runtime.Tests.Layers;
using static ModelDsl.Runtime.Tests.Optim.OptimTestSupport;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace ModelDsl.Runtime.Tests.Optim;

/// <summary>
/// An optimizer step must not hand libtorch a Scalar that the garbage collector may finalize during the
/// call: several threads each train their own copy of a small model under concurrent finalization
/// (Layers/FinalizerStress); every copy must end bit for bit where the same training run alone ends.
/// </summary>
public sealed class OptimizerScalarLifetimeTests(ITestOutputHelper output)
{
    // See Layers/FinalizerStress for the set-up. With the optimizers' former temporary Scalars, 2 s per case
    // failed in 2 of 4 runs of this test, 15 s per case in 22 of 4532 AdamW and 2 of 286 Kron runs
    // ("Unknown scalar type", libtorch assertions).
    private const int Steps = 12;

    public static TheoryData<string> Names => new(Specs.Keys);

    private static readonly Dictionary<string, OptimizerSpec> Specs = new()
    {
        ["adamW"] = new Core.Training.AdamW { Lr = 0.01 },
        ["kron"] = new Kron { Lr = 0.01, FlatStart = 4, ProbabilityDecay = 0.2, MinUpdateProbability = 0.3 },
        ["muon"] = new Muon { Lr = 0.01 },
        ["soap"] = new Soap { Lr = 0.01, PreconditionFrequency = 3 },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void StepsUnderConcurrentFinalizationEqualTheUndisturbedRun(string name)
    {
        var spec = Specs[name];
        FinalizerStress.AssertStable(() => Train(spec), name, output);
    }

    /// <summary>Steps of <paramref name="spec"/> on fresh float32 parameters (a hidden matrix, an embedding, norm
    /// gains) with fixed pseudo-random gradients; returns the final parameters as bits.</summary>
    private static int[][] Train(OptimizerSpec spec)
    {
        using var scope = NewDisposeScope();
        long[][] shapes = [[24, 16], [16, 8], [16]];
        ParameterRole[] roles = [ParameterRole.HiddenMatrix, ParameterRole.Embedding, ParameterRole.Norm];
        string[] names = ["blocks.0.w", "embedding.weight", "norm.weight"];
        var parameters = shapes.Select((shape, i) => new NamedParameter(names[i],
            new Parameter(tensor(Pseudo((int)shape.Aggregate(1L, (a, b) => a * b), i), ScalarType.Float32).reshape(shape)), roles[i])).ToList();
        using var optimizer = OptimizerFactory.Create(spec, parameters, clipGradNorm: 1.0);
        for (var step = 0; step < Steps; step++)
        {
            for (var i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i].Parameter;
                p.grad = tensor(Pseudo((int)p.numel(), 100 * step + i), ScalarType.Float32).reshape(p.shape);
            }
            optimizer.Step(1.0 - (double)step / Steps, StepContext.None);
        }
        return parameters.Select(p => p.Parameter.detach().contiguous().reshape(-1).data<float>().ToArray()
            .Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();
    }
}
