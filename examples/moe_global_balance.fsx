// Global-batch vs micro-batch load balancing for mixture-of-experts (arXiv 2501.11873, PAPERS.md §9).
// Identical MoE models on four task domains; every training micro-batch is drawn from a single domain
// (the paper's setting: micro-batches are near sequence level and thus domain-homogeneous). Micro-batch balancing must spread every domain over all experts;
// global-batch balancing only needs the experts balanced over the whole step, so domains may
// specialise. Measured: loss, global load balance, domain/expert mutual information, heat-maps.
//   ./modeldsl run examples/moe_global_balance.fsx [--quick] [--runs-dir DIR] [--threads N]
//   dotnet fsi examples/moe_global_balance.fsx [--quick]
// Writes <runs>/moe-global-balance-<time>/report.md with tables and PNG heat-maps.
#load "../modeldsl.fsx"

open ModelDsl
open ModelDsl.Runtime.Eval
open ModelDsl.Runtime.Studies
open ModelDsl.Runtime.Training
open TorchSharp

type Settings =
    { Width: int
      Depth: int
      Experts: int
      TopK: int
      ExpertHidden: int
      Coefficients: float list
      Steps: int
      MicroBatch: int
      Seeds: int list
      EvalBatches: int }

let full = { Width = 48; Depth = 2; Experts = 8; TopK = 2; ExpertHidden = 32; Coefficients = [ 1e-2; 1e-1 ]; Steps = 300; MicroBatch = 16; Seeds = [ 1; 2; 3 ]; EvalBatches = 4 }
let quick = { Width = 32; Depth = 1; Experts = 4; TopK = 2; ExpertHidden = 16; Coefficients = [ 1e-2 ]; Steps = 6; MicroBatch = 4; Seeds = [ 1 ]; EvalBatches = 1 }

/// Four domains; every training micro-batch draws one of them (domain-sorted shards), validation mixes them.
let mixture =
    Tasks.mixture (
        [ "parity", Tasks.sparseParity (bits = 8, secret = 2), 1.0
          "arithmetic", Tasks.chainedArithmetic (7, 4), 1.0
          "flip-flop", Tasks.flipFlop 12, 1.0
          "permutations", Tasks.permutationComposition (5, 8), 1.0 ],
        grouping = MixtureGrouping.PerMicroBatch)

let domainCount = 4
let vocabulary = mixture.VocabularySize()

/// Every block is a mixture; the two runs differ only in the balance scope.
let experiment (s: Settings) (coefficient: float) (scope: BalanceScope) (seed: int) =
    Experiment.pretrain
        (sprintf "moe-%A-c%g-seed%d" scope coefficient seed)
        (Model.llama (vocab = vocabulary, width = s.Width, depth = s.Depth, heads = 4)
         |> Model.feedForward (
             Moe.topK (experts = s.Experts, k = s.TopK)
             |> Moe.expertHidden s.ExpertHidden
             |> (if scope = BalanceScope.GlobalBatch then Moe.globalBalance coefficient else Moe.microBalance coefficient)))
    |> Experiment.task mixture
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.0))
    |> Experiment.schedule (Schedule.constant (warmup = 0.0))
    |> Experiment.budget (Budget.steps s.Steps)
    |> Experiment.batch (globalBatch = domainCount * s.MicroBatch, microBatch = s.MicroBatch)
    |> Experiment.clip 1.0
    |> Experiment.eval (every = s.Steps, batches = s.EvalBatches)
    |> Experiment.checkpoint (every = 0, keep = 1)
    |> Experiment.seed seed
    |> Experiment.toSpecOrFail

type Outcome =
    { Coefficient: float
      Scope: BalanceScope
      Seed: int
      TrainLoss: float
      ValidationLoss: float
      /// Coefficient of variation of expert load over each step's global batch (mean of the last steps, over layers).
      GlobalLoadCv: float
      /// The same within each domain (mean over domains and layers, on validation data).
      MicroBatchLoadCv: float
      MutualInformation: float
      TopExpertShare: float
      Routing: LayerRouting list }

let mean (xs: #seq<float>) = Seq.average xs

/// One run through the ordinary trainer; routing is read from its per-step and evaluation callbacks.
let train (s: Settings) (runsRoot: string) (coefficient: float) (scope: BalanceScope) (seed: int) =
    let globalCv = ResizeArray<float>()
    let mutable finalRouting: LayerRouting list = []
    let options =
        TrainOptions(
            RunsRoot = runsRoot,
            OnProgress = (fun p -> if p.Step % 100L = 0L then printfn "  %A c=%g seed %d step %d: loss %.4f" scope coefficient seed p.Step p.Loss),
            OnRouting = (fun _ layers -> globalCv.Add(layers |> Seq.averageBy (fun l -> l.LoadCoefficientOfVariation))),
            OnRoutingEval = (fun _ layers -> finalRouting <- List.ofSeq layers))
    let result = Trainer.Run(experiment s coefficient scope seed, options)
    let tail = max 1 (s.Steps / 5)
    let perDomainCv (l: LayerRouting) =
        [ for d in 0 .. l.DomainCount - 1 ->
            let p = l.DomainDistribution d
            let m = Array.average p
            sqrt (p |> Array.averageBy (fun x -> (x - m) * (x - m))) / m ] |> mean
    { Coefficient = coefficient
      Scope = scope
      Seed = seed
      TrainLoss = result.TrainLosses |> Seq.skip (result.TrainLosses.Count - tail) |> Seq.average
      ValidationLoss = result.FinalEval.ValidationLoss
      GlobalLoadCv = globalCv.ToArray() |> Array.skip (globalCv.Count - tail) |> Array.average
      MicroBatchLoadCv = finalRouting |> Seq.averageBy perDomainCv
      MutualInformation = finalRouting |> Seq.averageBy (fun l -> l.MutualInformation)
      TopExpertShare = finalRouting |> Seq.averageBy (fun l -> l.TopExpertShare)
      Routing = finalRouting }

let study (context: StudyContext) =
    let s = if context.Quick then quick else full
    context.Threads |> Option.ofNullable |> Option.iter torch.set_num_threads
    let folder = context.CreateFolder "moe-global-balance"
    let outcomes =
        [ for coefficient in s.Coefficients do
            for seed in s.Seeds do
                for scope in [ BalanceScope.MicroBatch; BalanceScope.GlobalBatch ] do
                    let o = train s (System.IO.Path.Combine(folder, "runs")) coefficient scope seed
                    printfn "%A c=%g seed %d: train %.4f validation %.4f global CV %.3f MI %.3f" scope coefficient seed o.TrainLoss o.ValidationLoss o.GlobalLoadCv o.MutualInformation
                    yield o ]
    let show (x: float) = StudyReport.Number(x, "0.000")
    let report = StudyReport(folder, "Global-batch vs micro-batch load balancing for mixture-of-experts")
    report.Paragraph(
        sprintf "Llama-style model, width %d, %d layers, every feed-forward a mixture of %d SwiGLU experts of %d units, top-%d (renormalised), dropless, balance coefficients %s; AdamW lr 3e-3, clip 1, %d steps, trained by the ordinary trainer. Data: four equally weighted domains (sparse parity, chained arithmetic mod 7, flip-flop, permutation composition); each optimizer step has %d micro-batches of %d sequences, each micro-batch drawn from a single domain (`grouping = MixtureGrouping.PerMicroBatch`); validation batches mix domains. Micro-batch scope: f and p from each micro-batch. Global-batch scope: f from the running sum of counts over the step's micro-batches so far (Megatron's scheme), p local. Seeds: %s. Routing statistics are measured on the validation batches at the end."
            s.Width s.Depth s.Experts s.ExpertHidden s.TopK (s.Coefficients |> List.map string |> String.concat ", ") s.Steps domainCount s.MicroBatch
            (s.Seeds |> List.map string |> String.concat ", ")) |> ignore
    report.Table(
        [ "coefficient"; "scope"; "seed"; "train loss (last 20%)"; "validation loss"; "global load CV"; "per-domain load CV"; "I(domain; expert) nats"; "top-expert share" ],
        [ for o in outcomes ->
            [| string o.Coefficient; string o.Scope; string o.Seed; show o.TrainLoss; show o.ValidationLoss; show o.GlobalLoadCv; show o.MicroBatchLoadCv
               show o.MutualInformation; show o.TopExpertShare |] ]) |> ignore
    let averaged coefficient scope (field: Outcome -> float) =
        outcomes |> List.filter (fun o -> o.Scope = scope && o.Coefficient = coefficient) |> List.averageBy field
    let summary =
        [ for coefficient in s.Coefficients do
            for scope in [ BalanceScope.MicroBatch; BalanceScope.GlobalBatch ] ->
                let mean = averaged coefficient scope
                [| string coefficient; string scope; show (mean (fun o -> o.TrainLoss)); show (mean (fun o -> o.ValidationLoss))
                   show (mean (fun o -> o.GlobalLoadCv)); show (mean (fun o -> o.MicroBatchLoadCv))
                   show (mean (fun o -> o.MutualInformation)); show (mean (fun o -> o.TopExpertShare)) |] ]
    report.Paragraph "Mean over seeds (I(domain; expert) is at most ln 4 = 1.386 nats for four domains; CV 0 = perfectly balanced):" |> ignore
    report.Table([ "coefficient"; "scope"; "train loss"; "validation loss"; "global load CV"; "per-domain load CV"; "I(domain; expert)"; "top-expert share" ], summary) |> ignore
    for coefficient in s.Coefficients do
        let micro = averaged coefficient BalanceScope.MicroBatch
        let globalScope = averaged coefficient BalanceScope.GlobalBatch
        // More specialised only if it holds in every seed, not just on the mean.
        let inSeed scope seed = outcomes |> List.find (fun o -> o.Coefficient = coefficient && o.Scope = scope && o.Seed = seed)
        let perSeed scope = [| for seed in s.Seeds -> (inSeed scope seed).MutualInformation |]
        let moreSpecialised = ClaimRules.InEverySeed(perSeed BalanceScope.GlobalBatch, perSeed BalanceScope.MicroBatch, fun g m -> g > m)
        let lossNotWorse = globalScope (fun o -> o.ValidationLoss) <= micro (fun o -> o.ValidationLoss) + 0.005
        report.Paragraph(
            sprintf "Claim (global-batch balancing gives more domain specialisation at equal or better loss), coefficient %g: specialisation %s (I = %s vs %s nats on the mean), validation loss %s (%s vs %s); %s."
                coefficient
                (if moreSpecialised then "higher in every seed" else "not higher in every seed") (show (globalScope (fun o -> o.MutualInformation))) (show (micro (fun o -> o.MutualInformation)))
                (if lossNotWorse then "equal or better" else "worse") (show (globalScope (fun o -> o.ValidationLoss))) (show (micro (fun o -> o.ValidationLoss)))
                (if moreSpecialised && lossNotWorse then "supported" else "not supported in this run")) |> ignore
    let first = s.Seeds.Head
    for o in outcomes |> List.filter (fun o -> o.Seed = first) do
        for l in o.Routing do
            let layer = l.Layer.Replace("model.", "").Replace(".feedForward", "")
            let name = sprintf "routing-%s-c%g-%s.png" (string o.Scope) o.Coefficient (layer.Replace("[", "").Replace("]", ""))
            RoutingHeatmap.Save(System.IO.Path.Combine(folder, name), l, sprintf "%A balance, coefficient %g, %s (seed %d)" o.Scope o.Coefficient layer first)
            report.Paragraph(sprintf "![%A, coefficient %g, %s](%s)" o.Scope o.Coefficient l.Layer name) |> ignore
    let path = report.Save()
    printfn "report: %s" path

#if !MODELDSL_CLI
runStudy study
#endif
