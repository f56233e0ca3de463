// A vision-language model as an experiment: an image encoder (8x8 patches, one bidirectional block,
// pooled to 16 prefix embeddings) and an MLP projector before a two-layer decoder, trained on procedural
// 32x32 scenes to caption them ("describe : two large red circle at left") and to answer one-word
// questions about colour, shape, size, position and count; every fourth step shows the texts without
// their images, so that the model also learns the text-only prior. The loss counts response tokens only;
// each evaluation reports the held-out loss with and without images and greedy question accuracy
// (decoded with the KV cache after the image prefix). Then S-VCO (arXiv 2502.13928) from that run, with
// the captioning model frozen as the reference, as a second experiment.
//   ./modeldsl run examples/vlm_captioning.fsx    (the captioning experiment)
//   ./modeldsl info examples/vlm_captioning.fsx   (encoder, projector and decoder layers)
//   dotnet fsi examples/vlm_captioning.fsx        (captioning, then S-VCO from it)
#load "../modeldsl.fsx"

let captioning =
    Experiment.pretrain "vlm-captioning" (Model.llama (vocab = SceneTaskSpec.Vocabulary, width = 32, depth = 2, heads = 2) |> Model.maxSequenceLength 32)
    |> Experiment.vision (Vision.encoder (imageSize = 32, patchSize = 8, width = 32, depth = 1, heads = 2, hidden = 64) |> Vision.prefixTokens 16)
    |> Experiment.task (Tasks.scenes (questionFraction = 0.5, textOnlyEvery = 4))
    |> Experiment.optimizer (AdamW(Lr = 3e-3, WeightDecay = 0.0))
    |> Experiment.schedule (Schedule.warmupCosine (warmup = 0.05, minRatio = 0.1))
    |> Experiment.budget (Budget.steps 600L)
    |> Experiment.batch (globalBatch = 32)
    |> Experiment.eval (every = 200, batches = 4, problems = 200)
    |> Experiment.seed 1
    |> Experiment.threads 2

/// Preference post-training from a finished captioning run: the objective on minimal contrast pairs
/// against the captioning model, frozen (e.g. `Preference.svco (beta = 0.1)`, `Preference.textDpo ()`).
let preferenceFrom (captioningRun: string) (objective: PreferenceObjective) =
    captioning
    |> Experiment.name "vlm-preference"
    |> Experiment.initFrom (Source.run captioningRun)
    |> Experiment.preference objective
    |> Experiment.optimizer (AdamW(Lr = 1e-3, WeightDecay = 0.0))
    |> Experiment.schedule (Schedule.constant ())
    |> Experiment.budget (Budget.steps 100L)
    |> Experiment.batch (globalBatch = 16)
    |> Experiment.eval (every = 50, batches = 4, problems = 200)

let experiment = captioning

// The modeldsl CLI trains `experiment` itself; plain `dotnet fsi` trains it here, then S-VCO from it.
#if !MODELDSL_CLI
let sft = run experiment
run (preferenceFrom sft.RunDirectory (Preference.svco (beta = 0.1))) |> ignore
#endif
