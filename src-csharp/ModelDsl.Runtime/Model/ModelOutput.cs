using ModelDsl.Runtime.Layers;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Model;

/// <summary>Logits [B, T, vocab] and the auxiliary losses the layers produced on the way.</summary>
public sealed record ModelOutput(Tensor Logits, AuxiliaryLosses AuxiliaryLosses);
