namespace ModelDsl.Runtime.Variants;

/// <summary>
/// Registers the runtime implementation of one IR variant, beside that implementation: on a class,
/// its constructor whose first parameter is the variant's record builds it; on a static method,
/// the method does (for variants that choose between classes, e.g. a dense feed-forward by activation).
/// The remaining parameters are the context its family passes (see <see cref="Implementations"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = true, Inherited = false)]
public sealed class ImplementsAttribute(Type spec) : Attribute
{
    public Type Spec { get; } = spec;
}
