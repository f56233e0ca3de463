namespace ModelDsl.Core.Variants;

/// <summary>
/// Registers an IR record as one variant of a polymorphic family (an abstract IR record such as
/// <see cref="Training.OptimizerSpec"/>) under the name its JSON "kind" discriminator uses. This
/// attribute is the only registration a variant needs: JSON, the runtime's builders, the DSL and
/// the test generators all find variants through <see cref="VariantRegistry"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class KindAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
