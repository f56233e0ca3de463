using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Vision;

namespace ModelDsl.Runtime.Tests.Vision;

public class ContrastMetricsTests
{
    private static ContrastPair Pair(SceneColor winner, SceneColor loser)
    {
        var w = new Scene(SceneShape.Circle, winner, SceneSize.Small, ScenePosition.Left, 1);
        var l = w with { Color = loser };
        return new ContrastPair(ContrastKind.Color, w, l, SceneText.CaptionPrompt, SceneText.Caption(w).Response, SceneText.Caption(l).Response);
    }

    [Fact]
    public void MetricsMatchTheHandCount()
    {
        // [Tw|Iw, Tw|0, Tw|Il, Tl|Il, Tl|0, Tl|Iw]
        var scores = new[]
        {
            new ContrastScores(-1, -2, -3, -1, -2, -4),   // both right
            new ContrastScores(-1, -2, -3, -5, -2, -4),   // winner right (-1 > -4), loser wrong (-5 < -3)
            new ContrastScores(-6, -2, -3, -1, -2, -4),   // winner wrong (-6 < -4), loser right (-1 > -3)
        };
        var pairs = new[]
        {
            Pair(SceneColor.Red, SceneColor.Blue),     // loser against the prior (circles are red)
            Pair(SceneColor.Green, SceneColor.Red),    // winner against the prior
            Pair(SceneColor.Yellow, SceneColor.Blue),  // both against the prior
        };
        var m = ContrastMetrics.From(scores, pairs);
        Assert.Equal(3, m.Pairs);
        Assert.Equal(1.0 / 3, m.PairedAccuracy, 12);
        Assert.Equal(4.0 / 6, m.MemberAccuracy, 12);
        // Against-prior members: pair0 loser (right), pair1 winner (right), pair2 winner (wrong), pair2 loser (right).
        Assert.Equal(4, m.AgainstPriorMembers);
        Assert.Equal(3.0 / 4, m.AgainstPriorAccuracy, 12);
        // Reliance: (1 + 1) + (1 - 3) + (-4 + 1) over 6 members.
        Assert.Equal(-3.0 / 6, m.VisualReliance, 12);
        Assert.Equal((1 + 1 - 4) / 3.0, m.MarginWinnerAttend, 12);
        Assert.Equal((1 + 1 + 1) / 3.0, m.MarginWinnerReject, 12);
        Assert.Equal((1 - 3 + 1) / 3.0, m.MarginLoserAttend, 12);
        Assert.Equal((2 + 2 + 2) / 3.0, m.MarginLoserReject, 12);

        // Relative to a reference the margins shift by the reference's margins.
        var reference = scores.Select(_ => new ContrastScores(0, -1, 0, 0, 0, -1)).ToArray();
        var relative = ContrastMetrics.From(scores, pairs, reference);
        Assert.Equal(m.MarginWinnerAttend - 1, relative.MarginWinnerAttend, 12);
        Assert.Equal(m.MarginWinnerReject + 1, relative.MarginWinnerReject, 12);
        Assert.Equal(m.MarginLoserReject - 1, relative.MarginLoserReject, 12);
        Assert.Equal(m.PairedAccuracy, relative.PairedAccuracy);

        // Per kind: the flip pair on its own, the colour pairs together.
        var flip = pairs[1] with { Kind = ContrastKind.Flip };
        var byKind = ContrastMetrics.ByKind(scores, [pairs[0], flip, pairs[2]]);
        Assert.Equal([ContrastKind.Color, ContrastKind.Flip], byKind.Keys);
        Assert.Equal(2, byKind[ContrastKind.Color].Pairs);
        Assert.Equal(0.5, byKind[ContrastKind.Color].PairedAccuracy, 12);
        Assert.Equal(0.0, byKind[ContrastKind.Flip].PairedAccuracy, 12);
        Assert.Equal(0.5, byKind[ContrastKind.Flip].MemberAccuracy, 12);
    }

    [Fact]
    public void WithoutPriorContradictingMembersThatAccuracyIsUndefined()
    {
        var m = ContrastMetrics.From([new ContrastScores(-1, -2, -3, -1, -2, -4)], [Pair(SceneColor.Red, SceneColor.Red)]);
        Assert.Equal(0, m.AgainstPriorMembers);
        Assert.True(double.IsNaN(m.AgainstPriorAccuracy));
        Assert.Throws<ArgumentException>(() => ContrastMetrics.From([], []));
    }
}
