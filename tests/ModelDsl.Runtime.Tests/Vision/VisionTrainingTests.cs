using ModelDsl.Core.Training;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Vision;

public class VisionTrainingTests
{
    private static (double Loss, double[] Margins) SvcoOn(VisionLanguageModel policy, VisionLanguageModel reference, ContrastBatch batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var result = PreferenceLosses.Svco(batch.LogProbs(policy), batch.LogProbs(reference), new SvcoSpec());
        return (result.Loss.ToDouble(), result.Margins.Select(m => m.mean().ToDouble()).ToArray());
    }

    [Fact]
    public void AFewSvcoStepsRaiseThePreferenceMarginsAndLeaveTheReferenceAlone()
    {
        using var scope = NewDisposeScope();
        var task = new SceneTask(new SceneTaskSpec(), seed: 1);
        using var policy = VisionModelCompiler.Build(TinyVision.Scenes(width: 16), seed: 2);
        using var reference = VisionSteps.FrozenCopy(policy);
        var referenceWeights = reference.parameters().Select(p => p.detach().clone()).ToList();
        var pairs = Enumerable.Range(0, 8).Select(i => task.SamplePair(SceneSplit.Train, i)).ToList();
        using var batch = ContrastBatch.From(pairs);

        var (lossBefore, marginsBefore) = SvcoOn(policy, reference, batch);
        // Policy = reference: every margin is 0 and the loss 4 log 2.
        Assert.Equal(4 * Math.Log(2), lossBefore, 5);
        Assert.All(marginsBefore, m => Assert.Equal(0.0, m, 5));

        using var optimizer = OptimizerFactory.Create(new AdamW { Lr = 3e-3, WeightDecay = 0 }, policy.NamedParameters(), clipGradNorm: null);
        var steps = Enumerable.Range(0, 5).Select(_ => VisionSteps.Svco(policy, reference, optimizer, pairs, new SvcoSpec())).ToList();
        var (lossAfter, marginsAfter) = SvcoOn(policy, reference, batch);
        Assert.True(lossAfter < lossBefore - 1e-3, $"loss {lossBefore} -> {lossAfter}");
        Assert.True(marginsAfter.Sum() > 0.05, $"margins after: {string.Join(", ", marginsAfter)}");
        Assert.True(steps[^1].Loss < steps[0].Loss);
        Assert.All(reference.parameters().Zip(referenceWeights), p => Assert.True(p.First.eq(p.Second).all().item<bool>()));
    }

    [Fact]
    public void SftStepsLowerTheCaptionLossAndFrozenPartsStayPut()
    {
        using var scope = NewDisposeScope();
        var task = new SceneTask(new SceneTaskSpec(), seed: 1);
        var spec = TinyVision.Scenes(width: 16);
        spec = spec with { Vision = spec.Vision with { FreezeEncoder = true } };
        using var model = VisionModelCompiler.Build(spec, seed: 3);
        var encoderBefore = model.Encoder.parameters().Select(p => p.detach().clone()).ToList();
        var examples = Enumerable.Range(0, 16).Select(i => task.SampleCaption(SceneSplit.Train, i)).ToList();
        var texts = examples.Select(e => e.Text).ToList();
        var scenes = examples.Select(e => e.Scene).ToList();
        using var optimizer = OptimizerFactory.Create(new AdamW { Lr = 1e-2, WeightDecay = 0 }, model.NamedParameters(), clipGradNorm: 1.0);
        var losses = Enumerable.Range(0, 8).Select(_ => VisionSteps.Sft(model, optimizer, texts, scenes)).ToList();
        // Seven words drawn from ~30 tokens: an untrained model is near log(30) per token.
        Assert.InRange(losses[0], 2.5, 4.5);
        Assert.True(losses[^1] < losses[0] - 0.5, $"losses: {string.Join(", ", losses)}");
        Assert.All(model.Encoder.parameters().Zip(encoderBefore), p => Assert.True(p.First.eq(p.Second).all().item<bool>()));
    }

    [Fact]
    public void TheFineTuningDriverRunsBothPhasesAndReportsFiniteMetrics()
    {
        using var scope = NewDisposeScope();
        var task = new SceneTask(new SceneTaskSpec(), seed: 4);
        var settings = new VisionFineTuneSettings { SftSteps = 6, PreferenceSteps = 3, BatchSize = 4, EvaluationPairs = 8 };
        var (model, losses) = VisionFineTuning.Sft(TinyVision.Scenes(width: 16), task, settings, seed: 5);
        using (model)
        {
            Assert.Equal(6, losses.Count);
            var report = VisionFineTuning.Svco(model, task, settings, new SvcoSpec());
            Assert.Equal(3, report.Steps.Count);
            Assert.Equal(8, report.Before.Pairs);
            // Before any preference step the policy is its reference: relative margins are zero.
            Assert.Equal(0.0, report.Before.MarginWinnerAttend, 6);
            Assert.True(double.IsFinite(report.After.VisualReliance) && double.IsFinite(report.HeldOutTextLossAfter));
            Assert.InRange(report.After.PairedAccuracy, 0, 1);
            var dpo = VisionFineTuning.Preference(model, task, settings with { PreferenceSteps = 1 }, new PreferenceSpec { Kind = PreferenceKind.ImageDpo });
            Assert.Single(dpo.Steps);
            Assert.Single(dpo.Steps[0].MeanMargins);
        }
    }
}
