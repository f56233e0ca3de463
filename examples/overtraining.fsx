// Catastrophic overtraining (arXiv 2503.19206, PAPERS.md §6) at a size two CPU cores can afford.
// Claims tested:
//   1. the longer a model is pre-trained, the more its held-out loss rises under a Gaussian weight
//      perturbation theta + gamma * eps (eps with each tensor's initialisation std);
//   2. fine-tuning every checkpoint on a shifted task at one fixed learning rate, the result stops
//      improving or gets worse past some pre-training budget (U shape), on the fine-tuning task and/or
//      on the pre-training domain (forgetting);
//   3. the effect depends on the learning-rate decay: constant rate against warmup-stable-decay (WSD)
//      with a short and a long linear decay.
// Data: two synthetic "languages", random order-2 Markov chains over 8 letters (MarkovText), written as
// byte-level text corpora: one for pre-training, and for fine-tuning the same chain with a quarter of its
// contexts given another chain's transitions (a related, shifted domain). Each chain's own loss
// on its held-out text is the floor a model can reach.
// Budgets are Chinchilla multiples r x 20 tokens per non-embedding parameter. The constant-rate models
// are checkpoints of one run; a WSD model of budget B branches from that run at (1 - f) B and decays the
// rate linearly to 0 over f B steps (f = 0.25 short, 0.5 long), as WSD cooldowns are run in practice,
// except that the branch starts a fresh optimizer state.
//   ./modeldsl run examples/overtraining.fsx [--quick] [--runs-dir DIR] [--threads N]
// Writes <runs>/overtraining[-quick]/report.md with tables, verdicts and plots. The folder is fixed, so
// re-running resumes: finished runs are not trained again and finished measurements are read back.
#load "../modeldsl.fsx"

open System.IO
open ModelDsl.Runtime.Studies
open ModelDsl.Runtime.Training
open ModelDsl.Runtime.FineTune

type Settings =
    { Letters: int; Successors: int; ShiftFraction: float
      Width: int; Depth: int; Heads: int; Length: int; Batch: int; Lr: float
      Ratios: int list; UnitSteps: int option; CorpusLetters: int
      Gammas: float list; NoiseSeeds: int64 list; EvalBatches: int
      FineTuneLr: float; FineTuneUnits: float; Seeds: int list }

let full =
    { Letters = 8; Successors = 3; ShiftFraction = 0.25
      Width = 16; Depth = 1; Heads = 2; Length = 32; Batch = 16; Lr = 1e-2
      Ratios = [ 1; 2; 4; 8; 16 ]; UnitSteps = None; CorpusLetters = 1_000_000
      Gammas = [ 0.5; 1.0; 2.0; 4.0 ]; NoiseSeeds = [ 1L; 2L; 3L ]; EvalBatches = 4
      FineTuneLr = 1e-2; FineTuneUnits = 0.5; Seeds = [ 1; 2 ] }

let quick =
    { Letters = 8; Successors = 3; ShiftFraction = 0.25
      Width = 16; Depth = 1; Heads = 2; Length = 16; Batch = 8; Lr = 1e-2
      Ratios = [ 1; 2 ]; UnitSteps = Some 4; CorpusLetters = 20_000
      Gammas = [ 0.5; 2.0 ]; NoiseSeeds = [ 1L; 2L ]; EvalBatches = 2
      FineTuneLr = 1e-2; FineTuneUnits = 0.5; Seeds = [ 1 ] }


/// A WSD branch decays over this fraction of its budget; "constant" has no decay.
type Decay = { Name: string; Fraction: float }
let decays = [ { Name = "constant"; Fraction = 0.0 }; { Name = "wsd-short"; Fraction = 0.25 }; { Name = "wsd-long"; Fraction = 0.5 } ]

/// The fine-tuning language: the pre-training chain with a random fraction of its order-2 contexts given
/// the next-letter distributions of an unrelated chain, i.e. a related domain in which part of what was
/// learnt must change and the rest stays valid.
type ShiftedChain(original: MarkovText, other: MarkovText, fraction: float, seed: int) =
    let letters = original.Alphabet
    let changed = let random = System.Random(seed) in Array.init original.Contexts (fun _ -> random.NextDouble() < fraction)
    member _.ChangedFraction = float (Array.sumBy (fun c -> if c then 1 else 0) changed) / float changed.Length
    member _.Probability(a: int, b: int, next: int) =
        (if changed[a * letters + b] then other else original).Probability(System.ReadOnlySpan<int>([| a; b |]), next)
    member this.Generate(length: int, seed: int) =
        let random = System.Random(seed)
        let text = Array.zeroCreate<int> length
        text[0] <- random.Next letters
        text[1] <- random.Next letters
        for i in 2 .. length - 1 do
            let u = random.NextDouble()
            let mutable next, acc = 0, this.Probability(text[i - 2], text[i - 1], 0)
            while u >= acc && next < letters - 1 do
                next <- next + 1
                acc <- acc + this.Probability(text[i - 2], text[i - 1], next)
            text[i] <- next
        System.String(text |> Array.map (fun l -> char (int 'a' + l)))
    /// The chain's own mean next-letter loss on positions 2.. of a text: the floor of the validation loss.
    member this.Loss(text: string) =
        let l i = int text[i] - int 'a'
        (List.sum [ for i in 2 .. text.Length - 1 -> -log (this.Probability(l (i - 2), l (i - 1), l i)) ]) / float (text.Length - 2)

let baseExperiment (s: Settings) (threads: int option) name corpus seed =
    Experiment.pretrain name (Model.llama (vocab = 256, width = s.Width, depth = s.Depth, heads = s.Heads) |> Model.maxSequenceLength s.Length)
    |> Experiment.task (Tasks.textCorpus (corpus, length = s.Length, validationFraction = 0.1))
    |> Experiment.optimizer (AdamW(Lr = s.Lr, WeightDecay = 0.01))
    |> Experiment.batch (globalBatch = s.Batch)
    |> Experiment.eval (every = 0, batches = s.EvalBatches, problems = 0)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed
    |> Experiment.threads (defaultArg threads 2)

/// Measurements of one checkpoint, stored as point.txt ("key value" lines, round-trip numbers) so that a
/// resumed study reads them back instead of measuring again.
let measured (file: string) (measure: unit -> Map<string, float>) =
    let invariant = System.Globalization.CultureInfo.InvariantCulture
    if File.Exists file then
        File.ReadAllLines file
        |> Array.map (fun line -> let parts = line.Split(' ') in parts[0], System.Double.Parse(parts[1], invariant))
        |> Map.ofArray
    else
        let values = measure ()
        let temporary = file + ".tmp"
        File.WriteAllLines(temporary, [ for KeyValue (key, value) in values -> key + " " + value.ToString("R", invariant) ])
        File.Move(temporary, file, true)
        values

let mean (xs: float list) = List.average xs

let study (context: StudyContext) =
    let s = if context.Quick then quick else full
    let folder = Path.GetFullPath(Path.Combine(context.RunsRoot, if context.Quick then "overtraining-quick" else "overtraining"))
    Directory.CreateDirectory folder |> ignore
    let threads = Option.ofNullable context.Threads
    let clock = System.Diagnostics.Stopwatch.StartNew()
    // The two domains: chain 1 pre-trains, chain 2 (unrelated, same letters) is the fine-tuning shift.
    let pretrainChain, fineTuneChain = MarkovText(s.Letters, 2, s.Successors, 1), MarkovText(s.Letters, 2, s.Successors, 2)
    let pretrainCorpus, fineTuneCorpus = Path.Combine(folder, "pretrain.txt"), Path.Combine(folder, "finetune.txt")
    let pretrainText = pretrainChain.WriteCorpus(pretrainCorpus, s.CorpusLetters, 11)
    let shiftedChain = ShiftedChain(pretrainChain, fineTuneChain, s.ShiftFraction, 3)
    let fineTuneText = shiftedChain.Generate(s.CorpusLetters / 4, 12)
    if not (File.Exists fineTuneCorpus) || File.ReadAllText fineTuneCorpus <> fineTuneText then File.WriteAllText(fineTuneCorpus, fineTuneText)
    // The chains' own losses on the held-out tenth: the floors of the two validation losses.
    let heldOut (text: string) = text.Substring(int (floor (float text.Length * 0.9)))
    let pretrainFloor, fineTuneFloor = pretrainChain.Loss(heldOut pretrainText), shiftedChain.Loss(heldOut fineTuneText)

    // One Chinchilla unit (20 tokens per non-embedding parameter) in steps, a multiple of 4 so that
    // every branch point is a checkpoint of the constant run.
    let probe = baseExperiment s threads "probe" pretrainCorpus 1 |> Experiment.toSpecOrFail
    let nonEmbedding =
        let built = Trainer.BuildLanguageModel(probe.Model, TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU, 1L)
        use _ = built.Module
        built.NonEmbeddingParameterCount
    let tokensPerStep = s.Batch * s.Length
    let unit =
        match s.UnitSteps with
        | Some u -> u
        | None -> 4 * int (ceil (20.0 * float nonEmbedding / float tokensPerStep / 4.0))
    let maxRatio = List.max s.Ratios
    let fineTuneSteps = max 1 (int (s.FineTuneUnits * float unit))
    printfn "non-embedding parameters %d; one unit = %d steps = %d tokens (%.1f per parameter)" nonEmbedding unit (unit * tokensPerStep) (float (unit * tokensPerStep) / float nonEmbedding)

    let pretrainTask seed = ModelDsl.Runtime.Tasks.TaskFactory.Create(Tasks.textCorpus (pretrainCorpus, length = s.Length, validationFraction = 0.1), seed)
    let fineTuneTask seed = ModelDsl.Runtime.Tasks.TaskFactory.Create(Tasks.textCorpus (fineTuneCorpus, length = s.Length, validationFraction = 0.1), seed)
    let loss (model: ModelDsl.Runtime.Model.LanguageModel) task =
        ModelDsl.Runtime.Eval.Evaluator.ValidationLoss(model, task, s.EvalBatches, 64, model.Device)

    /// For one seed: every (decay, ratio) model, its perturbation sensitivity, and its fine-tuning outcome.
    let runSeed seed =
        let seedFolder = Path.Combine(folder, sprintf "seed-%d" seed)
        Directory.CreateDirectory seedFolder |> ignore
        let constantSpec =
            baseExperiment s threads "pretrain-constant" pretrainCorpus seed
            |> Experiment.schedule (Schedule.constant (warmup = 0.1 / float maxRatio))
            |> Experiment.budget (Budget.steps (int64 (maxRatio * unit)))
            |> Experiment.checkpoint (every = unit / 4, keep = 4 * maxRatio + 1)
            |> Experiment.toSpecOrFail
        let constantRun = Path.Combine(seedFolder, "pretrain-constant")
        Trainer.Run(constantSpec, TrainOptions(RunDirectory = constantRun)) |> ignore
        let constantAt step = Source.checkpoint (Path.Combine(constantRun, "checkpoints", sprintf "step-%08d.ckpt" step))
        let modelOf (decay: Decay) ratio =
            if decay.Fraction = 0.0 then constantAt (ratio * unit)
            else
                let decaySteps = int (round (decay.Fraction * float (ratio * unit)))
                let name = sprintf "%s-%dx" decay.Name ratio
                let spec =
                    baseExperiment s threads name pretrainCorpus seed
                    |> Experiment.initFrom (constantAt (ratio * unit - decaySteps))
                    |> Experiment.schedule (Schedule.wsd (warmup = 0.0, decayFraction = 1.0, minRatio = 0.0))
                    |> Experiment.budget (Budget.steps (int64 decaySteps))
                    |> Experiment.toSpecOrFail
                let run = Trainer.Run(spec, TrainOptions(RunDirectory = Path.Combine(seedFolder, name)))
                Source.run run.RunDirectory
        [ for decay in decays do
              for ratio in s.Ratios ->
                  let source = modelOf decay ratio
                  let pointFolder = Path.Combine(seedFolder, sprintf "point-%s-%dx" decay.Name ratio)
                  Directory.CreateDirectory pointFolder |> ignore
                  let values =
                      measured (Path.Combine(pointFolder, "point.txt")) (fun () ->
                          let sensitivity =
                              use model = ModelLoader.Load(source, probe.Model)
                              let fineTuneBefore = loss model (fineTuneTask seed)
                              let result = PerturbationSensitivity.Measure(model, pretrainTask seed, s.Gammas, s.NoiseSeeds, s.EvalBatches, 64)
                              [ yield "pretrainLoss", result.BaseLoss
                                yield "fineTuneLossBefore", fineTuneBefore
                                for p in result.Points do yield sprintf "increase@%g" p.Gamma, p.MeanIncrease ]
                          let fineTuneSpec =
                              baseExperiment s threads (sprintf "finetune-%s-%dx" decay.Name ratio) fineTuneCorpus seed
                              |> Experiment.initFrom source
                              |> Experiment.optimizer (AdamW(Lr = s.FineTuneLr, WeightDecay = 0.01))
                              |> Experiment.schedule (Schedule.constant (warmup = 0.1))
                              |> Experiment.budget (Budget.steps (int64 fineTuneSteps))
                              |> Experiment.toSpecOrFail
                          let tuned = Trainer.Run(fineTuneSpec, TrainOptions(RunDirectory = Path.Combine(pointFolder, "finetune")))
                          use after = ModelLoader.Load(Source.run tuned.RunDirectory, probe.Model)
                          Map.ofList (sensitivity @ [ "fineTuneLossAfter", loss after (fineTuneTask seed); "pretrainLossAfter", loss after (pretrainTask seed) ]))
                  printfn "seed %d %-9s %2dx: pretrain %.4f  increase@%g %.4f  after fine-tuning: fine-tune %.4f pretrain %.4f  (%.0f s)"
                      seed decay.Name ratio values["pretrainLoss"] (List.last s.Gammas) values[sprintf "increase@%g" (List.last s.Gammas)]
                      values["fineTuneLossAfter"] values["pretrainLossAfter"] clock.Elapsed.TotalSeconds
                  (decay.Name, ratio), values ] |> Map.ofList

    let results = [ for seed in s.Seeds -> seed, runSeed seed ]
    let value seed decay ratio key = (results |> List.find (fun (s', _) -> s' = seed) |> snd)[(decay, ratio)][key]
    let meanOver decay ratio key = mean [ for seed, _ in results -> value seed decay ratio key ]
    let ratios = Array.ofList (List.map float s.Ratios)
    let keyOf gamma = sprintf "increase@%g" gamma
    let gammaMid = s.Gammas[s.Gammas.Length / 2]
    let fmt = StudyReport.Number

    let report = StudyReport(folder, "Catastrophic overtraining: perturbation sensitivity and fine-tuning against the pre-training budget")
    report.Paragraph(
        sprintf "Pre-training data: a random order-2 Markov chain over %d letters (%d successors per context), %d letters as a byte-level corpus, the last tenth held out; its own loss on the held-out text is %.4f nats (the floor). Fine-tuning data (the shifted task): the pre-training chain with %.0f%% of its contexts (drawn at random) given the next-letter distributions of an unrelated chain of the same form, %d letters, floor %.4f. Llama-style model, %d layers, width %d, %d heads, vocab 256, %d non-embedding parameters; sequences of %d tokens, batch %d (%d tokens per step); AdamW lr %g, weight decay 0.01. One budget unit = %d steps = %d tokens (%.1f tokens per non-embedding parameter; 20 is Chinchilla's ratio). Budgets: %s units."
            s.Letters s.Successors s.CorpusLetters pretrainFloor (100.0 * shiftedChain.ChangedFraction) (s.CorpusLetters / 4) fineTuneFloor s.Depth s.Width s.Heads nonEmbedding s.Length s.Batch tokensPerStep s.Lr
            unit (unit * tokensPerStep) (float (unit * tokensPerStep) / float nonEmbedding) (String.concat ", " (List.map string s.Ratios))) |> ignore
    report.Paragraph(
        sprintf "Schedules: *constant* (warmup over the first %.2g units, then the peak rate; the models are checkpoints of one run of %d units); *wsd-short* and *wsd-long*: from the constant run's checkpoint at 0.75 B (short) or 0.5 B (long), a linear decay of the rate to 0 over the remaining 0.25 B or 0.5 B steps (fresh optimizer state). Perturbation: theta + gamma eps, eps Gaussian with each tensor's initialisation std, gamma in %s, %d noise seeds, the mean increase of the pre-training held-out loss (%d batches of 64 sequences). Fine-tuning: every model is trained on the shifted corpus for %d steps (%.2g units) at AdamW lr %g (constant after 10%% warmup, fresh optimizer); then the held-out loss on both corpora is measured. Seeds %s (initialisation and data order; the corpora are fixed)."
            0.1 maxRatio (String.concat ", " (List.map string s.Gammas)) s.NoiseSeeds.Length s.EvalBatches
            fineTuneSteps s.FineTuneUnits s.FineTuneLr (String.concat ", " (List.map string s.Seeds))) |> ignore

    report.Paragraph("## Every model (mean over seeds)") |> ignore
    report.Table(
        [ yield "schedule"; yield "budget (units)"; yield "pre-train loss"
          for g in s.Gammas do yield sprintf "increase γ=%g" g
          yield "fine-tune loss before"; yield "fine-tune loss after"; yield "pre-train loss after"; yield "forgetting (after - before)" ],
        [ for d in decays do
              for r in s.Ratios ->
                  [| yield d.Name; yield string r; yield fmt (meanOver d.Name r "pretrainLoss")
                     for g in s.Gammas do yield fmt (meanOver d.Name r (keyOf g))
                     yield fmt (meanOver d.Name r "fineTuneLossBefore"); yield fmt (meanOver d.Name r "fineTuneLossAfter")
                     yield fmt (meanOver d.Name r "pretrainLossAfter")
                     yield fmt (meanOver d.Name r "pretrainLossAfter" - meanOver d.Name r "pretrainLoss") |] ]) |> ignore
    report.Paragraph("Per seed:") |> ignore
    report.Table(
        [ "seed"; "schedule"; "budget"; "pre-train loss"; sprintf "increase γ=%g" gammaMid; "fine-tune loss after"; "pre-train loss after" ],
        [ for seed, _ in results do
              for d in decays do
                  for r in s.Ratios ->
                      [| string seed; d.Name; string r; fmt (value seed d.Name r "pretrainLoss"); fmt (value seed d.Name r (keyOf gammaMid))
                         fmt (value seed d.Name r "fineTuneLossAfter"); fmt (value seed d.Name r "pretrainLossAfter") |] ]) |> ignore

    let perDecay (key: string) label =
        [ for d in decays -> PlotSeries(sprintf "%s %s" d.Name label, ratios, [| for r in s.Ratios -> meanOver d.Name r key |]) ]
    report.Plot("sensitivity.png", sprintf "Loss increase under perturbation (γ = %g) against budget, mean over seeds" gammaMid, "budget (Chinchilla units)", "held-out loss increase",
                perDecay (keyOf gammaMid) "", log2X = true) |> ignore
    report.Plot("sensitivity-gamma.png", "Loss increase against budget, constant schedule, each γ (mean over seeds)", "budget (Chinchilla units)", "held-out loss increase",
                [ for g in s.Gammas -> PlotSeries(sprintf "γ = %g" g, ratios, [| for r in s.Ratios -> meanOver "constant" r (keyOf g) |]) ], log2X = true) |> ignore
    report.Plot("finetune.png", "After fine-tuning: loss on the fine-tuning corpus, mean over seeds", "budget (Chinchilla units)", "fine-tune held-out loss",
                perDecay "fineTuneLossAfter" "", log2X = true) |> ignore
    report.Plot("pretrain-after.png", "Pre-training held-out loss before (dashed labels 'before') and after fine-tuning, mean over seeds", "budget (Chinchilla units)", "pre-train held-out loss",
                perDecay "pretrainLoss" "before" @ perDecay "pretrainLossAfter" "after", log2X = true) |> ignore

    // Verdicts, per seed and schedule.
    let margin = 0.002
    let trend seed decay key = [ for r in s.Ratios -> value seed decay r key ]
    let verdictOf (holds: bool list) =
        let n = holds |> List.filter id |> List.length
        if n = holds.Length then "reproduced" elif n = 0 then "not reproduced" else sprintf "mixed (%d of %d)" n holds.Length
    let rows =
        [ for d in decays do
              // Claim 1: sensitivity at the largest budget exceeds that at the smallest, and rises step by step.
              let c1 =
                  [ for seed, _ in results ->
                        let xs = trend seed d.Name (keyOf gammaMid)
                        let rises = List.pairwise xs |> List.filter (fun (a, b) -> b > a) |> List.length
                        List.last xs - List.head xs > margin,
                        sprintf "seed %d: %s (%d of %d steps up)" seed (String.concat " → " (List.map fmt xs)) rises (xs.Length - 1) ]
              yield [| sprintf "sensitivity (γ = %g) grows with the budget" gammaMid; d.Name; String.concat "; " (List.map snd c1); verdictOf (List.map fst c1) |]
              // Claim 2: past some budget the fine-tuned result stops improving or degrades: the best budget is
              // not the largest, and the largest is worse than the best by more than the margin.
              for key, label in [ "fineTuneLossAfter", "fine-tune loss after fine-tuning"; "pretrainLossAfter", "pre-train loss after fine-tuning" ] do
                  let c2 =
                      [ for seed, _ in results ->
                            let xs = trend seed d.Name key
                            let best = List.min xs
                            let at = s.Ratios[List.findIndex ((=) best) xs]
                            at < maxRatio && List.last xs - best > margin,
                            sprintf "seed %d: best at %dx (%s), %dx %s" seed at (fmt best) maxRatio (fmt (List.last xs)) ]
                  yield [| sprintf "U shape: %s is best before the largest budget" label; d.Name; String.concat "; " (List.map snd c2); verdictOf (List.map fst c2) |] ]
    // Claim 3: with decay the models are more sensitive than constant-rate models of the same budget.
    let c3 decay =
        [ for seed, _ in results ->
              let diffs = [ for r in s.Ratios -> value seed decay r (keyOf gammaMid) - value seed "constant" r (keyOf gammaMid) ]
              List.forall (fun x -> x > 0.0) diffs, sprintf "seed %d: %s" seed (String.concat ", " (List.map fmt diffs)) ]
    let decayRows =
        [ for d in decays |> List.filter (fun d -> d.Fraction > 0.0) ->
              let c = c3 d.Name
              [| sprintf "%s is more sensitive than constant at every budget (difference per budget)" d.Name; d.Name; String.concat "; " (List.map snd c); verdictOf (List.map fst c) |] ]
    report.Paragraph(sprintf "## Verdicts\n\nPer seed and schedule; a rise or a gap counts when it exceeds %g nats. \"U shape\" means the lowest loss after fine-tuning is reached at a budget below the largest and the largest budget is worse than it." margin) |> ignore
    report.Table([ "claim"; "schedule"; "per-seed evidence"; "verdict" ], rows @ decayRows) |> ignore
    report.Paragraph(sprintf "Wall time of this invocation: %.0f s (finished runs and measurements of an earlier invocation are read back, not repeated)." clock.Elapsed.TotalSeconds) |> ignore
    printfn "report: %s" (report.Save())
