using ModelDsl.Runtime.Tests.Layers;
using ModelDsl.Runtime.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Vision;

public class ResponseLogProbsTests
{
    private static PromptResponse Text(long[] prompt, long[] response) => new(prompt, response);

    [Fact]
    public void TheBatchScoresExactlyTheResponseTargets()
    {
        using var batch = ResponseBatch.From([Text([1, 5, 6], [7, 2]), Text([1, 9], [3, 4, 2])]);
        Assert.Equal([1L, 5, 6, 7, 1, 9, 3, 4], batch.Inputs.data<long>().ToArray());
        Assert.Equal([5L, 6, 7, 2, 9, 3, 4, 2], batch.Targets.data<long>().ToArray());
        Assert.Equal([0f, 0, 1, 1, 0, 1, 1, 1], batch.Mask.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => ResponseBatch.From([Text([1, 5], [7, 2]), Text([1], [3, 2])]));
    }

    [Fact]
    public void SummedLogProbsMatchAnExplicitLoopAndTheSharedPrefixPath()
    {
        using var scope = NewDisposeScope();
        var spec = TinyVision.Small(prefixTokens: 2);
        using var model = VisionModelCompiler.Build(spec, ScalarType.Float64, seed: 4);
        GradientCheck.Perturb(model.Projector, seed: 6);
        var generator = new torch.Generator(3, torch.CPU);
        PromptResponse Random(int i) => Text([1, 2 + i % 3], [(long)(4 + i % 5), (long)(3 + i % 7), 0]);
        var winners = Enumerable.Range(0, 3).Select(Random).ToList();
        var losers = Enumerable.Range(3, 3).Select(Random).ToList();
        using var winnerTexts = ResponseBatch.From(winners);
        using var loserTexts = ResponseBatch.From(losers);
        var winnerImages = torch.rand([3, 2, 8, 8], dtype: ScalarType.Float64, generator: generator);
        var loserImages = torch.rand([3, 2, 8, 8], dtype: ScalarType.Float64, generator: generator);

        // The explicit loop: log softmax of each scored position, picked at its target.
        var sums = ResponseLogProbs.Sum(model, winnerImages, winnerTexts);
        var logits = model.Forward(winnerImages, winnerTexts.Inputs);
        for (var b = 0; b < 3; b++)
        {
            double expected = 0;
            var sequence = winners[b].Sequence;
            for (var t = winners[b].Prompt.Length - 1; t < sequence.Length - 1; t++)
                expected += logits[b, t].log_softmax(0)[sequence[t + 1]].item<double>();
            Assert.Equal(expected, sums[b].item<double>(), 12);
        }

        using var six = ContrastLogProbs.Compute(model, winnerImages, loserImages, winnerTexts, loserTexts);
        Tensor[] separately =
        [
            ResponseLogProbs.Sum(model, winnerImages, winnerTexts), ResponseLogProbs.Sum(model, null, winnerTexts),
            ResponseLogProbs.Sum(model, loserImages, winnerTexts), ResponseLogProbs.Sum(model, loserImages, loserTexts),
            ResponseLogProbs.Sum(model, null, loserTexts), ResponseLogProbs.Sum(model, winnerImages, loserTexts),
        ];
        foreach (var (shared, single) in six.All.Zip(separately))
            Assert.True(GradientCheck.MaxAbsDifference(shared, single) < 1e-12);
        // The image matters: with and without it the scores differ.
        Assert.True(GradientCheck.MaxAbsDifference(six.WinnerWithWinnerImage, six.WinnerWithoutImage) > 1e-6);
    }

    [Fact]
    public void ResponseLossIsTheMeanNegativeLogProbPerResponseToken()
    {
        using var scope = NewDisposeScope();
        using var model = VisionModelCompiler.Build(TinyVision.Scenes(width: 16), ScalarType.Float64, seed: 2);
        var task = new SceneTask(new Core.Vision.SceneTaskSpec(), seed: 3);
        var examples = Enumerable.Range(0, 5).Select(i => task.SampleCaption(SceneSplit.HeldOut, i)).ToList();
        var texts = examples.Select(e => e.Text).ToList();
        var scenes = examples.Select(e => e.Scene).ToList();
        using var batch = ResponseBatch.From(texts);
        var tokens = texts.Sum(t => t.Response.Length);
        var textOnly = -ResponseLogProbs.Sum(model, null, batch).sum().item<double>() / tokens;
        var withImages = -ResponseLogProbs.Sum(model, SceneRenderer.ToTensor(scenes), batch).sum().item<double>() / tokens;
        // Batches of 2 exercise the chunking.
        Assert.Equal(textOnly, VisionEvaluator.ResponseLoss(model, texts, batchSize: 2), 10);
        Assert.Equal(withImages, VisionEvaluator.ResponseLoss(model, texts, scenes, batchSize: 2), 10);
        Assert.NotEqual(textOnly, withImages);
    }
}
