using ModelDsl.Runtime.Distributed;
using Xunit;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Tests.Distributed;

/// <summary>Packing gradients into flat buckets and back, with a collective that stands for replicas
/// holding known gradients (rank r's gradient is (r + 1) times this one's: the sum is a closed form).</summary>
public sealed class GradientBucketsTests
{
    /// <summary>Size replicas whose gradients are k times the local ones, k = 1 .. Size: the sum is Size (Size + 1) / 2 times.</summary>
    private sealed class ScaledReplicas(int size) : ICollective
    {
        public int Rank => 0;
        public int Size => size;
        public double Factor => size * (size + 1) / 2.0;
        public List<long> Messages { get; } = [];
        public void AllReduceSum(Span<double> values)
        {
            // The presence vector: every replica has what this one has.
            for (var i = 0; i < values.Length; i++) values[i] *= size;
        }
        public void AllReduceSum(Tensor values)
        {
            Assert.True(values.is_contiguous());
            Assert.Equal(1, values.dim());
            Messages.Add(values.numel());
            values.mul_(Factor);
        }
        public void Broadcast(Span<byte> bytes, int root) { }
        public void Broadcast(Tensor values, int root) { }
        public void Barrier() { }
    }

    [Fact]
    public void EveryGradientBecomesItsSumOverReplicasWhateverTheBucketSize()
    {
        foreach (var bucketBytes in new long[] { 1, 40, 200, 1 << 20 })
        {
            using var scope = NewDisposeScope();
            var parameters = new[]
            {
                randn(3, 4, dtype: ScalarType.Float64).requires_grad_(), randn(5, dtype: ScalarType.Float32).requires_grad_(),
                randn(2, 2, dtype: ScalarType.Float64).requires_grad_(), randn(7, dtype: ScalarType.Float32).requires_grad_(),
                randn(3, dtype: ScalarType.Float64).requires_grad_(),
            };
            foreach (var p in parameters.Take(4)) p.grad = randn_like(p);
            var before = parameters.Take(4).Select(p => p.grad!.clone()).ToList();
            var replicas = new ScaledReplicas(3);
            var buckets = new GradientBuckets(parameters, bucketBytes);

            Assert.All(buckets.Buckets, b => Assert.Single(b.Select(i => parameters[i].dtype).Distinct()));
            Assert.Equal(Enumerable.Range(0, parameters.Length), buckets.Buckets.SelectMany(b => b).Order());
            if (bucketBytes == 1) Assert.Equal(parameters.Length, buckets.Buckets.Count);
            if (bucketBytes == 1 << 20) Assert.Equal(2, buckets.Buckets.Count); // one per dtype

            var losses = new[] { 0.25, 1.5 };
            buckets.AllReduceSum(replicas, losses);
            Assert.Equal(new[] { 0.25 * 3, 1.5 * 3 }, losses); // summed with the presence flags (this fake: Size times)
            for (var i = 0; i < 4; i++)
                Assert.True(parameters[i].grad!.allclose(before[i] * replicas.Factor, rtol: 1e-6, atol: 0), $"parameter {i}, buckets of {bucketBytes} bytes");
            Assert.Null(parameters[4].grad); // no replica has one: it stays without
            Assert.Equal(before.Sum(g => g.numel()), replicas.Messages.Sum());
        }
    }

    [Fact]
    public void OneReplicaIsLeftUntouched()
    {
        using var scope = NewDisposeScope();
        var p = randn(4, dtype: ScalarType.Float64).requires_grad_();
        p.grad = ones_like(p);
        new GradientBuckets([p]).AllReduceSum(SingleProcessCollective.Instance);
        Assert.Equal(4.0, p.grad!.sum().item<double>());
    }
}
