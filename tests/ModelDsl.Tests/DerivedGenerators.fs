/// FsCheck generators derived from the IR by reflection, so that a new kind (an optimizer, a task,
/// a schedule, ...) is generated without editing the tests: the kinds of a polymorphic family are
/// every non-abstract type of the IR's assembly assignable to its abstract base; a value starts from
/// the kind's default instance and has its numeric, boolean, enum and string properties (and those
/// of nested IR records) perturbed at random.
module ModelDsl.Tests.DerivedGenerators

open System
open System.Reflection
open FsCheck
open FsCheck.FSharp
open ModelDsl.Core
open ModelDsl.Core.Validation

/// Every non-abstract IR type deriving from the base, in a stable order.
let kindsOf (baseType: Type) : Type list =
    baseType.Assembly.GetTypes()
    |> Array.filter (fun t -> t <> baseType && not t.IsAbstract && baseType.IsAssignableFrom t)
    |> Array.sortBy _.FullName
    |> List.ofArray

let private coreAssembly = typeof<ExperimentSpec>.Assembly
let private nullability = NullabilityInfoContext()

/// IR records whose values are generated field by field (nested records such as LoadBalance).
let private isNestedRecord (t: Type) =
    t.Assembly = coreAssembly && t.IsClass && not t.IsAbstract && not t.IsGenericType && not (isNull (t.GetConstructor Type.EmptyTypes))

let private settable (t: Type) =
    t.GetProperties(BindingFlags.Public ||| BindingFlags.Instance)
    |> Array.filter (fun p -> p.CanWrite && p.CanRead && p.GetIndexParameters().Length = 0)
    |> Array.sortBy _.Name
    |> List.ofArray

let private anyInt = ArbMap.defaults |> ArbMap.generate<int>
let private anyLong = ArbMap.defaults |> ArbMap.generate<int64>
/// Includes NaN and infinities: the JSON options allow named floating-point literals.
let private anyFloat = ArbMap.defaults |> ArbMap.generate<float>
let private anyString = ArbMap.defaults |> ArbMap.generate<NonNull<string>> |> Gen.map _.Get

/// How far values stray: Near keeps them close to the defaults (so many pass validation);
/// Wild draws any value of the type (NaN, negative counts, empty strings).
type Spread =
    | Near
    | Wild

let private nearInt (current: int64) =
    Gen.oneof [ Gen.constant current; Gen.choose (max 1 (int (current / 2L)), max 4 (int (min 1_000_000L (current * 2L)))) |> Gen.map int64 ]

let private nearFloat (current: float) =
    if current = 0.0 then Gen.elements [ 0.0; 1e-3; 0.05; 0.1 ]
    else Gen.elements [ 0.5; 0.8; 0.9; 1.0; 1.05 ] |> Gen.map (fun factor -> current * factor)

/// A value of a property's type, near its current value or wild.
let rec private valueOf (spread: Spread) (t: Type) (current: obj) (nullable: bool) : Gen<obj> =
    let underlying = Nullable.GetUnderlyingType t
    if not (isNull underlying) then
        let seed = if isNull current then Activator.CreateInstance underlying else current
        Gen.oneof [ Gen.constant null; valueOf spread underlying seed false ]
    elif t = typeof<int> then
        (match spread with Near -> nearInt (int64 (unbox<int> current)) |> Gen.map int | Wild -> anyInt) |> Gen.map box
    elif t = typeof<int64> then
        (match spread with Near -> nearInt (unbox<int64> current) | Wild -> anyLong) |> Gen.map box
    elif t = typeof<float> then
        (match spread with Near -> nearFloat (unbox<float> current) | Wild -> anyFloat) |> Gen.map box
    elif t = typeof<bool> then Gen.elements [ true; false ] |> Gen.map box
    elif t.IsEnum then Enum.GetValues t |> Seq.cast<obj> |> List.ofSeq |> Gen.elements
    elif t = typeof<string> then
        let text = (match spread with Near -> Gen.elements [ "corpus.txt"; "data/text.txt" ] | Wild -> anyString) |> Gen.map box
        // An optional string (e.g. a file only some settings read) is also drawn absent.
        if nullable then Gen.oneof [ Gen.constant null; text ] else text
    elif isNestedRecord t then
        let record = record spread t
        if nullable then Gen.oneof [ Gen.constant null; record ] else record
    else Gen.constant current

/// An instance of an IR record: its default (or, for a positional record, its constructor fed with
/// zeros), then each settable property kept or replaced with equal odds.
and record (spread: Spread) (t: Type) : Gen<obj> =
    let constructor = t.GetConstructors() |> Array.minBy (fun c -> c.GetParameters().Length)
    let arguments = constructor.GetParameters() |> Array.map (fun p -> if p.ParameterType.IsValueType then Activator.CreateInstance p.ParameterType else null)
    let prototype = constructor.Invoke arguments
    let edits =
        settable t
        |> List.map (fun property ->
            let nullable = nullability.Create(property).WriteState = NullabilityState.Nullable
            Gen.oneof [ Gen.constant None; valueOf spread property.PropertyType (property.GetValue prototype) nullable |> Gen.map (fun v -> Some(property, v)) ])
    edits
    |> Gen.sequenceToList
    |> Gen.map (fun chosen ->
        // A fresh instance per sample: the prototype is never mutated.
        let instance = constructor.Invoke arguments
        for property, value in List.choose id chosen do property.SetValue(instance, value)
        instance)

/// Arguments for a Validate overload after (Validator, path): a head dimension for positions, a
/// model for feed-forwards, two axes of five values for searches.
let private context (parameter: ParameterInfo) : obj =
    if parameter.ParameterType = typeof<int> then box 16
    elif parameter.ParameterType = typeof<Model.ModelSpec> then box (Model.ModelSpec.Llama(256, 64, 1, 4))
    elif parameter.ParameterType = typeof<Collections.Generic.IReadOnlyList<int>> then box ([| 5; 5 |] :> Collections.Generic.IReadOnlyList<int>)
    else failwithf "no validation context for a %s parameter" parameter.ParameterType.Name

/// The value's own Validate(Validator, path, ...) passes.
let isValid (value: obj) =
    let validate =
        value.GetType().GetMethods()
        |> Array.find (fun m ->
            m.Name = "Validate" && (let ps = m.GetParameters() in ps.Length >= 2 && ps[0].ParameterType = typeof<Validator>))
    let v = Validator()
    let extra = validate.GetParameters() |> Array.skip 2 |> Array.map context
    validate.Invoke(value, Array.append [| box v; box "value" |] extra) |> ignore
    v.Errors.Count = 0

/// A valid instance of one kind: the first near-default candidate that validates, drawn in batches
/// of 40, up to 200 (records with interdependent settings, such as a text corpus and its tokenizer's
/// files, validate in about one draw of ten).
let validKind (kind: Type) : Gen<obj> =
    let rec attempt batches =
        Gen.listOfLength 40 (record Near kind)
        |> Gen.bind (fun candidates ->
            match candidates |> List.tryFind isValid with
            | Some value -> Gen.constant value
            | None when batches > 1 -> attempt (batches - 1)
            | None -> failwithf "no valid %s among 200 candidates near its defaults" kind.Name)
    attempt 5

/// Every kind of a family, each equally likely: valid instances, with hand-written generators for
/// the kinds named in `handWritten` (those with real structure, e.g. a mixture of tasks).
let family<'Base> (handWritten: (Type * Gen<'Base>) list) : Gen<'Base> =
    kindsOf typeof<'Base>
    |> List.map (fun kind ->
        match handWritten |> List.tryFind (fun (t, _) -> t = kind) with
        | Some(_, generator) -> generator
        | None -> validKind kind |> Gen.map unbox<'Base>)
    |> Gen.oneof

/// Every kind of a family with any values, valid or not (for the JSON round trip).
let wildFamily<'Base> : Gen<'Base> =
    kindsOf typeof<'Base> |> List.map (fun kind -> record Wild kind |> Gen.map unbox<'Base>) |> Gen.oneof
