using ModelDsl.Core.Vision;
using ModelDsl.Runtime.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Vision;

/// <summary>The objectives against hand computations in double precision: softplus(-z) written out,
/// derivatives by the chain rule.</summary>
public class PreferenceLossTests
{
    /// <summary>-log s(z) = max(-z, 0) + log(1 + e^-|z|), exact in double for any z.</summary>
    private static double NegLogSigmoid(double z) => Math.Max(-z, 0) + Log1P(Math.Exp(-Math.Abs(z)));

    /// <summary>log(1 + x) for x in [0, 1]; the series x - x^2/2 + x^3/3 where 1 + x would round away x.</summary>
    private static double Log1P(double x) => x < 1e-5 ? x - x * x / 2 + x * x * x / 3 : Math.Log(1 + x);

    /// <summary>A leaf's gradient at one index; a leaf the loss does not use has none, i.e. zero.</summary>
    private static double Grad(Tensor leaf, int index) => leaf.grad is null ? 0.0 : leaf.grad[index].item<double>();
    private static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    private static Tensor Leaf(params double[] values) => torch.tensor(values, dtype: ScalarType.Float64).requires_grad_(true);

    private static void Close(double expected, double actual, double relative = 1e-12) =>
        Assert.True(Math.Abs(expected - actual) <= relative * Math.Max(Math.Abs(expected), 1e-300),
            $"expected {expected:G17}, got {actual:G17}");

    // Policy and reference values for two pairs: [Tw|Iw, Tw|0, Tw|Il, Tl|Il, Tl|0, Tl|Iw].
    private static readonly double[][] Policy = [[-3.0, -5.5, -7.0, -4.0, -6.0, -9.5], [-2.0, -2.5, -1.0, -8.0, -7.0, -6.0]];
    private static readonly double[][] Reference = [[-4.0, -5.0, -6.0, -4.5, -5.0, -8.0], [-2.5, -3.0, -2.0, -7.0, -7.5, -6.5]];

    private static (ContrastLogProbs Policy, ContrastLogProbs Reference, Tensor[] Leaves) Inputs()
    {
        var leaves = Enumerable.Range(0, 6).Select(j => Leaf(Policy[0][j], Policy[1][j])).ToArray();
        var reference = Enumerable.Range(0, 6).Select(j => torch.tensor(new[] { Reference[0][j], Reference[1][j] }, dtype: ScalarType.Float64)).ToArray();
        return (new ContrastLogProbs(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5]),
            new ContrastLogProbs(reference[0], reference[1], reference[2], reference[3], reference[4], reference[5]), leaves);
    }

    [Theory]
    [InlineData(0.1, 0.1, 0.1, 0.1)]
    [InlineData(0.5, 0.0, 2.0, -1.0)]   // terms 2 and 4 disabled
    public void SvcoLossAndGradientsMatchTheHandComputation(double b1, double b2, double b3, double b4)
    {
        using var scope = NewDisposeScope();
        var (policy, reference, leaves) = Inputs();
        var spec = new SvcoSpec { BetaWinnerAttend = b1, BetaWinnerReject = b2, BetaLoserAttend = b3, BetaLoserReject = b4 };
        var result = PreferenceLosses.Svco(policy, reference, spec);
        result.Loss.backward();

        double[] betas = [b1, b2, b3, b4];
        double expectedLoss = 0;
        var expectedGrad = new double[6, 2];
        for (var b = 0; b < 2; b++)
        {
            var l = Enumerable.Range(0, 6).Select(j => Policy[b][j] - Reference[b][j]).ToArray();
            double[] m = [l[0] - l[1], l[1] - l[2], l[3] - l[4], l[4] - l[5]];
            for (var i = 0; i < 4; i++)
                Close(m[i], result.Margins[i][b].item<double>());
            // d/dm of -log s(beta m) = -beta s(-beta m); enabled terms only; loss is the mean over 2 pairs.
            var g = new double[4];
            for (var i = 0; i < 4; i++)
            {
                if (betas[i] <= 0) continue;
                expectedLoss += NegLogSigmoid(betas[i] * m[i]) / 2;
                g[i] = -betas[i] * Sigmoid(-betas[i] * m[i]) / 2;
            }
            expectedGrad[0, b] = g[0];
            expectedGrad[1, b] = -g[0] + g[1];
            expectedGrad[2, b] = -g[1];
            expectedGrad[3, b] = g[2];
            expectedGrad[4, b] = -g[2] + g[3];
            expectedGrad[5, b] = -g[3];
        }
        Close(expectedLoss, result.Loss.item<double>());
        for (var j = 0; j < 6; j++)
            for (var b = 0; b < 2; b++)
            {
                var actual = Grad(leaves[j], b);
                if (expectedGrad[j, b] == 0) Assert.Equal(0.0, actual);
                else Close(expectedGrad[j, b], actual, 1e-10);
            }
    }

    [Fact]
    public void AtTheReferenceEveryTermIsLogTwoWithSlopeMinusHalfBeta()
    {
        using var scope = NewDisposeScope();
        var constant = Enumerable.Range(0, 6).Select(_ => torch.tensor(new[] { -3.0 }, dtype: ScalarType.Float64)).ToArray();
        var same = new ContrastLogProbs(constant[0], constant[1], constant[2], constant[3], constant[4], constant[5]);
        var leaves = Enumerable.Range(0, 6).Select(_ => Leaf(-3.0)).ToArray();
        var policy = new ContrastLogProbs(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5]);
        var result = PreferenceLosses.Svco(policy, same, new SvcoSpec());
        Close(4 * Math.Log(2), result.Loss.item<double>());
        result.Loss.backward();
        // Tw|Iw appears only in m1: slope -0.1 * 0.5; Tw|0 in m1 and m2 with opposite signs: slopes cancel.
        Close(-0.05, leaves[0].grad!.item<double>());
        Assert.Equal(0.0, leaves[1].grad!.item<double>());
    }

    [Theory]
    [InlineData(60.0)]
    [InlineData(-60.0)]
    [InlineData(800.0)]
    [InlineData(-800.0)]
    public void SaturatedMarginsKeepTheirValueAndSlope(double z)
    {
        using var scope = NewDisposeScope();
        // beta = 1 so that the argument is the margin itself; reference zero.
        var preferred = Leaf(z);
        var rejected = Leaf(0.0);
        var zero = torch.zeros(1, dtype: ScalarType.Float64);
        var result = PreferenceLosses.TextDpo(preferred, rejected, zero, zero, beta: 1.0);
        result.Loss.backward();
        var expected = NegLogSigmoid(z);   // 8.7565e-27 at z = 60; 60 + 8.7565e-27 at -60
        Assert.True(double.IsFinite(result.Loss.item<double>()));
        Close(expected, result.Loss.item<double>());
        Close(-Sigmoid(-z), preferred.grad!.item<double>(), 1e-10);
        Close(Sigmoid(-z), rejected.grad!.item<double>(), 1e-10);
        if (z == 60)
        {
            // The naive form loses the whole value: sigmoid(60) rounds to 1 and log(1) = 0.
            var naive = -torch.log(torch.sigmoid(torch.tensor(z, dtype: ScalarType.Float64))).item<double>();
            Assert.Equal(0.0, naive);
            Assert.True(expected > 8e-27);
        }
        if (z == -800)
        {
            // ... and at large negative margins it overflows: sigmoid(-800) underflows to 0.
            Assert.True(double.IsPositiveInfinity(-torch.log(torch.sigmoid(torch.tensor(z, dtype: ScalarType.Float64))).item<double>()));
            Close(800.0, result.Loss.item<double>());
        }
    }

    [Fact]
    public void TextAndImageDpoUseTheirOwnMarginsAndBeta()
    {
        using var scope = NewDisposeScope();
        var (policy, reference, leaves) = Inputs();
        var text = PreferenceLosses.Of(new PreferenceSpec { Kind = PreferenceKind.TextDpo, Beta = 0.3 }, policy, reference);
        var image = PreferenceLosses.Of(new PreferenceSpec { Kind = PreferenceKind.ImageDpo, Beta = 0.7 }, policy, reference);
        (text.Loss + image.Loss).backward();
        double textLoss = 0, imageLoss = 0;
        for (var b = 0; b < 2; b++)
        {
            var l = Enumerable.Range(0, 6).Select(j => Policy[b][j] - Reference[b][j]).ToArray();
            var textMargin = l[0] - l[5];    // Tw vs Tl given Iw
            var imageMargin = l[0] - l[2];   // Tw given Iw vs Tw given Il
            Close(textMargin, text.Margins[0][b].item<double>());
            Close(imageMargin, image.Margins[0][b].item<double>());
            textLoss += NegLogSigmoid(0.3 * textMargin) / 2;
            imageLoss += NegLogSigmoid(0.7 * imageMargin) / 2;
            var gText = -0.3 * Sigmoid(-0.3 * textMargin) / 2;
            var gImage = -0.7 * Sigmoid(-0.7 * imageMargin) / 2;
            Close(gText + gImage, Grad(leaves[0], b), 1e-10);
            Close(-gText, Grad(leaves[5], b), 1e-10);
            Close(-gImage, Grad(leaves[2], b), 1e-10);
            Assert.Equal(0.0, Grad(leaves[1], b));
            Assert.Equal(0.0, Grad(leaves[3], b));
        }
        Close(textLoss, text.Loss.item<double>());
        Close(imageLoss, image.Loss.item<double>());
        Assert.Throws<ArgumentOutOfRangeException>(() => PreferenceLosses.TextDpo(leaves[0], leaves[1], leaves[0], leaves[1], beta: 0));
        Assert.Throws<Core.Validation.SpecValidationException>(() =>
            PreferenceLosses.Svco(policy, reference, new SvcoSpec { BetaWinnerAttend = 0, BetaWinnerReject = 0, BetaLoserAttend = 0, BetaLoserReject = 0 }));
    }
}
