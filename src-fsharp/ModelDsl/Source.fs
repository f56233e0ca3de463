namespace ModelDsl

open ModelDsl.Core.FineTune

/// Where a post-training experiment's weights come from (`Experiment.initFrom`).
[<RequireQualifiedAccess>]
module Source =
    /// The newest verified checkpoint of a run directory.
    let run (directory: string) : ModelSource = RunSource(Path = directory)
    /// One checkpoint file.
    let checkpoint (file: string) : ModelSource = CheckpointSource(Path = file)
    /// WiSE-FT: (1 - alpha) a + alpha b, tensor by tensor (alpha 0 is a, 1 is b).
    let interpolate (a: ModelSource) (b: ModelSource) (alpha: float) : ModelSource = InterpolatedSource(A = a, B = b, Alpha = alpha)
    /// theta + gamma * eps, eps Gaussian with each tensor's initialisation std, drawn from `seed`.
    let perturb (source: ModelSource) (gamma: float) (seed: int64) : ModelSource =
        PerturbedSource(Source = source, Gamma = gamma, NoiseSeed = seed)
    /// A Hugging Face LlamaForCausalLM directory (config.json, model.safetensors).
    let huggingFace (directory: string) : ModelSource = HuggingFaceSource(Path = directory)
