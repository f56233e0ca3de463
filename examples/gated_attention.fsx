// Gated attention (arXiv 2505.06708, PAPERS.md §4): a sigmoid gate on each head's SDPA output (G1)
// against no gate and against the weaker gate after the output projection (G5), at equal parameters
// and equal budget, at a moderate and a large learning rate. Measured at the end of training: held-out
// loss, attention-sink mass (mean attention on the first token), the largest hidden activation, and
// how sparse the gate values are.
// Expected (paper): G1 lowers the loss, tolerates the larger LR, removes the attention sink and the
// massive activations; its gate values are sparse (mostly near 0).
//   ./modeldsl run examples/gated_attention.fsx [--quick] [--runs-dir DIR] [--threads N]
//   dotnet fsi examples/gated_attention.fsx [--quick]
// Writes <runs>/gated-attention-<time>/report.md with tables and PNG plots. Each finished run is appended
// to a ledger (full mode: docs/studies/gated-attention/ledger.jsonl, kept with the study; --quick: in its
// run folder); a rerun skips the recorded runs and rebuilds the report from the ledger, so the study
// resumes on any machine after an interruption.
#load "../modeldsl.fsx"

open System.IO
open System.Security.Cryptography
open System.Text
open System.Text.Json
open ModelDsl.Runtime.Compile
open ModelDsl.Runtime.Model
open ModelDsl.Runtime.Eval
open ModelDsl.Runtime.Runs
open ModelDsl.Runtime.Studies
open ModelDsl.Runtime.Training

#load "gated_attention_corpus.fsx"
open GatedAttentionCorpus

type Settings =
    { Width: int
      Depth: int
      Heads: int
      Length: int
      Steps: int
      Batch: int
      LearningRates: float list
      /// Bytes of generated text.
      CorpusBytes: int
      /// Start every sequence with a beginning-of-sequence token (vocabulary 257).
      Bos: bool
      Seeds: int list }

// Width 48: a gate adds width x width weights per layer, and SwiGLU hidden + 16 adds 3 x 48 x 16 =
// 48 x 48, so the widened baseline has exactly the gated models' parameter count. Every sequence starts
// with a BOS token and runs last 600 steps: without BOS (or at LR 3e-3) no sink forms at this scale, and at
// LR 3e-2 with BOS the baseline grows a sink head within 100 steps (docs/studies/gated-attention/pilots.md).
let full = { Width = 48; Depth = 2; Heads = 4; Length = 64; Steps = 600; Batch = 16; LearningRates = [ 3e-3; 3e-2 ]; CorpusBytes = 200_000; Bos = true; Seeds = [ 1; 2; 3; 4; 5; 6 ] }
let quick = { Width = 48; Depth = 1; Heads = 4; Length = 32; Steps = 8; Batch = 8; LearningRates = [ 3e-3; 3e-2 ]; CorpusBytes = 8_000; Bos = true; Seeds = [ 1 ] }

type Arm = { Name: string; Gate: GateSpec option; ExtraHidden: int }

let arms (s: Settings) =
    // A gate of width x width per layer = 3 x width x (width / 3) of SwiGLU hidden.
    [ { Name = "baseline (FFN hidden + width/3)"; Gate = None; ExtraHidden = s.Width / 3 }
      { Name = "G1 (SDPA output)"; Gate = Some Gate.g1; ExtraHidden = 0 }
      { Name = "G5 (after output projection)"; Gate = Some Gate.g5; ExtraHidden = 0 } ]

let experiment (s: Settings) (threads: int option) (corpus: string) (arm: Arm) (lr: float) (seed: int) =
    let hidden = DenseFeedForward.DefaultHidden(s.Width, Activation.SwiGlu) + arm.ExtraHidden
    let attention = match arm.Gate with Some gate -> Attention.gate gate | None -> id
    let name = sprintf "%s-lr%g-seed%d" (arm.Name.Split(' ')[0]) lr seed
    Experiment.pretrain name (Model.llama (vocab = (if s.Bos then 257 else 256), width = s.Width, depth = s.Depth, heads = s.Heads))
    |> Experiment.model (Model.attention attention >> Model.feedForward (FeedForward.swiGlu hidden))
    |> Experiment.task (Tasks.textCorpus (corpus, length = s.Length, bos = s.Bos))
    |> Experiment.optimizer (AdamW(Lr = lr, WeightDecay = 0.1))
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
    |> Experiment.budget (Budget.steps s.Steps)
    |> Experiment.batch (globalBatch = s.Batch)
    |> Experiment.eval (every = 0, batches = 4)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed
    |> Experiment.threads (defaultArg threads 2)
    |> Experiment.toSpecOrFail

type Outcome =
    { Arm: Arm
      Lr: float
      Seed: int
      Parameters: int64
      FinalLoss: float
      TrainLosses: float[]
      /// [layer][head]
      SinkMass: float[][]
      MaxActivation: float[]
      Gates: GateSparsity[]
      /// Training wall time and tokens seen (for costing larger settings).
      Seconds: float
      Tokens: int64 }

/// One finished run as the ledger keeps it (one JSON line); the arm is stored by name.
type LedgerLine =
    { Key: string
      Arm: string
      Lr: float
      Seed: int
      Parameters: int64
      FinalLoss: float
      TrainLosses: float[]
      SinkMass: float[][]
      MaxActivation: float[]
      Gates: GateSparsity[]
      Seconds: float
      Tokens: int64 }

/// What measures a run besides its spec (the probes' batch); a change here must change every key.
let measurement = "validation batch 0 x 16; sink, max |h|, gates < 0.1"

/// The ledger key of a run: the run store's key of its spec with the corpus path (a per-invocation
/// folder) replaced by the corpus text's hash, plus the measurement.
let keyOf (keySpec: ExperimentSpec) (corpus: string) =
    let text = System.Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes corpus))
    System.Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(String.concat "|" [ RunStore.KeyOf keySpec; text; measurement ])))[..15]

let ledgerJson =
    JsonSerializerOptions(
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)

/// The recorded runs by key. A last line without its newline is a run cut off while being written and
/// is ignored (the run is trained again); any other line that does not parse is an error naming file:line.
let readLedger (path: string) : Map<string, LedgerLine> =
    if not (File.Exists path) then Map.empty
    else
        let raw = File.ReadAllText(path).Split('\n')
        [ for i in 0 .. raw.Length - 1 do
              let text = raw[i].Trim()
              if text <> "" then
                  let parsed =
                      try Some (JsonSerializer.Deserialize<LedgerLine>(text, ledgerJson))
                      with :? JsonException as e ->
                          if i < raw.Length - 1 then failwithf "%s:%d: not a gated-attention ledger line: %s" path (i + 1) e.Message
                          None
                  match parsed with
                  | Some line when isNull (box line) || isNull line.Key || isNull line.Arm || isNull line.SinkMass ->
                      failwithf "%s:%d: a gated-attention ledger line needs key, arm and sinkMass" path (i + 1)
                  | Some line -> yield line.Key, line
                  | None -> () ]
        |> Map.ofList

/// Appends one finished run as one flushed line, first cutting a torn last line (it holds no whole run).
let appendLedger (path: string) (line: LedgerLine) =
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath path)) |> ignore
    if File.Exists path then
        use file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read)
        let mutable finish = file.Length
        let mutable cut = false
        while finish > 0L && not cut do
            file.Seek(finish - 1L, SeekOrigin.Begin) |> ignore
            if file.ReadByte() = int '\n' then cut <- true else finish <- finish - 1L
        if finish < file.Length then file.SetLength finish
    use stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)
    stream.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(line, ledgerJson) + "\n"))
    stream.Flush(true)

let toLine key (o: Outcome) =
    { Key = key; Arm = o.Arm.Name; Lr = o.Lr; Seed = o.Seed; Parameters = o.Parameters; FinalLoss = o.FinalLoss
      TrainLosses = o.TrainLosses; SinkMass = o.SinkMass; MaxActivation = o.MaxActivation; Gates = o.Gates
      Seconds = o.Seconds; Tokens = o.Tokens }

let ofLine (arm: Arm) (l: LedgerLine) =
    { Arm = arm; Lr = l.Lr; Seed = l.Seed; Parameters = l.Parameters; FinalLoss = l.FinalLoss; TrainLosses = l.TrainLosses
      SinkMass = l.SinkMass; MaxActivation = l.MaxActivation; Gates = l.Gates; Seconds = l.Seconds; Tokens = l.Tokens }

/// Trains one arm; the statistics are measured at the final evaluation, while the trainer still holds the model.
let train (spec: ExperimentSpec) (folder: string) arm lr seed =
    let mutable built : TrainableModel option = None
    let mutable measured = None
    let task = ModelDsl.Runtime.Tasks.TaskFactory.Create(spec.Task, spec.Training.Seed)
    let measure (_: EvalResult) =
        let model = built.Value.Module :?> LanguageModel
        use batch = task.ValidationBatch(0, 16)
        let inputs = batch.Inputs.``to``(model.Device)
        measured <- Some (model.ParameterCount, AttentionSinkMass.Measure(model, inputs), HiddenActivations.MaxAbsPerLayer(model, inputs), GateProbe.Measure(model, inputs))
    let factory = TrainableModelFactory(fun m dtype device seed -> let t = Trainer.BuildLanguageModel(m, dtype, device, seed) in built <- Some t; t)
    let result = Trainer.Run(spec, TrainOptions(RunsRoot = folder, OnEval = System.Action<EvalResult> measure), factory)
    let parameters, sink, maxima, gates = measured.Value
    { Arm = arm
      Lr = lr
      Seed = seed
      Parameters = parameters
      FinalLoss = result.FinalEval.ValidationLoss
      TrainLosses = Array.ofSeq result.TrainLosses
      SinkMass = sink
      MaxActivation = maxima
      Gates = gates
      Seconds = result.Elapsed.TotalSeconds
      Tokens = result.Steps * int64 spec.Training.GlobalBatch * int64 (spec.Task.SequenceLength()) }

let mean (xs: float seq) = if Seq.isEmpty xs then nan else Seq.average xs

/// First-token mass of each layer (mean over its heads and query rows 1..T-1).
let perLayerSink (o: Outcome) = o.SinkMass |> Array.map mean

/// First-token mass of the head where it is largest (the "sink head"): at this scale a sink forms in one
/// head of one layer (docs/studies/gated-attention/pilots.md), and averaging over heads and layers dilutes it.
let sinkHead (o: Outcome) = Array.max (Array.concat o.SinkMass)

/// The baseline "has a sink" when its sink head's first-token mass exceeds this (the paper's baseline: 0.47 on average).
let sinkThreshold = 0.3

let study (context: StudyContext) =
    let s = if context.Quick then quick else full
    let folder = context.CreateFolder "gated-attention"
    let threads = Option.ofNullable context.Threads
    let corpus = Path.Combine(folder, "corpus.txt")
    writeCorpus corpus s.CorpusBytes
    let ledger =
        if context.Quick then Path.Combine(folder, "ledger.jsonl")
        else Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, "..", "docs", "studies", "gated-attention", "ledger.jsonl"))
    let recorded = readLedger ledger
    printfn "ledger %s: %d runs recorded" (Path.GetFullPath ledger) recorded.Count
    let trained =
        [ for seed in s.Seeds do
              for lr in s.LearningRates do
                  for arm in arms s ->
                      let spec = experiment s threads corpus arm lr seed
                      let key = keyOf (experiment s None "corpus.txt" arm lr seed) corpus
                      let o, source =
                          match recorded.TryFind key with
                          | Some line -> ofLine arm line, "recorded"
                          | None ->
                              let o = train spec folder arm lr seed
                              appendLedger ledger (toLine key o)
                              o, sprintf "trained, %.0f tokens/s" (float o.Tokens / o.Seconds)
                      printfn "%-32s lr %g seed %d: loss %.4f, sink %.3f, sink head %.3f, max |h| %.1f (%s)" arm.Name lr seed o.FinalLoss (mean (Array.concat o.SinkMass)) (Array.max (Array.concat o.SinkMass)) (Array.max o.MaxActivation) source
                      key, arm ]
    // The report is built from the ledger as read back, so a resumed study reports exactly what was recorded.
    let reread = readLedger ledger
    let outcomes =
        [ for key, arm in trained ->
              match reread.TryFind key with
              | Some line -> ofLine arm line
              | None -> failwithf "%s: run %s (%s) is missing after it was recorded" ledger key arm.Name ]
    let report = StudyReport(folder, "Gated attention: G1 vs G5 vs no gate at equal parameters")
    report.Paragraph(
        sprintf "Byte-level language modelling on a generated English-like corpus (%d bytes, 10%% held out; grammar sentences with agreement, relative clauses and counting)%s. %d-layer Llama (RoPE, SwiGLU, RMSNorm), width %d, %d heads, sequences of %d bytes, batch %d, %d AdamW steps (weight decay 0.1, 5%% warmup, cosine to 10%%), seeds %s, at each learning rate. Equal parameters: each gate adds width x width weights per layer (G1 elementwise per head: width -> heads x head dim; G5: width -> width); the baseline's SwiGLU hidden is widened by width/3, which adds exactly 3 x width x width/3. Equal budget: same steps and tokens. Measured after training on 16 held-out sequences: attention-sink mass = mean attention probability on the first token (queries 1..T-1, all layers and heads), also per layer (mean over its heads) and in the head where it is largest (sink head); max |h| = largest absolute hidden value after any block; gate mean and fraction of gate values below 0.1 (all gated layers)."
            s.CorpusBytes (if s.Bos then ", every sequence starting with a beginning-of-sequence token (vocabulary 257)" else "") s.Depth s.Width s.Heads s.Length s.Batch s.Steps (s.Seeds |> List.map string |> String.concat ", ")) |> ignore
    let tokens = outcomes |> List.sumBy (fun o -> o.Tokens)
    let seconds = outcomes |> List.sumBy (fun o -> o.Seconds)
    report.Paragraph(
        sprintf "Cost: %d runs, %d training tokens in %.0f s of training wall time as recorded in the ledger (%.0f tokens/s over all runs; slowest run %.0f, fastest %.0f tokens/s)."
            outcomes.Length tokens seconds (float tokens / seconds)
            (outcomes |> List.map (fun o -> float o.Tokens / o.Seconds) |> List.min) (outcomes |> List.map (fun o -> float o.Tokens / o.Seconds) |> List.max)) |> ignore
    report.Table(
        [ "arm"; "LR"; "seed"; "parameters"; "final held-out loss"; "sink mass"; "sink mass per layer"; "largest per-head sink mass"; "max hidden |h|"; "mean gate"; "gates < 0.1" ],
        [ for o in outcomes ->
              [ o.Arm.Name; sprintf "%g" o.Lr; string o.Seed; string o.Parameters; StudyReport.Number(o.FinalLoss, "F4")
                StudyReport.Number(mean (Array.concat o.SinkMass), "F3"); (perLayerSink o |> Array.map (sprintf "%.3f") |> String.concat " / "); StudyReport.Number(Array.max (Array.concat o.SinkMass), "F3")
                StudyReport.Number(Array.max o.MaxActivation, "F1")
                StudyReport.Number(mean [ for g in o.Gates -> g.MeanGate ], "F3"); StudyReport.Number(mean [ for g in o.Gates -> g.FractionBelow ], "F3") ]
              |> Array.ofList ]) |> ignore
    let lrs = s.LearningRates |> List.map log10 |> Array.ofList
    /// The mean over seeds of one arm at one learning rate.
    let meanOver (arm: Arm) lr (value: Outcome -> float) =
        outcomes |> List.filter (fun o -> o.Arm = arm && o.Lr = lr) |> List.map value |> ClaimRules.MeanOverSeeds
    if s.Seeds.Length > 1 then
        report.Paragraph "Mean over seeds:" |> ignore
        report.Table(
            [ "arm"; "LR"; "final held-out loss"; "sink mass"; "sink-head mass"; "max hidden |h|"; "mean gate"; "gates < 0.1" ],
            [ for lr in s.LearningRates do
                  for arm in arms s ->
                      let m = meanOver arm lr
                      [| arm.Name; sprintf "%g" lr; StudyReport.Number(m (fun o -> o.FinalLoss), "F4")
                         StudyReport.Number(m (fun o -> mean (Array.concat o.SinkMass)), "F3")
                         StudyReport.Number(m sinkHead, "F3")
                         StudyReport.Number(m (fun o -> Array.max o.MaxActivation), "F1")
                         StudyReport.Number(m (fun o -> mean [ for g in o.Gates -> g.MeanGate ]), "F3")
                         StudyReport.Number(m (fun o -> mean [ for g in o.Gates -> g.FractionBelow ]), "F3") |] ]) |> ignore
    let perArm (value: Outcome -> float) =
        [ for arm in arms s -> PlotSeries(arm.Name, lrs, [| for lr in s.LearningRates -> meanOver arm lr value |]) ]
    report.Plot("final-loss.png", "final held-out loss", "log10 LR", "loss (nats/byte)", perArm (fun o -> o.FinalLoss)) |> ignore
    report.Plot("sink-mass.png", "sink-head mass (largest per-head mean attention on the first token)", "log10 LR", "mass", perArm sinkHead) |> ignore
    let largest = List.max s.LearningRates
    let smooth (xs: float[]) = Array.init xs.Length (fun i -> xs[max 0 (i - 9) .. i] |> Array.average)
    report.Plot("training-loss.png", sprintf "training loss at LR %g (10-step running mean, seed %d)" largest s.Seeds.Head, "step", "loss",
                [ for o in outcomes |> List.filter (fun o -> o.Lr = largest && o.Seed = s.Seeds.Head) ->
                      PlotSeries(o.Arm.Name, Array.init o.TrainLosses.Length (fun i -> float (i + 1)), smooth o.TrainLosses) ]) |> ignore
    // The paper's claims, checked on the means over seeds.
    let at (index: int) lr value =
        let arm = List.item index (arms s)
        meanOver arm lr value
    let loss (o: Outcome) = o.FinalLoss
    let maxActivation (o: Outcome) = Array.max o.MaxActivation
    let claim text ok = sprintf "%s: %s." text (ClaimRules.Verdict ok)
    let atEveryLr holds = ClaimRules.AtEverySetting(s.LearningRates, fun lr -> holds lr)
    let lowerLoss = atEveryLr (fun lr -> at 1 lr loss < at 0 lr loss)
    let smallest = List.min s.LearningRates
    // An advantage: G1 below the baseline at the larger LR, and by more than at the smaller one (a
    // smaller deficit is not an advantage).
    let advantage lr = at 0 lr loss - at 1 lr loss
    let tolerance = advantage largest > 0.0 && advantage largest > advantage smallest
    // Claim 3 in every seed, at the LRs where the baseline has a sink (sink-head first-token mass
    // above the threshold in every seed): G1's is below half of the baseline's (the paper: 0.47 -> 0.05).
    let perSeed lr index value = [| for seed in s.Seeds -> outcomes |> List.find (fun o -> o.Arm = List.item index (arms s) && o.Lr = lr && o.Seed = seed) |> value |]
    let sinkLrs = s.LearningRates |> List.filter (fun lr -> perSeed lr 0 sinkHead |> Array.forall (fun m -> m > sinkThreshold))
    let sinkRemoved = ClaimRules.AtEverySetting(sinkLrs, fun lr -> ClaimRules.InEverySeed(perSeed lr 1 sinkHead, perSeed lr 0 sinkHead, fun g b -> g < 0.5 * b))
    let g1BeatsG5AtSink = ClaimRules.AtEverySetting(sinkLrs, fun lr -> at 1 lr loss < at 2 lr loss)
    let massive = atEveryLr (fun lr -> at 1 lr maxActivation < at 0 lr maxActivation)
    let g1BeatsG5 = atEveryLr (fun lr -> at 1 lr loss < at 2 lr loss)
    report.Paragraph(
        String.concat " "
            [ claim "Claim 1 (G1 has lower held-out loss than the equal-parameter baseline at every LR)" lowerLoss
              claim "Claim 2 (G1 has lower loss than the baseline at the larger LR, by more than at the smaller LR)" tolerance
              (if not sinkLrs.IsEmpty then
                   claim (sprintf "Claim 3 (G1 removes the attention sink: where the baseline has one, sink-head first-token mass > %.1f in every seed, at LR %s, G1's is below half the baseline's in every seed)" sinkThreshold (sinkLrs |> List.map string |> String.concat ", ")) sinkRemoved
               else sprintf "Claim 3 (G1 removes the attention sink): not testable, the baseline forms no sink (sink-head first-token mass %s, threshold %.1f)."
                        (s.LearningRates |> List.map (fun lr -> sprintf "%.3f at LR %g" (at 0 lr sinkHead) lr) |> String.concat ", ") sinkThreshold)
              claim "Claim 4 (G1's largest hidden activation is smaller than the baseline's at every LR)" massive
              claim "Claim 5 (G1 beats G5 at every LR)" g1BeatsG5
              (if sinkLrs.IsEmpty then "" else claim "Claim 5' (G1 beats G5 at the LRs where the baseline has a sink)" g1BeatsG5AtSink) ]) |> ignore
    printfn "report: %s" (report.Save())

#if !MODELDSL_CLI
runStudy study
#endif
