using ModelDsl.Runtime.Compile;
using static TorchSharp.torch;
using ModelDsl.Runtime.Model;

namespace ModelDsl.Runtime.Rl;

/// <summary>The frozen reference model of the KL penalty.</summary>
public static class ReferencePolicy
{
    /// <summary>A copy of the policy's current weights that takes no gradient.</summary>
    public static LanguageModel FrozenCopy(LanguageModel policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var copy = ModelCompiler.Build(policy.Spec, policy.Dtype, policy.Device);
        using (no_grad())
        {
            var source = policy.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, parameter) in copy.named_parameters())
            {
                parameter.copy_(source[name]);
                parameter.requires_grad = false;
            }
        }
        copy.eval();
        return copy;
    }
}
