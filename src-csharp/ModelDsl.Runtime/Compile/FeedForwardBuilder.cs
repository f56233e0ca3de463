using ModelDsl.Runtime.Variants;
using ModelDsl.Core.Model;
using ModelDsl.Runtime.Layers;

namespace ModelDsl.Runtime.Compile;

/// <summary>FeedForwardSpec -> feed-forward layer.</summary>
internal static class FeedForwardBuilder
{
    /// <summary>The layer registered for the feed-forward's kind, built from (spec, context, path).</summary>
    public static FeedForwardLayer Build(FeedForwardSpec spec, BuildContext context, string path) =>
        Implementations.Build<FeedForwardLayer>(spec, path, context, path);
}
