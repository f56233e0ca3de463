/// SIGINT (Ctrl+C) and SIGTERM stop training cleanly: the trainer writes a checkpoint at the step it
/// reached and the process exits with 128 + the signal number. A second signal ends the process at once.
module ModelDsl.Cli.Interruption

open System
open System.Runtime.InteropServices
open System.Threading

type Signals() =
    let source = new CancellationTokenSource()
    let mutable received: PosixSignal option = None
    let handle (context: PosixSignalContext) =
        if received.IsNone then
            received <- Some context.Signal
            context.Cancel <- true
            source.Cancel()
    let registrations =
        [ PosixSignalRegistration.Create(PosixSignal.SIGINT, Action<PosixSignalContext> handle)
          PosixSignalRegistration.Create(PosixSignal.SIGTERM, Action<PosixSignalContext> handle) ]

    member _.Token = source.Token
    /// "SIGTERM" or "SIGINT" once one arrived.
    member _.Name = match received with Some s when s = PosixSignal.SIGTERM -> "SIGTERM" | _ -> "SIGINT"
    /// 143 after SIGTERM, 130 after SIGINT (the shell's 128 + signal number).
    member _.ExitCode = match received with Some s when s = PosixSignal.SIGTERM -> 143 | _ -> 130

    interface IDisposable with
        member _.Dispose() =
            for r in registrations do r.Dispose()
            source.Dispose()
