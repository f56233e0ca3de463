namespace ModelDsl.Runtime.Runs;

/// <summary>Where a run recorded in the run store stands.</summary>
public enum RunStoreStatus
{
    /// <summary>Started and not finished: in progress, or interrupted (a resume re-runs it from its checkpoints).</summary>
    Running,
    /// <summary>Trained to the end of its budget; the final validation loss is the result.</summary>
    Finished,
    /// <summary>Trained (or stopped) with a non-finite loss or a final loss over the divergence threshold.</summary>
    Diverged,
    /// <summary>Threw an error before finishing; the message is stored. A resume tries it again.</summary>
    Failed,
}
