using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Vision;

namespace ModelDsl.Runtime.Tests.Vision;

public class SceneTests
{
    private const int S = SceneRenderer.ImageSize;
    private const int Plane = S * S;

    private static float Pixel(float[] image, int c, int y, int x) => image[c * Plane + y * S + x];
    private static bool Lit(float[] image, int p) => image[p] != 0 || image[Plane + p] != 0 || image[2 * Plane + p] != 0;

    private static bool[] Union(Scene scene) =>
        Enumerable.Range(0, Plane).Select(p => Enumerable.Range(0, scene.Count).Any(i => SceneRenderer.ObjectMask(scene, i)[p])).ToArray();

    public static TheoryData<ContrastKind> Kinds => new() { ContrastKind.Color, ContrastKind.Position, ContrastKind.Count, ContrastKind.Flip };

    [Fact]
    public void EveryObjectIsDrawnInsideTheCanvasWithoutOverlapInItsColour()
    {
        foreach (var scene in Scene.All())
        {
            var image = SceneRenderer.Render(scene);
            var masks = Enumerable.Range(0, scene.Count).Select(i => SceneRenderer.ObjectMask(scene, i)).ToList();
            var (r, g, b) = SceneRenderer.Rgb(scene.Color);
            for (var p = 0; p < Plane; p++)
            {
                var covering = masks.Count(m => m[p]);
                Assert.True(covering <= 1, $"{scene}: objects overlap at pixel {p}");
                if (covering == 1) Assert.Equal((r, g, b), (image[p], image[Plane + p], image[2 * Plane + p]));
                else Assert.False(Lit(image, p), $"{scene}: background pixel {p} is lit");
            }
            var side = 2 * SceneRenderer.HalfExtent(scene.Size) + 1;
            // Every object spans its full height, so none was clipped at the border.
            Assert.All(masks, m => Assert.Equal(side, Enumerable.Range(0, S).Count(y => Enumerable.Range(0, S).Any(x => m[y * S + x]))));
        }
        // The three shapes differ in pixels at both sizes.
        foreach (var size in Enum.GetValues<SceneSize>())
        {
            var images = Enum.GetValues<SceneShape>().Select(shape => SceneRenderer.Render(new Scene(shape, SceneColor.Red, size, ScenePosition.Left, 1))).ToList();
            Assert.Equal(3, images.Select(i => string.Join(",", i)).Distinct().Count());
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void PairsDifferInExactlyTheStatedAttributeOnThePixelsAndInOneWord(ContrastKind kind)
    {
        var task = new SceneTask(new SceneTaskSpec { ContrastKinds = new[] { kind } }, seed: 21);
        for (var i = 0; i < 40; i++)
        {
            var pair = task.SamplePair(SceneSplit.Train, i);
            Assert.Equal(kind, pair.Kind);
            var (w, l) = (SceneRenderer.Render(pair.Winner), SceneRenderer.Render(pair.Loser));
            Assert.NotEqual(w, l);
            switch (kind)
            {
                case ContrastKind.Color:
                    // Same objects; the pixels that change are exactly the objects' pixels.
                    var objects = Union(pair.Winner);
                    Assert.Equal(objects, Union(pair.Loser));
                    for (var p = 0; p < Plane; p++)
                        Assert.Equal(objects[p], Enumerable.Range(0, 3).Any(c => w[c * Plane + p] != l[c * Plane + p]));
                    break;
                case ContrastKind.Flip:
                    // The loser is the exact mirror image.
                    for (var c = 0; c < 3; c++)
                        for (var y = 0; y < S; y++)
                            for (var x = 0; x < S; x++)
                                Assert.Equal(Pixel(w, c, y, x), Pixel(l, c, y, S - 1 - x));
                    break;
                case ContrastKind.Position:
                    // Top and bottom: the same picture translated by 15 rows, nothing lit elsewhere.
                    var shift = pair.Winner.Position == ScenePosition.Top ? 15 : -15;
                    for (var c = 0; c < 3; c++)
                        for (var y = 0; y < S; y++)
                            for (var x = 0; x < S; x++)
                            {
                                var source = y - shift;
                                var expected = source >= 0 && source < S ? Pixel(w, c, source, x) : 0f;
                                Assert.Equal(expected, Pixel(l, c, y, x));
                            }
                    break;
                case ContrastKind.Count:
                    // The smaller group's pixels are unchanged; the difference is exactly the extra objects.
                    var (few, many) = pair.Winner.Count < pair.Loser.Count ? (pair.Winner, pair.Loser) : (pair.Loser, pair.Winner);
                    var (fewImage, manyImage) = (SceneRenderer.Render(few), SceneRenderer.Render(many));
                    var extra = Enumerable.Range(few.Count, many.Count - few.Count).Select(k => SceneRenderer.ObjectMask(many, k)).ToList();
                    for (var p = 0; p < Plane; p++)
                    {
                        var inExtra = extra.Any(m => m[p]);
                        for (var c = 0; c < 3; c++)
                            if (!inExtra) Assert.Equal(fewImage[c * Plane + p], manyImage[c * Plane + p]);
                        if (inExtra) Assert.True(Lit(manyImage, p) && !Lit(fewImage, p));
                    }
                    break;
            }
            // The scenes differ in exactly the stated attribute.
            var differing = AttributeDifferences(pair.Winner, pair.Loser);
            Assert.Equal([kind == ContrastKind.Flip ? "position" : kind.ToString().ToLowerInvariant()], differing);
            // The texts share the prompt and differ in exactly one word, the attribute's.
            Assert.Equal(pair.WinnerResponse.Length, pair.LoserResponse.Length);
            var positions = Enumerable.Range(0, pair.WinnerResponse.Length).Where(t => pair.WinnerResponse[t] != pair.LoserResponse[t]).ToList();
            var index = Assert.Single(positions);
            var word = SceneVocabulary.Words[(int)pair.WinnerResponse[index]];
            var expectedWord = kind switch
            {
                ContrastKind.Color => SceneVocabulary.Word(pair.Winner.Color),
                ContrastKind.Count => SceneVocabulary.CountWord(pair.Winner.Count),
                _ => SceneVocabulary.Word(pair.Winner.Position),
            };
            Assert.Equal(expectedWord, word);
            Assert.Equal(pair.WinnerAgainstPrior, pair.Winner.Color != Scene.TypicalColor(pair.Winner.Shape));
        }
    }

    private static List<string> AttributeDifferences(Scene a, Scene b)
    {
        var result = new List<string>();
        if (a.Shape != b.Shape) result.Add("shape");
        if (a.Color != b.Color) result.Add("color");
        if (a.Size != b.Size) result.Add("size");
        if (a.Position != b.Position) result.Add("position");
        if (a.Count != b.Count) result.Add("count");
        return result;
    }

    [Fact]
    public void DrawsAreDeterministicPerSeedAndIndexAndDifferAcrossSeeds()
    {
        var spec = new SceneTaskSpec();
        var a = new SceneTask(spec, seed: 5);
        var b = new SceneTask(spec, seed: 5);
        var c = new SceneTask(spec, seed: 6);
        var pairsA = Enumerable.Range(0, 30).Select(i => a.SamplePair(SceneSplit.Train, i)).ToList();
        var pairsB = Enumerable.Range(0, 30).Reverse().Select(i => b.SamplePair(SceneSplit.Train, i)).Reverse().ToList();
        Assert.Equal(pairsA.Select(Describe), pairsB.Select(Describe));
        Assert.NotEqual(pairsA.Select(Describe), Enumerable.Range(0, 30).Select(i => Describe(c.SamplePair(SceneSplit.Train, i))));
        Assert.Equal(a.SampleScene(SceneSplit.HeldOut, 17), b.SampleScene(SceneSplit.HeldOut, 17));
    }

    private static string Describe(ContrastPair p) => $"{p.Kind} {p.Winner} {p.Loser} {SceneVocabulary.Decode(p.WinnerResponse)} {SceneVocabulary.Decode(p.LoserResponse)}";

    [Fact]
    public void TrainingDrawsNeverUseHeldOutScenesAndHeldOutPairsHaveHeldOutWinners()
    {
        var task = new SceneTask(new SceneTaskSpec { HeldOutFraction = 0.25 }, seed: 3);
        var heldOut = Scene.All().Count(task.IsHeldOut);
        Assert.InRange(heldOut, 288 / 8, 288 / 2);
        for (var i = 0; i < 200; i++)
        {
            Assert.False(task.IsHeldOut(task.SampleScene(SceneSplit.Train, i)));
            var train = task.SamplePair(SceneSplit.Train, i);
            Assert.False(task.IsHeldOut(train.Winner) || task.IsHeldOut(train.Loser));
            Assert.True(task.IsHeldOut(task.SamplePair(SceneSplit.HeldOut, i).Winner));
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.8)]
    [InlineData(0.0)]
    public void PriorStrengthSetsHowOftenAShapeTakesItsTypicalColour(double strength)
    {
        var task = new SceneTask(new SceneTaskSpec { PriorStrength = strength, HeldOutFraction = 0 }, seed: 8);
        const int n = 4000;
        var typical = Enumerable.Range(0, n).Count(i => !task.SampleScene(SceneSplit.Train, i).AgainstPrior);
        // P(typical) = strength + (1 - strength) / 4; binomial standard deviation <= 0.008 at n = 4000.
        var expected = strength + (1 - strength) / 4;
        Assert.InRange((double)typical / n, expected - 0.035, expected + 0.035);
    }

    [Fact]
    public void CaptionsAndQuestionsFollowTheTemplatesOverTheVocabulary()
    {
        var scene = new Scene(SceneShape.Triangle, SceneColor.Yellow, SceneSize.Large, ScenePosition.Bottom, 2);
        var caption = SceneText.Caption(scene);
        Assert.Equal("<bos> describe : two large yellow triangle at bottom <eos>", SceneVocabulary.Decode(caption.Sequence));
        var questions = SceneText.Questions(scene).Select(q => SceneVocabulary.Decode(q.Sequence)).ToList();
        Assert.Equal(["<bos> what color ? yellow <eos>", "<bos> what shape ? triangle <eos>", "<bos> what size ? large <eos>",
            "<bos> where ? bottom <eos>", "<bos> how many ? two <eos>"], questions);
        Assert.True(scene.AgainstPrior);
        Assert.Throws<ArgumentException>(() => SceneVocabulary.Encode("purple"));
    }
}
