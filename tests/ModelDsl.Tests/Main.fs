module ModelDsl.Tests.Main

open Expecto

[<EntryPoint>]
let main args = runTestsInAssemblyWithCLIArgs [] args
