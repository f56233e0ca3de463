/// Data-parallel training through the real `mpirun` (Open MPI): two ranks train the single-process
/// run's global batch, split by rows, and must log the same numbers; a killed rank stops the job
/// without a partial checkpoint and a rerun resumes from the last complete one.
module ModelDsl.Tests.DataParallelTests

open System
open System.Diagnostics
open System.IO
open System.Text.Json.Nodes
open Expecto
open Spectre.Console
open ModelDsl.Core
open ModelDsl.Core.Json
open ModelDsl.Runtime.Runs
open ModelDsl.Tests.CliHarness

/// Open MPI must be installed (scripts/setup.sh installs it as root on Debian); otherwise these
/// tests fail with the reason instead of passing without having run.
let private requireOpenMpi () =
    let onPath name =
        (Environment.GetEnvironmentVariable "PATH").Split(':', StringSplitOptions.RemoveEmptyEntries)
        |> Array.exists (fun folder -> File.Exists(Path.Combine(folder, name)))
    let library =
        [ "/usr/lib/x86_64-linux-gnu/libmpi.so.40"; "/usr/lib/aarch64-linux-gnu/libmpi.so.40"; "/usr/lib64/openmpi/lib/libmpi.so.40" ]
        |> List.exists File.Exists
    if not (onPath "mpirun" && library) then
        failtest (
            "Open MPI is not installed (mpirun on PATH and libmpi.so.40 are needed for the data-parallel tests); "
            + "run scripts/setup.sh as root, or apt-get install openmpi-bin")

/// mpirun for tests: root is allowed (CI runs as root), ranks may outnumber cores, and shared-memory
/// transfers use no single-copy mechanism (containers often forbid the ptrace-based one).
let private mpirunArguments (ranks: int) (args: string list) =
    [ "--allow-run-as-root"; "--oversubscribe"; "--mca"; "btl_vader_single_copy_mechanism"; "none"; "-np"; string ranks
      "dotnet"; cliDll; yield! args ]

let private startMpirun ranks args =
    requireOpenMpi ()
    let start = ProcessStartInfo("mpirun", mpirunArguments ranks args, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    Process.Start start

let private mpirun ranks args =
    use child = startMpirun ranks args
    let stdout = child.StandardOutput.ReadToEndAsync()
    let stderr = child.StandardError.ReadToEndAsync()
    if not (child.WaitForExit 600000) then
        child.Kill true
        failtest "mpirun did not finish within ten minutes"
    child.WaitForExit()
    child.ExitCode, stdout.Result + stderr.Result

/// The single-process reference, through the CLI's entry point in this process (no MPI environment here).
let private single (args: string list) =
    let output = new StringWriter()
    let previous = AnsiConsole.Console
    AnsiConsole.Console <- AnsiConsole.Create(AnsiConsoleSettings(Out = AnsiConsoleOutput(output), Ansi = AnsiSupport.No))
    try
        let code = ModelDsl.Cli.Program.main (Array.ofList args)
        code, output.ToString()
    finally
        AnsiConsole.Console <- previous

let private withFolder (body: string -> unit) =
    let folder = Directory.CreateTempSubdirectory("modeldsl-mpi-").FullName
    try body folder finally Directory.Delete(folder, true)

let private writeSpec folder (s: ExperimentSpec) =
    let path = Path.Combine(folder, s.Name + ".json")
    File.WriteAllText(path, SpecJson.Serialize s)
    path

/// Micro-batches of 4 rows (2 per rank), two per step: the global batch is 8 sequences. float64, so
/// that the replicas' different summation order stays far below the tolerance.
let private trainingEvaluatedEvery (evalEvery: int) (steps: int64) =
    Training.TrainingSpec(
        Optimizer = Training.AdamW(Lr = 1e-2),
        Budget = Training.StepBudget(steps),
        GlobalBatch = 8,
        MicroBatch = 4,
        Precision = Training.Precision.Float64,
        ClipGradNorm = Nullable 0.5,
        Eval = Training.EvalSpec(Every = evalEvery, Batches = 2, Problems = 0),
        Checkpoint = Training.CheckpointSpec(Every = 5, Keep = 100),
        Seed = 3,
        Threads = Nullable 1)

let private training = trainingEvaluatedEvery 5

let private denseSpecEvaluatedEvery evalEvery steps =
    ExperimentSpec(Name = "dp-dense", Model = Model.ModelSpec.Llama(Tasks.FlipFlop.Vocabulary, 16, 2, 2), Task = Tasks.FlipFlop(),
                   Training = trainingEvaluatedEvery evalEvery steps)

let private denseSpec = denseSpecEvaluatedEvery 5

/// Block 1 is a dropless MoE layer with global-batch load balancing (its counts are summed over ranks).
let private moeSpec steps =
    let attention () = Model.AttentionSpec(Heads = 2)
    let moe =
        Model.MoeFeedForward(
            Experts = 4, TopK = 2, ExpertHidden = Nullable 16, ZLoss = 1e-3,
            Balance = Model.LoadBalance(Scope = Model.BalanceScope.GlobalBatch, Coefficient = 1e-1))
    let blocks = ValueList.Of [| Model.BlockSpec(Attention = attention ()); Model.BlockSpec(Attention = attention (), FeedForward = moe) |]
    let model = Model.ModelSpec(Vocab = Tasks.SparseParity.Vocabulary, Width = 16, Blocks = blocks, MaxSequenceLength = 64)
    ExperimentSpec(Name = "dp-moe", Model = model, Task = Tasks.SparseParity(Bits = 8, Secret = 3), Training = training steps)

let private events (runDirectory: string) (name: string) =
    MetricsLog.Read(Path.Combine(runDirectory, "metrics.jsonl"))
    |> Seq.filter (fun e -> string e["event"] = name)
    |> List.ofSeq

let private numbers (e: JsonObject) =
    [ for KeyValue (key, value) in e do
        if not (isNull value) && key <> "event" && key <> "tokensPerSecond" && key <> "elapsedSeconds" then
            match value.GetValueKind() with
            | Text.Json.JsonValueKind.Number -> yield key, value.GetValue<float>()
            | _ -> () ]

let private close (tolerance: float) (a: float) (b: float) =
    a = b || abs (a - b) <= tolerance * max (abs a) (abs b)

/// Every number of every event of this kind agrees within a relative tolerance (timings left out).
let private expectSameEvents tolerance (name: string) reference replicated =
    let expected = events reference name
    let actual = events replicated name
    Expect.equal actual.Length expected.Length $"{name} events"
    Expect.isNonEmpty expected $"{name} events were logged"
    for e, a in List.zip expected actual do
        let ne = numbers e
        let na = numbers a
        let step = e["step"]
        Expect.equal (List.map fst na) (List.map fst ne) $"{name} fields at step {step}"
        for (key, x), (_, y) in List.zip ne na do
            if not (close tolerance x y) then failtestf "%s step %O: %s is %.17g in one process and %.17g over two ranks" name e["step"] key x y

let private trainLosses (runDirectory: string) =
    let store = CheckpointStore(Path.Combine(runDirectory, "checkpoints"), 100)
    let struct (step, _) = store.List() |> Seq.maxBy (fun (struct (s, _)) -> s)
    List.ofSeq (Checkpoint.ReadHeader(store.PathFor step).TrainLosses)

let private expectSameRun reference replicated =
    let expected = trainLosses reference
    let actual = trainLosses replicated
    Expect.equal actual.Length expected.Length "steps"
    List.iteri2 (fun i x y -> if not (close 1e-6 x y) then failtestf "step %d loss: %.17g in one process, %.17g over two ranks" (i + 1) x y) expected actual
    expectSameEvents 1e-6 "train" reference replicated
    expectSameEvents 1e-6 "eval" reference replicated

let private trainBoth (spec: ExperimentSpec) folder =
    let specPath = writeSpec folder spec
    let reference = Path.Combine(folder, "single")
    let code, output = single [ "run"; specPath; "--run-dir"; reference ]
    Expect.equal code 0 output
    let replicated = Path.Combine(folder, "ranks")
    let code, output = mpirun 2 [ "run"; specPath; "--run-dir"; replicated; "--data-parallel" ]
    Expect.equal code 0 $"mpirun -np 2: {output}"
    reference, replicated

/// The processes mpirun started and the rank of each (from the environment mpirun gave it).
let private ranksOf (mpirunId: int) =
    [ for task in Directory.GetDirectories "/proc" do
        let name = Path.GetFileName task
        match Int32.TryParse name with
        | true, pid when pid <> mpirunId ->
            try
                let stat = File.ReadAllText(Path.Combine(task, "stat"))
                let parent = int (stat.Substring(stat.LastIndexOf ')' + 2).Split(' ')[1])
                if parent = mpirunId then
                    let environment = File.ReadAllText(Path.Combine(task, "environ")).Split('\000')
                    match environment |> Array.tryFind (fun v -> v.StartsWith "OMPI_COMM_WORLD_RANK=") with
                    | Some v -> yield int (v.Substring(v.IndexOf '=' + 1)), pid
                    | None -> ()
            with _ -> ()
        | _ -> () ]

[<Tests>]
let tests =
    testSequenced <| testList "data parallel over mpirun" [
        test "two ranks train a dense model like one process: losses within 1e-6 (float64), same evaluations, rank 0 writes alone" {
            withFolder <| fun folder ->
                let reference, replicated = trainBoth (denseSpec 10L) folder
                expectSameRun reference replicated
                Expect.isTrue (File.Exists(Path.Combine(replicated, "summary.json"))) "summary written"
                Expect.equal (Directory.GetFiles(Path.Combine(replicated, "checkpoints")).Length)
                    (Directory.GetFiles(Path.Combine(reference, "checkpoints")).Length) "one set of checkpoints (rank 0's)"
        }

        test "two ranks train an MoE model with global-batch balance like one process: losses, auxiliary losses and expert loads" {
            withFolder <| fun folder ->
                let reference, replicated = trainBoth (moeSpec 6L) folder
                expectSameRun reference replicated
                // Per-step routing over the global batch: each rank counts its rows; the sums are the single-process counts.
                expectSameEvents 1e-12 "moe" reference replicated
                let aux = events replicated "train" |> List.head |> numbers |> List.filter (fun (k, _) -> k.StartsWith "aux.") |> List.map fst
                Expect.isTrue (aux |> List.exists (fun k -> k.EndsWith ".balance")) $"balance loss logged: {aux}"
        }

        test "killing one rank stops the job without a partial checkpoint; a rerun resumes from the last complete one" {
            withFolder <| fun folder ->
                let steps = 60L
                // Evaluation only at the end: short steps, and the kill lands well before the end.
                let spec = denseSpecEvaluatedEvery 0 steps
                let specPath = writeSpec folder spec
                let runDir = Path.Combine(folder, "killed")
                let args = [ "run"; specPath; "--run-dir"; runDir ]
                use job = startMpirun 2 args
                let stdout = job.StandardOutput.ReadToEndAsync()
                let stderr = job.StandardError.ReadToEndAsync()
                let deadline = DateTime.UtcNow.AddSeconds 300.0
                while not job.HasExited && lastTrainStep runDir < 8L && DateTime.UtcNow < deadline do
                    Threading.Thread.Sleep 10
                if job.HasExited then failtestf "the job ended before a rank could be killed: %s%s" stdout.Result stderr.Result
                let ranks = ranksOf job.Id
                let victim = ranks |> List.tryFind (fun (rank, _) -> rank = 1)
                match victim with
                | None -> failtestf "rank 1 not found among mpirun's children %A" ranks
                | Some (_, pid) ->
                    let killedAt = lastTrainStep runDir
                    use kill = Process.Start("kill", [ "-KILL"; string pid ])
                    kill.WaitForExit()
                    if not (job.WaitForExit 120000) then
                        job.Kill true
                        failtest "mpirun did not end within two minutes of a rank's death"
                    job.WaitForExit()
                    // mpirun can exit before the surviving rank has: the rerun below would find the
                    // run directory still locked by it. Wait until every rank is gone.
                    for (_, pid) in ranks do
                        let until = DateTime.UtcNow.AddSeconds 60.0
                        while Directory.Exists $"/proc/{pid}" && DateTime.UtcNow < until do
                            Threading.Thread.Sleep 50
                    Expect.notEqual job.ExitCode 0 $"mpirun reports the failure (rank 1 killed at step {killedAt}): {stdout.Result}{stderr.Result}"
                    let reached = lastTrainStep runDir
                    Expect.isLessThan reached steps "killed before the end"
                    // Every checkpoint file present verifies; none is torn (a write in flight stays a temporary file).
                    let store = CheckpointStore(Path.Combine(runDir, "checkpoints"), 100)
                    let listed = store.List() |> Seq.map (fun (struct (s, _)) -> s) |> List.ofSeq
                    Expect.isNonEmpty listed "checkpoints before the kill"
                    let specJson = SpecJson.Serialize spec
                    for s in listed do
                        Expect.equal (Checkpoint.ReadHeader(store.PathFor s).Step) s $"checkpoint {s} reads"
                    let latest, skipped = store.LatestUsable(specJson)
                    Expect.isEmpty skipped "no checkpoint is unusable"
                    Expect.isNotNull latest "a checkpoint to resume from"
                    let last = List.max listed
                    Expect.isLessThanOrEqual last reached "no checkpoint past the last logged step"

                    let code, output = mpirun 2 args
                    Expect.equal code 0 $"rerun: {output}"
                    let resumed = trainLosses runDir
                    let reference = Path.Combine(folder, "single")
                    let code, output = single [ "run"; specPath; "--run-dir"; reference ]
                    Expect.equal code 0 output
                    let expected = trainLosses reference
                    Expect.equal resumed.Length expected.Length "every step's loss"
                    List.iteri2 (fun i x y -> if not (close 1e-6 x y) then failtestf "step %d: %.17g resumed over two ranks, %.17g in one process" (i + 1) y x)
                        expected resumed
                    Expect.equal (events runDir "train" |> List.map (fun e -> e["step"].GetValue<int64>())) [ 1L .. steps ] "each step logged once"
        }

        test "--data-parallel outside mpirun is an error that says how to start the job" {
            withFolder <| fun folder ->
                let specPath = writeSpec folder (denseSpec 2L)
                let start = ProcessStartInfo("dotnet", [ cliDll; "run"; specPath; "--run-dir"; Path.Combine(folder, "run"); "--data-parallel" ],
                                             RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
                use child = Process.Start start
                let output = child.StandardOutput.ReadToEndAsync()
                let errors = child.StandardError.ReadToEndAsync()
                child.WaitForExit()
                Expect.equal child.ExitCode 1 "exit code"
                Expect.stringContains (output.Result + errors.Result) "mpirun" "names mpirun"
        }
    ]
