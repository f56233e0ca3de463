using TorchSharp;
using TorchSharp.Modules;

namespace ModelDsl.Runtime.Parameters;

/// <summary>Every trainable parameter of a module once, in module order, with the facts its layers published.</summary>
public static class ParameterCatalog
{
    public static IReadOnlyList<NamedParameter> Of(torch.nn.Module root)
    {
        var facts = new Dictionary<string, ParameterFacts>(StringComparer.Ordinal);
        if (root is IPublishesParameters publisher)
            foreach (var fact in publisher.PublishedParameters)
                if (!facts.TryAdd(fact.Name, fact))
                    throw new InvalidOperationException($"parameter '{fact.Name}' is described twice");
        var parameters = root.named_parameters().ToList();
        var unknown = facts.Keys.Except(parameters.Select(p => p.name)).FirstOrDefault();
        if (unknown is not null) throw new InvalidOperationException($"facts were published for '{unknown}', which is not a parameter of the model");
        return parameters.Select(p =>
        {
            var fact = facts.GetValueOrDefault(p.name);
            return new NamedParameter(p.name, p.parameter, fact?.Role ?? DefaultRole(p.name, p.parameter), fact?.RowBlocks)
            {
                HeadBlocks = fact?.HeadBlocks,
                ResidualOutput = fact?.ResidualOutput ?? false,
            };
        }).ToList();
    }

    private static ParameterRole DefaultRole(string name, Parameter parameter) =>
        parameter.dim() == 1
            ? name.EndsWith(".bias", StringComparison.Ordinal) || name == "bias" ? ParameterRole.Bias : ParameterRole.Norm
            : ParameterRole.HiddenMatrix;
}
