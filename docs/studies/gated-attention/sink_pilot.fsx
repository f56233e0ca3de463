// Pilot for the gated-attention study: when does the ungated baseline grow an attention sink?
// Trains one arm of examples/gated_attention.fsx in one setting and prints the first-token attention
// mass per layer (mean over heads and query rows 1..T-1 of 16 held-out sequences) at every evaluation.
//   SINK_PILOT=<setting> ./modeldsl run docs/studies/gated-attention/sink_pilot.fsx --threads 1
// A setting is <depth>x<width>-L<length>-s<steps>-e<evalEvery>[-h<heads>][-bos][-backcopy][-lr<lr>][-g1|-g5][-seed<n>],
// e.g. 4x48-L128-s1200-e200-bos. The corpus is the study's grammar text, or with -backcopy the
// bigram-with-back-copy text (examples/gated_attention_corpus.fsx).
#load "../../../modeldsl.fsx"

open System.IO
open ModelDsl.Runtime.Compile
open ModelDsl.Runtime.Model
open ModelDsl.Runtime.Eval
open ModelDsl.Runtime.Studies
open ModelDsl.Runtime.Training

#load "../../../examples/gated_attention_corpus.fsx"
open GatedAttentionCorpus

type Pilot = { Depth: int; Width: int; Length: int; Steps: int; EvalEvery: int; Bos: bool; Backcopy: bool; Heads: int; Lr: float; Gate: string; Seed: int }

let parse (text: string) =
    let parts = text.Split '-'
    let dims = parts[0].Split 'x'
    let value (prefix: string) fallback =
        parts |> Array.tryPick (fun p -> if p.StartsWith prefix && p.Length > prefix.Length && (System.Char.IsDigit p[prefix.Length] || p[prefix.Length] = '.') then Some (p.Substring prefix.Length) else None)
        |> Option.defaultValue fallback
    { Depth = int dims[0]; Width = int dims[1]
      Length = int (value "L" "64"); Steps = int (value "s" "600"); EvalEvery = int (value "e" "100")
      Bos = Array.contains "bos" parts; Backcopy = Array.contains "backcopy" parts; Heads = int (value "h" "4"); Lr = float (value "lr" "0.003")
      Gate = (if Array.contains "g1" parts then "g1" elif Array.contains "g5" parts then "g5" else "none")
      Seed = int (value "seed" "1") }

let study (context: StudyContext) =
    let name = System.Environment.GetEnvironmentVariable "SINK_PILOT"
    let p = parse (if System.String.IsNullOrEmpty name then "2x48-L64-s40-e20" else name)
    let folder = context.CreateFolder "sink-pilot"
    let corpus = Path.Combine(folder, "corpus.txt")
    (if p.Backcopy then writeBackcopyCorpus else writeCorpus) corpus 200_000
    let gate = match p.Gate with "g1" -> Some Gate.g1 | "g5" -> Some Gate.g5 | _ -> None
    let hidden = DenseFeedForward.DefaultHidden(p.Width, Activation.SwiGlu) + (if gate.IsNone then p.Width / 3 else 0)
    let attention = match gate with Some g -> Attention.gate g | None -> id
    let spec =
        Experiment.pretrain "sink-pilot" (Model.llama (vocab = (if p.Bos then 257 else 256), width = p.Width, depth = p.Depth, heads = p.Heads))
        |> Experiment.model (Model.attention attention >> Model.feedForward (FeedForward.swiGlu hidden))
        |> Experiment.task (Tasks.textCorpus (corpus, length = p.Length, bos = p.Bos))
        |> Experiment.optimizer (AdamW(Lr = p.Lr, WeightDecay = 0.1))
        |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
        |> Experiment.budget (Budget.steps p.Steps)
        |> Experiment.batch (globalBatch = 16)
        |> Experiment.eval (every = p.EvalEvery, batches = 4)
        |> Experiment.checkpoint (every = 0, keep = 1)
        |> Experiment.seed p.Seed
        |> Experiment.threads (defaultArg (Option.ofNullable context.Threads) 1)
        |> Experiment.toSpecOrFail
    let task = ModelDsl.Runtime.Tasks.TaskFactory.Create(spec.Task, spec.Training.Seed)
    let mutable built : TrainableModel option = None
    let clock = System.Diagnostics.Stopwatch.StartNew()
    let measure (e: EvalResult) =
        let model = built.Value.Module :?> LanguageModel
        use batch = task.ValidationBatch(0, 16)
        let sink = AttentionSinkMass.Measure(model, batch.Inputs.``to``(model.Device))
        let perLayer = sink |> Array.map Array.average
        let later = sink[sink.Length / 2 ..] |> Array.concat |> Array.average
        printfn "%s step %5d  %6.0fs  loss %.4f  sink per layer [%s]  later-layer mean %.3f  max head %.3f"
            name e.Step clock.Elapsed.TotalSeconds e.ValidationLoss (perLayer |> Array.map (sprintf "%.3f") |> String.concat " ") later (sink |> Array.concat |> Array.max)
    let factory = TrainableModelFactory(fun m dtype device seed -> let t = Trainer.BuildLanguageModel(m, dtype, device, seed) in built <- Some t; t)
    Trainer.Run(spec, TrainOptions(RunsRoot = folder, OnEval = System.Action<EvalResult> measure), factory) |> ignore
    printfn "%s done: %d tokens/step, %.0f s, %.0f tokens/s" name (16 * p.Length) clock.Elapsed.TotalSeconds (float (16 * p.Length * p.Steps) / clock.Elapsed.TotalSeconds)

#if !MODELDSL_CLI
runStudy study
#endif
