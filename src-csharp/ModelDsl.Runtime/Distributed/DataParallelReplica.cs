using System.Text;
using ModelDsl.Core;
using ModelDsl.Runtime.Eval;
using ModelDsl.Runtime.Moe;
using ModelDsl.Runtime.Optim;
using ModelDsl.Runtime.Parameters;
using ModelDsl.Runtime.Tasks;
using ModelDsl.Runtime.Training;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// What the trainer asks of data parallelism, in one place: which rows of the global batch this
/// replica trains on, the sums over replicas (gradients, the logged losses, MoE routing), and the
/// agreements that keep replicas in step (one run directory, one start step, equal weights).
/// Replica 0 alone writes the run's files; the others only read the same checkpoint to resume.
/// With one replica every member is the identity, so single-process training is unchanged.
/// </summary>
public sealed class DataParallelReplica
{
    private GradientBuckets? buckets;

    public DataParallelReplica(ICollective collective) => Collective = collective;

    public static DataParallelReplica SingleProcess { get; } = new(SingleProcessCollective.Instance);

    /// <summary>The options' collective, else the one mpirun's environment announces (see <see cref="DataParallelLaunch"/>).</summary>
    public static DataParallelReplica For(ICollective? collective)
    {
        var chosen = collective ?? DataParallelLaunch.Current();
        return chosen.Size == 1 && chosen is SingleProcessCollective ? SingleProcess : new DataParallelReplica(chosen);
    }

    public ICollective Collective { get; }
    public int Rank => Collective.Rank;
    public int Size => Collective.Size;
    public bool IsRoot => Collective.Rank == 0;
    public bool IsDistributed => Collective.Size > 1;

    /// <summary>Seconds spent all-reducing gradients so far.</summary>
    public double GradientCommunicationSeconds => buckets?.CommunicationSeconds ?? 0;

    public IExpertLoadReducer LoadReducer => IsDistributed ? new CollectiveExpertLoadReducer(Collective) : SingleProcessLoadReducer.Instance;

    /// <summary>Runs a replica's training; in a job of several, a failure on one replica ends every replica
    /// (MPI_Abort) after printing it, instead of leaving the others waiting in a collective.</summary>
    public T RunOrEndJob<T>(Func<T> train)
    {
        if (!IsDistributed) return train();
        try
        {
            return train();
        }
        catch (OperationCanceledException)
        {
            throw; // every replica agreed to stop at the same step (see AnyOf): they end together
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: data-parallel rank {Rank} of {Size}: {e.Message}");
            Console.Error.Flush();
            if (Collective is MpiCollective mpi) mpi.Abort(1);
            throw;
        }
    }

    /// <summary>Refuses what data parallelism does not cover yet, naming the field.</summary>
    public void CheckSupported(ExperimentSpec spec)
    {
        if (!IsDistributed) return;
        if (spec.Rl is not null)
            throw new NotSupportedException("rl: reinforcement-learning runs are not data-parallel yet; run them in one process");
        if (spec.Vision is not null)
            throw new NotSupportedException("vision: vision-language runs are not data-parallel yet; run them in one process");
        if (spec.Training.MicroBatch % Size != 0)
            throw new NotSupportedException(
                $"training.microBatch: {spec.Training.MicroBatch} rows cannot be split evenly over {Size} data-parallel replicas; " +
                $"choose a multiple of {Size}");
    }

    /// <summary>Hessian-vector products would need their own sum over replicas: not covered yet.</summary>
    public void CheckSupported(IOptimizer optimizer)
    {
        if (IsDistributed && optimizer.NeedsHessianVectorProduct)
            throw new NotSupportedException(
                "training.optimizer: optimizers that need Hessian-vector products are not data-parallel yet; run them in one process");
    }

    /// <summary>Replica 0 chose (and created) the run directory; every replica gets its path.</summary>
    public string AgreeOnRunDirectory(string? rootPath)
    {
        if (!IsDistributed) return rootPath ?? throw new InvalidOperationException("one process must choose its run directory");
        var bytes = IsRoot ? Encoding.UTF8.GetBytes(rootPath!) : [];
        var length = new[] { (double)bytes.Length };
        if (!IsRoot) length[0] = 0;
        Collective.AllReduceSum(length); // only replica 0 contributes: the sum is its length
        var buffer = new byte[(int)length[0]];
        if (IsRoot) bytes.CopyTo(buffer, 0);
        Collective.Broadcast(buffer, 0);
        return Encoding.UTF8.GetString(buffer);
    }

    /// <summary>Every replica must resume from the same step (they read the same checkpoint); a mismatch is an error.</summary>
    public void AgreeOnStart(long step)
    {
        if (!IsDistributed) return;
        var steps = new double[Size];
        steps[Rank] = step;
        Collective.AllReduceSum(steps);
        if (steps.Any(s => s != steps[0]))
            throw new InvalidOperationException(
                $"data-parallel replicas would resume from different steps ({string.Join(", ", steps)}); they must all read the same checkpoint directory");
    }

    /// <summary>Replica 0's weights to every replica, so that all start equal whatever their initialisation did.</summary>
    public void BroadcastParameters(IReadOnlyList<NamedParameter> parameters)
    {
        if (!IsDistributed) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var p in parameters)
        {
            var host = p.Parameter.detach().cpu().contiguous().clone();
            Collective.Broadcast(host, 0);
            p.Parameter.detach().copy_(host);
        }
    }

    /// <summary>This replica's rows of the step's micro-batches, with the global-batch denominators.</summary>
    public GlobalBatchShare Share(IReadOnlyList<Batch> microBatches) => GlobalBatchShare.Of(microBatches, Rank, Size);

    /// <summary>
    /// After the backward passes and before the divergence check, clipping and the optimizer step:
    /// sums the gradients over replicas (each replica's loss was already scaled to its share of the
    /// global-batch loss, see <see cref="GlobalBatchShare"/>, so the sum is the single-process mean-loss
    /// gradient), and sums the replicas' partial losses into the global-batch loss.
    /// </summary>
    public AccumulatedLoss AllReduce(IReadOnlyList<NamedParameter> parameters, AccumulatedLoss local)
    {
        if (!IsDistributed) return local;
        buckets ??= new GradientBuckets(parameters.Select(p => (Tensor)p.Parameter).ToList());
        var values = new double[1 + local.Auxiliary.Count];
        values[0] = local.LanguageModel;
        for (var i = 0; i < local.Auxiliary.Count; i++) values[i + 1] = local.Auxiliary[i].Value;
        buckets.AllReduceSum(Collective, values);
        return new AccumulatedLoss(values[0], local.Auxiliary.Select((a, i) => a with { Value = values[i + 1] }).ToList());
    }

    /// <summary>A step's MoE routing counts summed over replicas (each replica counted its own rows).</summary>
    public IReadOnlyList<LayerRouting> Sum(IReadOnlyList<LayerRouting> local)
    {
        if (!IsDistributed) return local;
        var values = new List<double>();
        foreach (var layer in local)
        {
            values.AddRange(layer.Slots.Cast<double>());
            values.Add(layer.DroppedSlots);
        }
        var summed = values.ToArray();
        Collective.AllReduceSum(summed);
        var result = new List<LayerRouting>();
        var offset = 0;
        foreach (var layer in local)
        {
            var slots = new double[layer.Slots.GetLength(0), layer.Slots.GetLength(1)];
            for (var d = 0; d < slots.GetLength(0); d++)
                for (var e = 0; e < slots.GetLength(1); e++) slots[d, e] = summed[offset++];
            result.Add(layer with { Slots = slots, DroppedSlots = (long)summed[offset++] });
        }
        return result;
    }

    /// <summary>True on every replica when it is true on any (a stop request seen by one replica stops all at the same step).</summary>
    public bool AnyOf(bool flag)
    {
        if (!IsDistributed) return flag;
        var value = new[] { flag ? 1.0 : 0.0 };
        Collective.AllReduceSum(value);
        return value[0] > 0;
    }
}
