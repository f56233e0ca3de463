namespace ModelDsl.Runtime.Parameters;

/// <summary>
/// What a layer states about one of its parameters (Name relative to the layer). Unstated facts
/// take the defaults of <see cref="ParameterCatalog"/>: a 1-D "bias" is a Bias, another 1-D
/// parameter a Norm gain, anything else a HiddenMatrix.
/// </summary>
public sealed record ParameterFacts(string Name, ParameterRole? Role = null)
{
    public IReadOnlyList<long>? RowBlocks { get; init; }
    public QueryKeyHeads? HeadBlocks { get; init; }
    public bool ResidualOutput { get; init; }

    public ParameterFacts Under(string prefix) => this with { Name = prefix + "." + Name };
}

/// <summary>A layer that publishes facts about its parameters (and those of the sub-layers it composes).</summary>
public interface IPublishesParameters
{
    IEnumerable<ParameterFacts> PublishedParameters { get; }
}

public static class PublishedParametersExtensions
{
    /// <summary>The facts of a sub-layer, renamed under <paramref name="prefix"/>; none when it publishes nothing.</summary>
    public static IEnumerable<ParameterFacts> Under(this object? layer, string prefix) =>
        layer is IPublishesParameters publisher ? publisher.PublishedParameters.Select(f => f.Under(prefix)) : [];
}
