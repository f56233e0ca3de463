using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>
/// Pins the trainer's behaviour bit for bit: the per-step losses of the quickstart (its spec as the
/// F# DSL lowers it) and of a PaTH + G1 gate + MoE stack under AdamW, Muon and SOAP, 50 steps each,
/// against values recorded in tests/fixtures/recorded-losses/losses.json. Any change to the model,
/// the optimizers, the data or the loop that is meant to be a pure refactoring must keep them equal.
/// Set MODELDSL_RECORD_LOSSES=1 to rewrite the fixture (only when a change of results is intended).
/// </summary>
public sealed class RecordedLossesTests : IDisposable
{
    private const int Steps = 50;
    private readonly string root = Directory.CreateTempSubdirectory("recorded-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static string FixtureDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !Directory.Exists(Path.Combine(directory.FullName, "tests", "fixtures", "recorded-losses")))
            directory = directory.Parent;
        return directory is null
            ? throw new DirectoryNotFoundException($"tests/fixtures/recorded-losses not found above {AppContext.BaseDirectory}")
            : Path.Combine(directory.FullName, "tests", "fixtures", "recorded-losses");
    }

    /// <summary>PaTH with a forget gate and a G1 gate, then RoPE with a G1 gate and a global-batch-balanced MoE.</summary>
    private static ExperimentSpec CombinedStack(OptimizerSpec optimizer) => new()
    {
        Name = "recorded-" + optimizer.GetType().Name.ToLowerInvariant(),
        Model = ModelSpec.Llama(vocab: 11, width: 32, depth: 2, heads: 4) with
        {
            MaxSequenceLength = 32,
            Blocks = ValueList.Of(
                new BlockSpec { Attention = new AttentionSpec { Heads = 4, KvHeads = 2, Position = new PathPosition { ForgetGate = true }, Gate = new GateSpec() } },
                new BlockSpec
                {
                    Attention = new AttentionSpec { Heads = 4, Gate = new GateSpec() },
                    FeedForward = new MoeFeedForward { Experts = 4, TopK = 2, ExpertHidden = 32, Balance = new LoadBalance { Scope = BalanceScope.GlobalBatch } },
                }),
        },
        Task = new ChainedArithmetic { Modulus = 10, Steps = 6 },
        Training = new TrainingSpec
        {
            Optimizer = optimizer,
            Schedule = new WarmupCosine { WarmupFraction = 0.1, MinRatio = 0.1 },
            Budget = new StepBudget(Steps),
            GlobalBatch = 16,
            MicroBatch = 8,
            Eval = new EvalSpec { Every = 0, Batches = 1, Problems = 8 },
            Checkpoint = new CheckpointSpec { Every = 0, Keep = 1 },
            Seed = 5,
            Threads = 2,
        },
    };

    public static TheoryData<string> Cases => new() { "quickstart", "combined-adamW", "combined-muon", "combined-soap" };

    private static ExperimentSpec SpecOf(string name) => name switch
    {
        "quickstart" => SpecJson.LoadExperiment(Path.Combine(FixtureDirectory(), "quickstart.spec.json")),
        "combined-adamW" => CombinedStack(new AdamW { Lr = 3e-3 }),
        "combined-muon" => CombinedStack(new Muon()),
        "combined-soap" => CombinedStack(new Soap { Lr = 3e-3, PreconditionFrequency = 5 }),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such case"),
    };

    private IReadOnlyList<double> Train(string name) =>
        Trainer.Run(SpecOf(name), new TrainOptions { RunDirectory = Path.Combine(root, name), StopAfterStep = Steps }).TrainLosses;

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossesEqualTheRecordedOnesBitForBit(string name)
    {
        var file = Path.Combine(FixtureDirectory(), "losses.json");
        var losses = Train(name);
        Assert.Equal(Steps, losses.Count);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        if (Environment.GetEnvironmentVariable("MODELDSL_RECORD_LOSSES") == "1")
        {
            var document = File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file))!.AsObject() : new JsonObject();
            // "R" round-trips every double exactly.
            document[name] = new JsonArray(losses.Select(l => (JsonNode)JsonValue.Create(l.ToString("R", CultureInfo.InvariantCulture))).ToArray());
            File.WriteAllText(file, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        var recorded = JsonNode.Parse(File.ReadAllText(file))![name]!.AsArray()
            .Select(n => double.Parse(n!.GetValue<string>(), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(recorded.Select(BitConverter.DoubleToInt64Bits), losses.Select(BitConverter.DoubleToInt64Bits));
    }
}
