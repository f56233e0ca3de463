/// Stand-ins for the commands that need ModelDsl.Runtime's trainer, which this build does not
/// contain yet; Train.fs and Quickstart.fs replace this file when it does.
namespace ModelDsl.Cli

module private Unavailable =
    let report command =
        Display.errorLine $"'{command}' needs ModelDsl.Runtime's trainer, which this build does not contain yet"
        1

module Train =
    let execute (_: string) (_: string option) (_: Overrides.Overrides) = Unavailable.report "run"

module Quickstart =
    let execute (_: string option) (_: Overrides.Overrides) = Unavailable.report "quickstart"
