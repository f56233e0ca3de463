using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;
using Xunit;

namespace ModelDsl.Runtime.Tests.Training;

/// <summary>EvalSpec.AttentionStatistics adds an "attention" event (sink mass, maximum activations,
/// gate statistics) to every evaluation, and nothing when it is off.</summary>
public sealed class AttentionStatisticsEventTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attention-statistics-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static ExperimentSpec Spec(bool statistics)
    {
        var llama = ModelSpec.Llama(vocab: 4, width: 16, depth: 2, heads: 2) with { MaxSequenceLength = 16 };
        var gated = llama.Blocks[1] with { Attention = llama.Blocks[1].Attention with { Gate = new GateSpec() } };
        return new ExperimentSpec
        {
            Name = "statistics",
            Model = llama with { Blocks = ValueList.Of(llama.Blocks[0], gated) },
            Task = new SparseParity { Bits = 6, Secret = 2 },
            Training = new TrainingSpec
            {
                Budget = new StepBudget(4),
                GlobalBatch = 8,
                MicroBatch = 8,
                Eval = new EvalSpec { Every = 2, Batches = 1, Problems = 0, AttentionStatistics = statistics },
                Checkpoint = new CheckpointSpec { Every = 0, Keep = 1 },
            },
        };
    }

    [Fact]
    public void EveryEvaluationWritesAttentionStatisticsWhenAsked()
    {
        var result = Trainer.Run(Spec(statistics: true), new TrainOptions { RunsRoot = root });
        var events = MetricsLog.Read(Path.Combine(result.RunDirectory, "metrics.jsonl"))
            .Where(e => (string?)e["event"] == "attention").ToList();
        Assert.Equal(2, events.Count);  // steps 2 and 4
        foreach (var e in events)
        {
            Assert.InRange(e["sinkMass"]!.GetValue<double>(), 0.0, 1.0);
            Assert.InRange(e["sinkMass.layer1.head1"]!.GetValue<double>(), 0.0, 1.0);
            Assert.True(e["maxActivation.layer0"]!.GetValue<double>() > 0);
            Assert.True(e["maxActivation.layer1"]!.GetValue<double>() > 0);
            Assert.InRange(e["gateMean.layer1"]!.GetValue<double>(), 0.0, 1.0);   // sigmoid gate on layer 1 only
            Assert.InRange(e["gateBelow0.1.layer1"]!.GetValue<double>(), 0.0, 1.0);
            Assert.Null(e["gateMean.layer0"]);
        }
    }

    [Fact]
    public void NothingIsMeasuredByDefault()
    {
        var result = Trainer.Run(Spec(statistics: false), new TrainOptions { RunsRoot = root });
        Assert.DoesNotContain(MetricsLog.Read(Path.Combine(result.RunDirectory, "metrics.jsonl")), e => (string?)e["event"] == "attention");
    }
}
