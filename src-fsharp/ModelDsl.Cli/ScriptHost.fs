/// Evaluates experiment scripts in-process with the F# compiler service, so a script needs no
/// `#r` lines: the DSL and IR assemblies are referenced and `ModelDsl` is opened for it.
module ModelDsl.Cli.ScriptHost

open System
open System.IO
open FSharp.Compiler.Interactive.Shell
open FSharp.Compiler.Diagnostics

/// One compiler diagnostic located in the script (or a file it loads).
type ScriptError = { File: string; Line: int; Column: int; Message: string }

/// Defined while a script runs under the CLI; modeldsl.fsx uses it to skip its own `#r` lines.
[<Literal>]
let HostSymbol = "MODELDSL_CLI"

let private assemblyPath (t: Type) = t.Assembly.Location

let private toScriptError (d: FSharpDiagnostic) =
    { File = d.Range.FileName; Line = d.Range.StartLine; Column = d.Range.StartColumn + 1; Message = $"{d.ErrorNumberText}: {d.Message}" }

let private errorsOf (diagnostics: FSharpDiagnostic[]) =
    diagnostics |> Array.filter (fun d -> d.Severity = FSharpDiagnosticSeverity.Error) |> Array.map toScriptError |> List.ofArray

/// An exception thrown while the script ran, located at the script's deepest frame when the
/// stack trace names it.
let private runtimeError (path: string) (e: exn) =
    let e = match e with :? Reflection.TargetInvocationException as t when not (isNull t.InnerException) -> t.InnerException | e -> e
    let line =
        (string e.StackTrace).Split('\n')
        |> Array.tryPick (fun frame ->
            let marker = path + ":line "
            let at = frame.IndexOf(marker)
            if at < 0 then None else Some (int (frame.Substring(at + marker.Length).Trim())))
    { File = path; Line = defaultArg line 0; Column = 0; Message = $"{e.GetType().Name}: {e.Message}" }

/// A compiler session with the DSL referenced. Creating one costs about a second; reuse it.
type ScriptSession() =
    let mutable scriptModule : string option = None
    /// The compiler names a script's implicit module after its file, capitalised.
    let moduleName (path: string) =
        let stem = Path.GetFileNameWithoutExtension path
        string (Char.ToUpperInvariant stem[0]) + stem.Substring 1
    // The session's own echo (loaded modules, bound values) is not shown; the script's printfn
    // output goes to the real console, and errors come back as diagnostics.
    let echo = new StringWriter()
    let session =
        let config = FsiEvaluationSession.GetDefaultConfiguration()
        let references =
            [ assemblyPath typeof<ModelDsl.Core.ExperimentSpec>; assemblyPath typeof<ModelDsl.Experiment>
              assemblyPath typeof<ModelDsl.Runtime.Studies.StudyContext>; assemblyPath typeof<TorchSharp.torch> ]
            |> List.map (fun path -> $"-r:{path}")
        let arguments =
            [ "fsi"; "--noninteractive"; "--quiet"; "--nologo"; "--gui-"; $"--define:{HostSymbol}" ] @ references
        FsiEvaluationSession.Create(config, Array.ofList arguments, new StringReader(""), echo, echo, collectible = false)

    /// Compile and run the script file; its top-level bindings then become visible to TryGet.
    member _.Load(path: string) : Result<unit, ScriptError list> =
        let path = Path.GetFullPath path
        if not (File.Exists path) then Error [ { File = path; Line = 0; Column = 0; Message = "no such script" } ]
        else
            // `#load` (rather than evaluating the text) keeps file names and line numbers exact
            // and resolves relative `#load`/`#r` paths against the script's folder.
            let result, diagnostics = session.EvalInteractionNonThrowing($"#load @\"{path}\"")
            match result, errorsOf diagnostics with
            | _, (_ :: _ as errors) -> Error errors
            | Choice2Of2 e, [] -> Error [ runtimeError path e ]
            | Choice1Of2 _, [] ->
                scriptModule <- Some (moduleName path)
                Ok()

    /// The value of a top-level binding of the loaded script, or None when it has none.
    /// Read by reflection from the module the compiler made of the script: the name cannot be
    /// resolved in an interaction, where a script called experiment.fsx would be shadowed by
    /// the DSL's Experiment module.
    member _.TryGet(name: string) : obj option =
        let flags = Reflection.BindingFlags.Public ||| Reflection.BindingFlags.Static
        let modules = [ for assembly in session.DynamicAssemblies do yield! assembly.GetTypes() ]
        // The script's own module when it can be found by name; otherwise any loaded module.
        let searched =
            match scriptModule |> Option.bind (fun name -> modules |> List.tryFindBack (fun t -> t.Name = name)) with
            | Some scriptType -> [ scriptType ]
            | None -> List.rev modules
        searched
        |> List.tryPick (fun t -> Option.ofObj (t.GetProperty(name, flags)))
        |> Option.map (fun property -> property.GetValue null)

    /// A top-level function of the loaded script taking one argument of type 'T, as a closure:
    /// either a compiled method (`let f (x: T) = ...`) or a function value (`let f = fun x -> ...`).
    member this.TryGetFunction<'T, 'R>(name: string) : ('T -> 'R) option =
        let flags = Reflection.BindingFlags.Public ||| Reflection.BindingFlags.Static
        let modules = [ for assembly in session.DynamicAssemblies do yield! assembly.GetTypes() ]
        let searched =
            match scriptModule |> Option.bind (fun name -> modules |> List.tryFindBack (fun t -> t.Name = name)) with
            | Some scriptType -> [ scriptType ]
            | None -> List.rev modules
        let asMethod =
            searched
            |> List.tryPick (fun t ->
                t.GetMethods(flags)
                |> Array.tryFind (fun m -> m.Name = name && m.GetParameters().Length = 1 && (m.GetParameters()).[0].ParameterType = typeof<'T>))
        match asMethod with
        | Some m -> Some (fun (x: 'T) -> m.Invoke(null, [| box x |]) |> unbox<'R>)
        | None ->
            match this.TryGet name with
            | Some (:? ('T -> 'R) as f) -> Some f
            | _ -> None

    interface IDisposable with
        member _.Dispose() = (session :> IDisposable).Dispose()
