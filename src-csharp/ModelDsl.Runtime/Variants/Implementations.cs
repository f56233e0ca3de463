using System.Reflection;
using ModelDsl.Core.Variants;

namespace ModelDsl.Runtime.Variants;

/// <summary>
/// Builds the runtime object of an IR variant from its <see cref="ImplementsAttribute"/>
/// registration: <c>Build&lt;IOptimizer&gt;(muonSpec, path, parameters, clip)</c> calls the
/// constructor (or static method) registered for <c>Muon</c> with (spec, parameters, clip).
/// </summary>
public static class Implementations
{
    private static readonly Lazy<IReadOnlyDictionary<Type, MethodBase>> Registered = new(Discover);

    /// <summary>The IR record types that have a runtime implementation.</summary>
    public static IReadOnlyCollection<Type> ImplementedSpecs => Registered.Value.Keys.ToList();

    /// <summary>The registered constructor or method for <paramref name="specType"/>, or null.</summary>
    public static MethodBase? Of(Type specType) => Registered.Value.GetValueOrDefault(specType);

    /// <param name="path">Where the spec sits in the experiment, for the error when nothing implements it.</param>
    public static TResult Build<TResult>(object spec, string path, params object?[] context)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var implementation = Of(spec.GetType())
            ?? throw new NotSupportedException($"{path}: the runtime has no implementation of kind '{KindName(spec)}' ({spec.GetType().Name})");
        var arguments = new object?[context.Length + 1];
        arguments[0] = spec;
        context.CopyTo(arguments, 1);
        if (implementation.GetParameters().Length != arguments.Length)
            throw new InvalidOperationException($"{path}: the implementation of {spec.GetType().Name} takes {implementation.GetParameters().Length - 1} context arguments, its family passes {context.Length}");
        try
        {
            var built = implementation is ConstructorInfo constructor ? constructor.Invoke(arguments) : implementation.Invoke(null, arguments);
            return built is TResult result
                ? result
                : throw new InvalidOperationException($"{path}: the implementation of {spec.GetType().Name} built {built?.GetType().Name ?? "null"}, not a {typeof(TResult).Name}");
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static string KindName(object spec) =>
        spec.GetType().GetCustomAttribute<KindAttribute>()?.Name ?? spec.GetType().Name;

    private static IReadOnlyDictionary<Type, MethodBase> Discover()
    {
        var found = new Dictionary<Type, MethodBase>();
        void Add(Type spec, MethodBase implementation, string where)
        {
            if (found.TryGetValue(spec, out var other))
                throw new InvalidOperationException($"{spec.Name} is implemented twice: by {other.DeclaringType?.Name} and by {where}");
            found[spec] = implementation;
        }
        foreach (var type in typeof(Implementations).Assembly.GetTypes())
        {
            foreach (var attribute in type.GetCustomAttributes<ImplementsAttribute>())
            {
                var constructor = type.GetConstructors().SingleOrDefault(c => c.GetParameters() is { Length: > 0 } p && p[0].ParameterType == attribute.Spec)
                    ?? throw new InvalidOperationException($"{type.Name} implements {attribute.Spec.Name} but has no single public constructor taking it first");
                Add(attribute.Spec, constructor, type.Name);
            }
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
                foreach (var attribute in method.GetCustomAttributes<ImplementsAttribute>())
                {
                    if (method.GetParameters() is not { Length: > 0 } p || p[0].ParameterType != attribute.Spec)
                        throw new InvalidOperationException($"{type.Name}.{method.Name} implements {attribute.Spec.Name} but does not take it first");
                    Add(attribute.Spec, method, $"{type.Name}.{method.Name}");
                }
        }
        return found;
    }
}
