using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Generation;

/// <summary>
/// How the next token is drawn from the model's logits. Temperature 0 means greedy (argmax).
/// Otherwise the distribution is softmax(logits / Temperature), truncated to the smallest set of
/// most likely tokens whose mass reaches TopP (nucleus sampling, Holtzman et al. 2020, §3.1).
/// </summary>
public sealed record SamplingSpec
{
    public double Temperature { get; init; } = 1.0;
    /// <summary>Nucleus mass in (0, 1]; 1 keeps the whole distribution.</summary>
    public double TopP { get; init; } = 1.0;

    [System.Text.Json.Serialization.JsonIgnore]
    public bool Greedy => Temperature == 0;

    public void Validate(Validator v, string path)
    {
        v.NonNegative(Temperature, $"{path}.temperature");
        v.Require(TopP > 0 && TopP <= 1, $"{path}.topP", $"{Validator.Show(TopP)} must lie in (0, 1]");
    }
}
