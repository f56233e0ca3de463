using ModelDsl.Runtime.Tasks;

namespace ModelDsl.Runtime.Rl;

/// <summary>Training problems for RL, deterministic in (step, round): a resumed run draws the same ones.</summary>
public interface IProblemSource
{
    /// <summary><paramref name="count"/> problems for RL step <paramref name="step"/>; round r > 0 are the
    /// refills of dynamic sampling.</summary>
    IReadOnlyList<Problem> TrainingProblems(long step, int round, int count);
}
