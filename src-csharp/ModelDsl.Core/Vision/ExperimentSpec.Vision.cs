using ModelDsl.Core.FineTune;
using ModelDsl.Core.Training;
using ModelDsl.Core.Validation;
using ModelDsl.Core.Variants;
using ModelDsl.Core.Vision;

namespace ModelDsl.Core;

public sealed partial record ExperimentSpec
{
    /// <summary>
    /// Rules of <see cref="Vision"/> and <see cref="Preference"/>: an image encoder goes with an image
    /// task and the other way round; the decoder's context holds the image prefix and a whole example
    /// (generation included); preference training starts from a trained vision-language model.
    /// </summary>
    private void ValidateVision(Validator v)
    {
        Vision?.Validate(v, "vision");
        if (Vision is not null && Task is not null and not SceneTaskSpec)
            v.Fail("task", $"a vision experiment needs an image task (scenes), not {VariantRegistry.KindOf(Task)}");
        if (Vision is null && Task is SceneTaskSpec)
            v.Fail("vision", "is missing: the scenes task is an image task and needs an image encoder");
        if (Vision is not null && Model is not null && Task is not null && Vision.PatchSize >= 1 && Vision.ImageSize % Vision.PatchSize == 0)
        {
            // The K prefix embeddings, a whole example's inputs, and one more position for its last generated token.
            var needed = Vision.EffectivePrefixTokens + Task.SequenceLength() + 1;
            v.Require(Model.MaxSequenceLength >= needed, "model.maxSequenceLength",
                $"{Model.MaxSequenceLength} is too short for the {Vision.EffectivePrefixTokens} image prefix embeddings and the task's {Task.SequenceLength() + 1} tokens ({needed} positions)");
        }
        if (Vision is not null)
        {
            if (Rl is not null) v.Fail("rl", "RL post-training of a vision-language model is not supported; use preference");
            if (Init is not null and not (RunSource or CheckpointSource))
                v.Fail("init", $"a vision experiment starts from a fromRun or checkpoint source, not {VariantRegistry.KindOf(Init)}");
            if (Training?.Eval?.Sampling is not null)
                v.Fail("training.eval.sampling", "is not supported for vision experiments (their evaluation reports loss and greedy accuracy)");
            if (Training?.Eval?.AttentionStatistics == true)
                v.Fail("training.eval.attentionStatistics", "is not supported for vision experiments");
            if (Training?.Divergence?.Mode == DivergenceMode.Rollback)
                v.Fail("training.divergence.mode", "rollback is not supported for vision experiments; use stop or skip");
            if (Training?.Optimizer is SophiaH)
                v.Fail("training.optimizer", "sophiaH needs Hessian-vector products, which vision experiments do not provide");
        }
        if (Preference is null) return;
        Preference.Validate(v, "preference");
        if (Vision is null) v.Fail("vision", "is missing: preference objectives train a vision-language model");
        if (Init is null) v.Fail("init", "is missing: preference training starts from a trained vision-language model (e.g. a fromRun source)");
    }
}
