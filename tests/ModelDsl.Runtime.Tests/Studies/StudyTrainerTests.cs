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

    private static ExperimentSpec Spec() => new ExperimentSpec
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

    [Fact]
    public void AStopRuleEndsTheRunAfterTheEvaluationWhereItHolds()
    {
        var spec = Spec();
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

    [Fact]
    public void ALedgeredRunIsReturnedFromTheLedgerOnAnyLaterCallAndANewConfigurationTrains()
    {
        var ledger = new StudyLedger(Path.Combine(directory, "kept", "runs.jsonl"));
        var spec = Spec() with { Name = "ledgered" };
        var trained = StudyTrainer.Train(spec, directory, stopAtAccuracy: 0.99, entropyRows: 4, ledger: ledger);
        Assert.NotEmpty(trained.RunDirectory);
        // A new process (or machine): the same call reads the run back, evaluations and entropies included.
        var replayed = StudyTrainer.Train(spec with { Training = spec.Training with { Threads = 2 } }, Path.Combine(directory, "elsewhere"),
            stopAtAccuracy: 0.99, entropyRows: 4, ledger: new StudyLedger(ledger.Path));
        Assert.Equal("", replayed.RunDirectory);
        Assert.False(Directory.Exists(Path.Combine(directory, "elsewhere")));
        Assert.Equal(trained.Steps, replayed.Steps);
        Assert.Equal(trained.StoppedEarly, replayed.StoppedEarly);
        Assert.Equal(trained.Evals.Select(e => (e.Step, e.ValidationLoss, e.Accuracy)), replayed.Evals.Select(e => (e.Step, e.ValidationLoss, e.Accuracy)));
        Assert.Equal(trained.Evals[^1].Entropies[0], replayed.Evals[^1].Entropies[0]);
        // Another stop target is another result: it trains and is recorded beside the first.
        StudyTrainer.Train(spec, directory, stopAtAccuracy: 0.5, entropyRows: 4, ledger: ledger);
        Assert.Equal(2, File.ReadAllLines(ledger.Path).Length);
    }
}
