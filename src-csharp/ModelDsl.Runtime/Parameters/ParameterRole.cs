namespace ModelDsl.Runtime.Parameters;

/// <summary>
/// What a parameter is for, published by the layer that owns it. Optimizer group rules, weight
/// decay, initialisation and FLOP counts read roles, never names or shapes.
/// </summary>
public enum ParameterRole
{
    /// <summary>A projection inside the blocks (q/k/v/o, feed-forward, experts, PaTH's w and β).</summary>
    HiddenMatrix,
    /// <summary>The token embedding (also the output head when tied).</summary>
    Embedding,
    /// <summary>An untied output matrix.</summary>
    Head,
    /// <summary>Norm gains.</summary>
    Norm,
    Bias,
    /// <summary>A mixture-of-experts router's scoring matrix.</summary>
    Router,
    /// <summary>A short causal convolution's filter (PaTH's depthwise convolution, [channels, kernel]).</summary>
    ConvolutionFilter,
    /// <summary>A gate's projection (an attention gate at G1-G5, PaTH's forget gate).</summary>
    Gate,
}

/// <summary>
/// The group rules every optimizer shares. Routers, gates and convolution filters are matrices
/// that are trained like hidden matrices (orthogonalised by Muon and Scion, decayed); this is a
/// choice stated here, and changing it is a one-line change with a measurable effect (the
/// recorded-loss test pins today's choice).
/// </summary>
public static class ParameterRoles
{
    /// <summary>Decoupled weight decay applies to matrices and an untied head, never to embeddings, norm gains or biases.</summary>
    public static bool Decayed(this ParameterRole role) =>
        role is ParameterRole.HiddenMatrix or ParameterRole.Head or ParameterRole.Router or ParameterRole.ConvolutionFilter or ParameterRole.Gate;

    /// <summary>Trained as a matrix by matrix optimizers (Muon, Scion) when at least 2-D; every other role takes their element-wise fallback.</summary>
    public static bool MatrixGroup(this ParameterRole role) =>
        role is ParameterRole.HiddenMatrix or ParameterRole.Router or ParameterRole.ConvolutionFilter or ParameterRole.Gate;

    /// <summary>Takes part in the matmuls of a forward pass (6 FLOPs per parameter per token in training); the head is counted by the model.</summary>
    public static bool Matmul(this ParameterRole role) => role.MatrixGroup();
}
