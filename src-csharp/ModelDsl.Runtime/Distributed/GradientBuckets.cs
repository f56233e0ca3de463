using System.Diagnostics;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Distributed;

/// <summary>
/// Sums the parameters' gradients over replicas in a few large messages: parameters of one dtype
/// are grouped, in order, into buckets of about <see cref="BucketBytes"/>; each bucket's gradients
/// are packed into one flat buffer, all-reduced, and copied back (PyTorch DDP's bucketing, without
/// its overlap with the backward pass: the reduction runs after the last micro-batch).
/// A parameter without a gradient on every replica keeps none; one with a gradient on some
/// replicas gets zeros on the others first, so that every replica sends the same buckets.
/// </summary>
public sealed class GradientBuckets
{
    /// <summary>25 MiB, PyTorch DDP's default bucket size.</summary>
    public const long DefaultBucketBytes = 25L << 20;

    private readonly IReadOnlyList<Tensor> parameters;

    public GradientBuckets(IReadOnlyList<Tensor> parameters, long bucketBytes = DefaultBucketBytes)
    {
        if (bucketBytes <= 0) throw new ArgumentOutOfRangeException(nameof(bucketBytes), "a bucket holds at least one byte");
        this.parameters = parameters;
        BucketBytes = bucketBytes;
        Buckets = Group(parameters, bucketBytes);
    }

    public long BucketBytes { get; }

    /// <summary>Parameter indices of each bucket (one dtype per bucket, at least one parameter each).</summary>
    public IReadOnlyList<IReadOnlyList<int>> Buckets { get; }

    /// <summary>Seconds spent in the collective calls since construction (for the communication share of a step).</summary>
    public double CommunicationSeconds { get; private set; }

    /// <summary>Replaces every gradient by its sum over the replicas. <paramref name="alongside"/> (host
    /// values such as the step's partial losses) is summed in place in the same message as the
    /// gradients' presence flags, so that a step costs one small all-reduce besides the buckets.</summary>
    public void AllReduceSum(ICollective collective, Span<double> alongside = default)
    {
        if (collective.Size == 1) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var clock = Stopwatch.StartNew();
        var present = new double[parameters.Count + alongside.Length];
        for (var i = 0; i < parameters.Count; i++) present[i] = parameters[i].grad is null ? 0.0 : 1.0;
        alongside.CopyTo(present.AsSpan(parameters.Count));
        collective.AllReduceSum(present);
        present.AsSpan(parameters.Count).CopyTo(alongside);
        for (var i = 0; i < parameters.Count; i++)
            if (present[i] > 0 && parameters[i].grad is null) parameters[i].grad = zeros_like(parameters[i]);
        foreach (var bucket in Buckets)
        {
            var members = bucket.Where(i => present[i] > 0).ToList();
            if (members.Count == 0) continue;
            var gradients = members.Select(i => parameters[i].grad!).ToList();
            var flat = cat(gradients.Select(g => g.reshape(-1)).ToList(), 0).contiguous();
            collective.AllReduceSum(flat);
            long offset = 0;
            foreach (var gradient in gradients)
            {
                var count = gradient.numel();
                gradient.copy_(flat.narrow(0, offset, count).view_as(gradient));
                offset += count;
            }
        }
        CommunicationSeconds += clock.Elapsed.TotalSeconds;
    }

    private static List<IReadOnlyList<int>> Group(IReadOnlyList<Tensor> parameters, long bucketBytes)
    {
        var buckets = new List<IReadOnlyList<int>>();
        foreach (var sameType in Enumerable.Range(0, parameters.Count).GroupBy(i => parameters[i].dtype))
        {
            var current = new List<int>();
            long bytes = 0;
            foreach (var i in sameType)
            {
                var size = parameters[i].numel() * parameters[i].element_size();
                if (current.Count > 0 && bytes + size > bucketBytes)
                {
                    buckets.Add(current);
                    current = [];
                    bytes = 0;
                }
                current.Add(i);
                bytes += size;
            }
            if (current.Count > 0) buckets.Add(current);
        }
        return buckets;
    }
}
