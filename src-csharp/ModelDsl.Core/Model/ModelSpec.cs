using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Model;

/// <summary>
/// A decoder-only language model: token embedding, a stack of blocks (heterogeneous stacks are
/// normal), a final norm and an output head. The root of the model config tree; the runtime's
/// ModelCompiler turns it into a module.
/// </summary>
public sealed record ModelSpec
{
    public int Vocab { get; init; } = 256;
    public int Width { get; init; } = 256;
    public ValueList<BlockSpec> Blocks { get; init; } = ValueList<BlockSpec>.Empty;
    public NormSpec FinalNorm { get; init; } = new RmsNorm();
    /// <summary>Share the embedding matrix with the output head.</summary>
    public bool TiedHead { get; init; } = true;
    public InitSpec Init { get; init; } = new();
    /// <summary>Longest sequence the model is built for (RoPE tables, KV-cache capacity).</summary>
    public int MaxSequenceLength { get; init; } = 1024;

    /// <summary>A Llama-style stack of identical blocks.</summary>
    public static ModelSpec Llama(int vocab, int width, int depth, int heads, int? kvHeads = null) => new()
    {
        Vocab = vocab,
        Width = width,
        Blocks = ValueList.Repeat(new BlockSpec { Attention = new AttentionSpec { Heads = heads, KvHeads = kvHeads } }, depth),
    };

    public void Validate(Validator v, string path)
    {
        // Upper bounds catch a typo (an extra zero) before it allocates: far above anything trained here.
        v.Require(Vocab >= 2, $"{path}.vocab", $"{Vocab} must be at least 2");
        v.Require(Width >= 1, $"{path}.width", $"{Width} must be positive");
        v.Require(MaxSequenceLength >= 1, $"{path}.maxSequenceLength", $"{MaxSequenceLength} must be positive");
        v.Require(Vocab <= SizeLimits.Vocab, $"{path}.vocab", $"{Vocab} is over the limit {SizeLimits.Vocab}");
        v.Require(Width <= SizeLimits.Width, $"{path}.width", $"{Width} is over the limit {SizeLimits.Width}");
        v.Require(MaxSequenceLength <= SizeLimits.SequenceLength, $"{path}.maxSequenceLength",
            $"{MaxSequenceLength} is over the limit {SizeLimits.SequenceLength}");
        if (Blocks is not null)
            v.Require(Blocks.Count <= SizeLimits.Depth, $"{path}.blocks", $"{Blocks.Count} blocks: over the limit {SizeLimits.Depth}");
        if (Blocks is null || Blocks.Count == 0)
            v.Fail($"{path}.blocks", "a model needs at least one block (zero layers given)");
        else
            for (var i = 0; i < Blocks.Count; i++)
            {
                if (Blocks[i] is null) v.Fail($"{path}.blocks[{i}]", "is missing");
                else Blocks[i].Validate(v, $"{path}.blocks[{i}]", this);
            }
        if (FinalNorm is null) v.Fail($"{path}.finalNorm", "is missing");
        else FinalNorm.Validate(v, $"{path}.finalNorm");
        if (Init is null) v.Fail($"{path}.init", "is missing");
        else Init.Validate(v, $"{path}.init");
    }

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        Validate(v, "model");
        return v.Errors;
    }
}

/// <summary>Weight initialisation: normal(0, Std) for matrices, with the residual-output
/// projections scaled by 1/sqrt(2 * depth) when <see cref="ScaleResidualOutputs"/> (GPT-2 §2.3).</summary>
public sealed record InitSpec
{
    public double Std { get; init; } = 0.02;
    public double EmbeddingStd { get; init; } = 0.02;
    public bool ScaleResidualOutputs { get; init; } = true;

    public void Validate(Validator v, string path)
    {
        v.Positive(Std, $"{path}.std");
        v.Positive(EmbeddingStd, $"{path}.embeddingStd");
    }
}
