using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Studies;

namespace ModelDsl.Runtime.Tests.Studies;

public sealed class StudyTrainerTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("study-trainer-").FullName;
    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void AStopRuleEndsTheRunAfterTheEvaluationWhereItHolds()
    {
        var spec = new ExperimentSpec
        {
            Name = "stop-rule",
            Model = ModelSpec.Llama(vocab: 4, width: 16, depth: 1, heads: 2),
            Task = new SparseParity { Bits = 6, Secret = 2 },
            Training = new TrainingSpec
            {
                Budget = new StepBudget(40),
                GlobalBatch = 8,
                MicroBatch = 8,
                Eval = new EvalSpec { Every = 5, Batches = 1, Problems = 8 },
                Checkpoint = new CheckpointSpec { Every = 0, Keep = 1 },
                Threads = 1,
            },
        };
        var seen = new List<int>();
        var run = StudyTrainer.Train(spec, directory, entropyRows: 0, stopWhen: evals => { seen.Add(evals.Count); return evals.Count == 3; });
        Assert.True(run.StoppedEarly);
        Assert.Equal(15, run.Steps);
        Assert.Equal(3, run.Evals.Count);
        Assert.Equal([1, 2, 3], seen); // asked once per evaluation, with every evaluation so far
        var full = StudyTrainer.Train(spec with { Name = "no-stop" }, directory, entropyRows: 0, stopWhen: _ => false);
        Assert.False(full.StoppedEarly);
        Assert.Equal(40, full.Steps);
    }
}
