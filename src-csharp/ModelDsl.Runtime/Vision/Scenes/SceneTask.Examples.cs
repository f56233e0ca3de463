using ModelDsl.Core.Tasks;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Variants;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>A scene with one text about it: its caption or a question and answer.</summary>
public sealed record SceneExample(Scene Scene, PromptResponse Text);

/// <summary>
/// The scene task as the data of a vision experiment: seeded training and held-out examples (caption
/// or question, <see cref="SceneTaskSpec.QuestionFraction"/>) as image batches, and held-out
/// questions for accuracy. Through <see cref="ITask"/> it shows the same examples' texts without
/// their images (what a text-only model would see).
/// </summary>
public sealed partial class SceneTask : ITask
{
    /// <summary>The task registered for the "scenes" kind.</summary>
    [Implements(typeof(SceneTaskSpec))]
    public static ITask Create(SceneTaskSpec spec, int seed) => new SceneTask(spec, seed);

    TaskSpec ITask.Spec => spec;
    public int VocabularySize => SceneVocabulary.Size;
    public int SequenceLength => spec.SequenceLength();
    /// <summary>The longest response: a caption's seven tokens.</summary>
    public int CompletionLength => SceneTaskSpec.CaptionTokens - SceneText.CaptionPrompt.Length;

    /// <summary>The <paramref name="index"/>-th example of a split: a question with probability
    /// QuestionFraction (one of the five, uniformly), else the scene's caption.</summary>
    public SceneExample SampleExample(SceneSplit split, long index)
    {
        var scene = SampleScene(split, index);
        var random = SeededRandom.For(seed, 3, (long)split, index);
        if (random.NextDouble() < spec.QuestionFraction)
        {
            var questions = SceneText.Questions(scene);
            return new SceneExample(scene, questions[random.Next(questions.Count)]);
        }
        return new SceneExample(scene, SceneText.Caption(scene));
    }

    /// <summary>Whether training step <paramref name="step"/> shows its texts without images (every TextOnlyEvery-th step).</summary>
    public bool IsTextOnlyStep(long step) => spec.TextOnlyEvery > 0 && step % spec.TextOnlyEvery == spec.TextOnlyEvery - 1;

    /// <summary>The training examples of micro-batch <paramref name="microIndex"/> of a step.</summary>
    public IReadOnlyList<SceneExample> TrainExamples(long step, int microIndex, int size) =>
        Enumerable.Range(0, size).Select(i => SampleExample(SceneSplit.Train, SeededRandom.Hash(step, microIndex, i))).ToList();

    /// <summary>Held-out examples of validation batch <paramref name="index"/>.</summary>
    public IReadOnlyList<SceneExample> ValidationExamples(int index, int size) =>
        Enumerable.Range(0, size).Select(i => SampleExample(SceneSplit.HeldOut, SeededRandom.Hash(0x56, index, i))).ToList();

    /// <summary>A training micro-batch with its images (none on text-only steps).</summary>
    public SceneBatch TrainImageBatch(long step, int microIndex, int size) =>
        SceneBatch.From(TrainExamples(step, microIndex, size), SequenceLength, withImages: !IsTextOnlyStep(step));

    /// <summary>A held-out batch, with images unless <paramref name="withImages"/> is false (the text-only loss).</summary>
    public SceneBatch ValidationImageBatch(int index, int size, bool withImages = true) =>
        SceneBatch.From(ValidationExamples(index, size), SequenceLength, withImages);

    /// <summary>Held-out questions for accuracy, the five kinds in turn; the same count gives the same questions.</summary>
    public IReadOnlyList<SceneExample> EvalQuestions(int count) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var scene = SampleScene(SceneSplit.HeldOut, SeededRandom.Hash(0x51, i));
            var questions = SceneText.Questions(scene);
            return new SceneExample(scene, questions[i % questions.Count]);
        }).ToList();

    /// <summary>Held-out captions for the exact-caption accuracy.</summary>
    public IReadOnlyList<SceneExample> EvalCaptions(int count) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var scene = SampleScene(SceneSplit.HeldOut, SeededRandom.Hash(0x43, i));
            return new SceneExample(scene, SceneText.Caption(scene));
        }).ToList();

    public Batch TrainBatch(long step, int microIndex, int size) => SceneBatch.Texts(TrainExamples(step, microIndex, size), SequenceLength);

    public Batch ValidationBatch(int index, int size) => SceneBatch.Texts(ValidationExamples(index, size), SequenceLength);

    /// <summary>The held-out questions as text problems (their images are not part of a <see cref="Problem"/>).</summary>
    public IReadOnlyList<Problem> EvalProblems(int count) =>
        EvalQuestions(count).Select(e => new Problem(e.Text.Prompt, e.Text.Response)).ToList();

    public int CompletionLengthOf(Problem problem) => problem.ReferenceCompletion.Length;

    /// <summary>Right when the completion starts with the answer word and &lt;eos&gt;.</summary>
    public bool Verify(Problem problem, ReadOnlySpan<long> completion) =>
        completion.Length >= problem.ReferenceCompletion.Length &&
        completion[..problem.ReferenceCompletion.Length].SequenceEqual(problem.ReferenceCompletion);
}

/// <summary>
/// Scene examples as a micro-batch: the texts as next-token tensors padded on the right to the
/// task's length (LossMask 1 on response targets only, Padding true on padded inputs) and the
/// images [B, 3, 32, 32], or null for a text-only batch.
/// </summary>
public sealed class SceneBatch : IDisposable
{
    private SceneBatch(Batch text, Tensor? images, IReadOnlyList<SceneExample> examples)
    {
        Text = text;
        Images = images;
        Examples = examples;
    }

    public Batch Text { get; }
    public Tensor? Images { get; }
    public IReadOnlyList<SceneExample> Examples { get; }

    public static SceneBatch From(IReadOnlyList<SceneExample> examples, int length, bool withImages) =>
        new(Texts(examples, length), withImages ? SceneRenderer.ToTensor(examples.Select(e => e.Scene).ToList()) : null, examples);

    /// <summary>Inputs are each sequence's tokens but the last, targets its tokens but the first, both padded to <paramref name="length"/>.</summary>
    public static Batch Texts(IReadOnlyList<SceneExample> examples, int length)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("a batch needs at least one example", nameof(examples));
        var size = examples.Count;
        var inputs = new long[size * length];
        var targets = new long[size * length];
        var mask = new float[size * length];
        var padding = new bool[size * length];
        Array.Fill(inputs, SceneVocabulary.Pad);
        Array.Fill(targets, SceneVocabulary.Pad);
        for (var b = 0; b < size; b++)
        {
            var text = examples[b].Text;
            var sequence = text.Sequence;
            if (sequence.Length - 1 > length)
                throw new ArgumentException($"example {b} has {sequence.Length} tokens, more than the task's {length + 1}");
            for (var t = 0; t < length; t++)
            {
                var i = b * length + t;
                if (t >= sequence.Length - 1) { padding[i] = true; continue; }
                inputs[i] = sequence[t];
                targets[i] = sequence[t + 1];
                mask[i] = t + 1 >= text.Prompt.Length ? 1f : 0f;
            }
        }
        long[] shape = [size, length];
        return new Batch(tensor(inputs, shape, ScalarType.Int64), tensor(targets, shape, ScalarType.Int64),
            tensor(mask, shape, ScalarType.Float32), Padding: tensor(padding, shape));
    }

    public void Dispose()
    {
        Text.Dispose();
        Images?.Dispose();
    }
}
