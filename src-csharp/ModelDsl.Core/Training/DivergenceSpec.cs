using ModelDsl.Core.Validation;

namespace ModelDsl.Core.Training;

/// <summary>What the trainer does with a step whose loss or gradient norm is non-finite (or, optionally, a loss spike).</summary>
public enum DivergenceMode
{
    /// <summary>End the run before the update: no update, no checkpoint of the bad state, status "diverged".</summary>
    Stop,
    /// <summary>Drop the step (no update) and go on with the next batch.</summary>
    Skip,
    /// <summary>Reload the newest good checkpoint and go on from there, the learning rate scaled by <see cref="DivergenceSpec.RollbackLrScale"/>.</summary>
    Rollback,
}

/// <summary>
/// The divergence policy. Every step's loss and global gradient norm (before clipping) are checked
/// after the backward pass and before the optimizer updates anything, so a non-finite step never
/// reaches the weights. Finite runs are unaffected: the check reads values, it changes none.
/// </summary>
public sealed record DivergenceSpec
{
    public DivergenceMode Mode { get; init; } = DivergenceMode.Stop;
    /// <summary>Also treat a loss above mean + k sigma of the last <see cref="SpikeWindow"/> accepted
    /// losses as a bad step (skip and rollback modes); null checks only for non-finite values.</summary>
    public double? SpikeSigma { get; init; }
    /// <summary>Accepted losses the spike rule looks back over; the rule waits until the window is full.</summary>
    public int SpikeWindow { get; init; } = 50;
    /// <summary>Rollback mode: the learning rate is multiplied by this at every rollback (1 keeps it).</summary>
    public double RollbackLrScale { get; init; } = 0.5;
    /// <summary>Rollback mode: after this many rollbacks the run stops as diverged.</summary>
    public int MaxRollbacks { get; init; } = 3;

    public void Validate(Validator v, string path)
    {
        v.Require(Enum.IsDefined(Mode), $"{path}.mode", $"{Mode} is not a divergence mode (stop, skip or rollback)");
        if (SpikeSigma is { } k)
        {
            v.Positive(k, $"{path}.spikeSigma");
            v.Require(Mode != DivergenceMode.Stop, $"{path}.spikeSigma",
                "needs mode skip or rollback (a loss spike is not a divergence to stop for)");
        }
        v.Require(SpikeWindow >= 2 && SpikeWindow <= 100_000, $"{path}.spikeWindow", $"{SpikeWindow} must be between 2 and 100000");
        v.Require(double.IsFinite(RollbackLrScale) && RollbackLrScale > 0 && RollbackLrScale <= 1, $"{path}.rollbackLrScale",
            $"{Validator.Show(RollbackLrScale)} must be in (0, 1]");
        v.Require(MaxRollbacks >= 1, $"{path}.maxRollbacks", $"{MaxRollbacks} must be at least 1");
    }
}
