namespace ModelDsl

open Microsoft.FSharp.Quotations
open Microsoft.FSharp.Quotations.Patterns

/// Copy-and-update for the IR's C# records, which F# cannot write with `with`: the record's
/// init-only properties can only be set in a constructor call, and its clone method is not callable
/// by name from F#.
[<AbstractClass; Sealed>]
type Ir =
    /// C#'s `record with { Field = value }`, written `Ir.With(record, record.Field, value)`: a copy
    /// made by the record's own clone (so every other field, present or future, is kept), with
    /// one property replaced. The property is quoted by the compiler, so its name and type are checked.
    static member With(record: 'T, [<ReflectedDefinition>] field: Expr<'V>, value: 'V) : 'T =
        match field with
        | PropertyGet(Some _, property, []) when property.DeclaringType.IsAssignableFrom(record.GetType()) ->
            let copy = record.GetType().GetMethod("<Clone>$").Invoke(record, [||]) :?> 'T
            property.SetValue(copy, box value)
            copy
        | _ -> invalidArg (nameof field) $"Ir.With takes a property of the record, e.g. Ir.With(spec, spec.Seed, 7); got {field}"
