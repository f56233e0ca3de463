using TorchSharp;

namespace ModelDsl.Runtime.Layers;

/// <summary>
/// Scalars that live as long as the process. An operation given a temporary Scalar (an implicit
/// conversion from a number, or TorchSharp's own <c>square()</c>) passes only its native handle to
/// libtorch, so the garbage collector may finalize and free it while the call still reads it; a
/// training run then dies with "INTERNAL ASSERT FAILED at c10/core/Scalar.h" or "Unknown scalar
/// type". Hot paths use these instead.
/// </summary>
public static class HeldScalars
{
    public static readonly Scalar Two = 2;

    /// <summary>x², as <c>x.square()</c> computes it (pow with exponent 2), with a held exponent.</summary>
    public static torch.Tensor Squared(this torch.Tensor x) => x.pow(Two);
}
