/// Which tests may run at the same time. Tests that train, start the CLI, swap the process-wide console
/// or set environment variables share one sequenced group and run one at a time; every other test
/// runs in parallel (Expecto's default), beside them and beside each other.
module ModelDsl.Tests.Sequencing

open System
open Expecto

/// The group of tests that must not overlap: training runs (which set torch's thread count and
/// seed for their duration), the in-process CLI (which swaps AnsiConsole.Console) and environment variables.
let training (tests: Test) = testSequencedGroup "training and process-wide state" tests

/// Runs `body` with the environment variables set, then restores each one's previous value (or its absence).
let withEnvironment (variables: (string * string) list) (body: unit -> 'a) : 'a =
    let previous = [ for name, _ in variables -> name, Environment.GetEnvironmentVariable name ]
    try
        for name, value in variables do Environment.SetEnvironmentVariable(name, value)
        body ()
    finally
        for name, value in previous do Environment.SetEnvironmentVariable(name, value)
