using ModelDsl.Core.Validation;
using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Vision;

/// <summary>Which part of the scene space an example comes from.</summary>
public enum SceneSplit { Train, HeldOut }

/// <summary>
/// Seeded scene data for a <see cref="SceneTaskSpec"/>: captioned scenes drawn under the language
/// prior, and minimal contrast pairs. Every draw is a pure function of (seed, split, stream, index),
/// so any example can be regenerated alone. A scene is held out when a hash of (seed, its attributes)
/// falls in the held-out fraction; training draws never produce a held-out scene, and a held-out pair
/// has a held-out winner scene.
/// </summary>
public sealed partial class SceneTask
{
    private const int MaxAttempts = 10_000;
    private readonly SceneTaskSpec spec;
    private readonly long seed;

    public SceneTask(SceneTaskSpec spec, long seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var v = new Validator();
        spec.Validate(v, "sceneTask");
        v.ThrowIfAny();
        this.spec = spec;
        this.seed = seed;
        // The IR states the task's sizes without the runtime's word list; they must agree.
        if (SceneVocabulary.Size != SceneTaskSpec.Vocabulary || SceneText.Caption(Scene.All().First()).Sequence.Length != SceneTaskSpec.CaptionTokens)
            throw new InvalidOperationException("the scene vocabulary or caption template disagrees with SceneTaskSpec's sizes");
        var heldOut = Scene.All().Count(IsHeldOut);
        if (heldOut == 0 && spec.HeldOutFraction > 0)
            throw new ArgumentException($"sceneTask.heldOutFraction: {spec.HeldOutFraction} holds out no scene for seed {seed}");
    }

    public SceneTaskSpec Spec => spec;

    public bool IsHeldOut(Scene scene) =>
        spec.HeldOutFraction > 0 &&
        (uint)SeededRandom.Hash(seed, 0x4845, (long)scene.Shape, (long)scene.Color, (long)scene.Size, (long)scene.Position, scene.Count) % 1_000_000
            < spec.HeldOutFraction * 1_000_000;

    public SceneSplit SplitOf(Scene scene) => IsHeldOut(scene) ? SceneSplit.HeldOut : SceneSplit.Train;

    /// <summary>The <paramref name="index"/>-th scene of a split, drawn under the prior.</summary>
    public Scene SampleScene(SceneSplit split, long index)
    {
        var random = SeededRandom.For(seed, 1, (long)split, index);
        return Draw(random, split, _ => true);
    }

    /// <summary>The <paramref name="index"/>-th captioned scene of a split.</summary>
    public (Scene Scene, PromptResponse Text) SampleCaption(SceneSplit split, long index)
    {
        var scene = SampleScene(split, index);
        return (scene, SceneText.Caption(scene));
    }

    /// <summary>
    /// The <paramref name="index"/>-th contrast pair of a split: a kind drawn uniformly from the spec's,
    /// a winner scene drawn under the prior (left/right for a flip, top/bottom for a position pair),
    /// and the loser obtained by changing exactly that attribute. Both scenes of a training pair are
    /// training scenes; the winner of a held-out pair is held out.
    /// </summary>
    public ContrastPair SamplePair(SceneSplit split, long index)
    {
        var random = SeededRandom.For(seed, 2, (long)split, index);
        var kind = spec.ContrastKinds[random.Next(spec.ContrastKinds.Count)];
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var winner = Draw(random, split, s => Fits(kind, s));
            var loser = Contrast(kind, winner, random);
            if (split == SceneSplit.Train && IsHeldOut(loser)) continue;
            var prompt = SceneText.CaptionPrompt;
            return new ContrastPair(kind, winner, loser, prompt, SceneText.Caption(winner).Response, SceneText.Caption(loser).Response);
        }
        throw new InvalidOperationException($"no {kind} contrast pair found in the {split} split after {MaxAttempts} attempts");
    }

    private static bool Fits(ContrastKind kind, Scene scene) => kind switch
    {
        ContrastKind.Flip => scene.Position is ScenePosition.Left or ScenePosition.Right,
        ContrastKind.Position => scene.Position is ScenePosition.Top or ScenePosition.Bottom,
        _ => true,
    };

    /// <summary>The scene with exactly one attribute changed.</summary>
    public static Scene Contrast(ContrastKind kind, Scene scene, Random random) => kind switch
    {
        ContrastKind.Color => scene with { Color = Other(scene.Color, random) },
        ContrastKind.Count => scene with { Count = OtherCount(scene.Count, random) },
        ContrastKind.Flip => scene.Position switch
        {
            ScenePosition.Left => scene with { Position = ScenePosition.Right },
            ScenePosition.Right => scene with { Position = ScenePosition.Left },
            _ => throw new ArgumentException($"a flip pair needs a left or right scene, got {scene.Position}"),
        },
        ContrastKind.Position => scene.Position switch
        {
            ScenePosition.Top => scene with { Position = ScenePosition.Bottom },
            ScenePosition.Bottom => scene with { Position = ScenePosition.Top },
            _ => throw new ArgumentException($"a position pair needs a top or bottom scene, got {scene.Position}"),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private Scene Draw(Random random, SceneSplit split, Func<Scene, bool> accept)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var shape = (SceneShape)random.Next(3);
            var color = random.NextDouble() < spec.PriorStrength ? Scene.TypicalColor(shape) : (SceneColor)random.Next(4);
            var scene = new Scene(shape, color, (SceneSize)random.Next(2), (ScenePosition)random.Next(4), 1 + random.Next(Scene.MaxCount));
            if (accept(scene) && SplitOf(scene) == split) return scene;
        }
        throw new InvalidOperationException($"no scene of the {split} split found after {MaxAttempts} attempts (heldOutFraction {spec.HeldOutFraction})");
    }

    private static SceneColor Other(SceneColor color, Random random) => (SceneColor)(((int)color + 1 + random.Next(3)) % 4);

    private static int OtherCount(int count, Random random) => 1 + (count - 1 + 1 + random.Next(Scene.MaxCount - 1)) % Scene.MaxCount;
}
