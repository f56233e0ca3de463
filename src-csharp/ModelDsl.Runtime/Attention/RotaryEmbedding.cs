using TorchSharp;
using static ModelDsl.Runtime.Layers.HeldScalars;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Attention;

/// <summary>
/// Rotary position embedding (Su et al. 2021, RoFormer §3.4.2) in the "rotate-half" layout: the
/// pair (x_i, x_{i+d/2}) is rotated by the angle position * theta^(-2i/d). Rotating queries and keys
/// this way makes q·k depend on positions only through their difference.
/// The cos/sin tables cover every position up to the model's maximum sequence length; they are
/// non-persistent buffers (recomputable, so never parameters and never in checkpoints).
/// </summary>
public sealed class RotaryEmbedding : nn.Module<Tensor, long, Tensor>
{
    private readonly Tensor cos;
    private readonly Tensor sin;

    public RotaryEmbedding(int headDim, int maxSequenceLength, double theta, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(RotaryEmbedding))
    {
        if (headDim < 2 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "RoPE needs an even head dimension");
        if (maxSequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(maxSequenceLength), maxSequenceLength, "must be positive");
        if (!(theta > 1)) throw new ArgumentOutOfRangeException(nameof(theta), theta, "RoPE base must be greater than 1");
        HeadDim = headDim;
        MaxSequenceLength = maxSequenceLength;
        Theta = theta;

        // Angles in double precision, so that long positions keep their low-order bits.
        var half = headDim / 2;
        var cosTable = new double[maxSequenceLength * headDim];
        var sinTable = new double[maxSequenceLength * headDim];
        for (var position = 0; position < maxSequenceLength; position++)
            for (var i = 0; i < half; i++)
            {
                var angle = position * Math.Pow(theta, -2.0 * i / headDim);
                var (s, c) = Math.SinCos(angle);
                cosTable[position * headDim + i] = cosTable[position * headDim + i + half] = c;
                sinTable[position * headDim + i] = sinTable[position * headDim + i + half] = s;
            }
        cos = torch.tensor(cosTable, [maxSequenceLength, headDim], dtype: dtype, device: device);
        sin = torch.tensor(sinTable, [maxSequenceLength, headDim], dtype: dtype, device: device);
        register_buffer("cos", cos, persistent: false);
        register_buffer("sin", sin, persistent: false);
    }

    public int HeadDim { get; }
    public int MaxSequenceLength { get; }
    public double Theta { get; }

    /// <summary>Rotates x [.., T, HeadDim] whose tokens sit at positions start .. start+T-1.</summary>
    public override Tensor forward(Tensor x, long start)
    {
        var length = x.shape[^2];
        if (x.shape[^1] != HeadDim)
            throw new ArgumentException($"RoPE was built for head dimension {HeadDim}, got a tensor of shape [{string.Join(", ", x.shape)}]");
        if (start < 0 || start + length > MaxSequenceLength)
            throw new ArgumentOutOfRangeException(nameof(start),
                $"positions {start}..{start + length - 1} exceed the model's maxSequenceLength {MaxSequenceLength}");
        var c = Matching(cos.narrow(0, start, length), x);
        var s = Matching(sin.narrow(0, start, length), x);
        return (x * c).add(RotateHalf(x) * s, One);
    }

    /// <summary>The table rows in x's dtype and device. Module.to in TorchSharp 0.107 leaves
    /// non-persistent buffers where they are, so a moved or cast model converts the rows it uses.</summary>
    private static Tensor Matching(Tensor rows, Tensor x) =>
        rows.dtype == x.dtype && rows.device == x.device ? rows : rows.to(x.dtype, x.device);

    /// <summary>(x1, x2) -> (-x2, x1) on the two halves of the last dimension: the 90° rotation of every pair.</summary>
    private static Tensor RotateHalf(Tensor x)
    {
        var halves = x.chunk(2, -1);
        return torch.cat([-halves[1], halves[0]], -1);
    }
}
