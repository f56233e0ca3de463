using System.Buffers.Binary;
using System.Text;
using ModelDsl.Core;
using ModelDsl.Core.Model;
using ModelDsl.Core.Tasks;
using ModelDsl.Core.Training;
using ModelDsl.Runtime.Runs;
using ModelDsl.Runtime.Training;

namespace ModelDsl.Runtime.Tests.Runs;

/// <summary>
/// The TensorBoard mirror, read back with a reader written here from the file format (TFRecord framing
/// with masked CRC-32C, Event and Summary protocol buffers), so the files are checked as TensorBoard reads them.
/// </summary>
public sealed class TensorBoardLogTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("tensorboard-").FullName;
    public void Dispose() => Directory.Delete(root, recursive: true);

    private static ExperimentSpec Spec() => new()
    {
        Name = "tb",
        Model = ModelSpec.Llama(vocab: SparseParity.Vocabulary, width: 16, depth: 1, heads: 2) with { MaxSequenceLength = 32 },
        Task = new SparseParity { Bits = 8, Secret = 2 },
        Training = new TrainingSpec
        {
            Optimizer = new AdamW { Lr = 1e-2 },
            Budget = new StepBudget(6),
            GlobalBatch = 8,
            MicroBatch = 8,
            Eval = new EvalSpec { Every = 3, Batches = 1, Problems = 8 },
            Checkpoint = new CheckpointSpec { Every = 2, Keep = 5 },
            Seed = 5,
        },
    };

    /// <summary>(tag, step, value) of every scalar in the metrics log: what the mirror must hold.</summary>
    private static List<(string Tag, long Step, float Value)> ExpectedScalars(string metricsPath) =>
        MetricsLog.Read(metricsPath)
            .SelectMany(line => line
                .Where(p => p.Key is not ("event" or "step"))
                .Select(p => (Tag: $"{line["event"]!.GetValue<string>()}/{p.Key}", Step: line["step"]!.GetValue<long>(), p.Value))
                .Where(x => x.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<double>(out _))
                .Select(x => (x.Tag, x.Step, (float)x.Value!.GetValue<double>())))
            .ToList();

    [Fact]
    public void Every_numeric_metric_is_mirrored_and_a_resume_leaves_no_duplicates()
    {
        var run = Path.Combine(root, "run");
        // Stopped after step 5 with the last checkpoint at 4: the resume drops step 5's events and logs them again.
        Trainer.Run(Spec(), new TrainOptions { RunDirectory = run, TensorBoard = true, StopAfterStep = 5 });
        Trainer.Run(Spec(), new TrainOptions { RunDirectory = run, TensorBoard = true });

        var expected = ExpectedScalars(Path.Combine(run, "metrics.jsonl"));
        Assert.Contains(expected, s => s.Tag == "train/loss");
        Assert.Contains(expected, s => s.Tag.StartsWith("eval/"));
        var files = Directory.GetFiles(Path.Combine(run, "tensorboard"), "events.out.tfevents.*");
        var actual = files.SelectMany(EventFile.Scalars).ToList();
        Assert.Equal(expected.OrderBy(s => s.Tag).ThenBy(s => s.Step), actual.OrderBy(s => s.Tag).ThenBy(s => s.Step));
    }

    [Fact]
    public void Without_the_option_no_event_files_are_written()
    {
        var run = Path.Combine(root, "plain");
        Trainer.Run(Spec() with { Training = Spec().Training with { Budget = new StepBudget(2) } }, new TrainOptions { RunDirectory = run });
        Assert.False(Directory.Exists(Path.Combine(run, "tensorboard")));
    }

    /// <summary>TFRecord framing: u64 length, masked CRC of the length, data, masked CRC of the data.</summary>
    private static class EventFile
    {
        public static IEnumerable<(string Tag, long Step, float Value)> Scalars(string path)
        {
            var bytes = File.ReadAllBytes(path);
            var position = 0;
            var records = 0;
            while (position < bytes.Length)
            {
                var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(position, 8));
                Assert.Equal(MaskedCrc(bytes.AsSpan(position, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position + 8, 4)));
                var data = bytes.AsSpan(position + 12, length).ToArray();
                Assert.Equal(MaskedCrc(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position + 12 + length, 4)));
                position += 12 + length + 4;
                records++;
                foreach (var scalar in EventScalars(data)) yield return scalar;
            }
            Assert.True(records > 0, $"{path} holds no records");
        }

        // Event: 1 wall_time (double), 2 step (varint), 3 file_version (string), 5 summary.
        private static IEnumerable<(string, long, float)> EventScalars(byte[] data)
        {
            long step = 0;
            var summaries = new List<byte[]>();
            foreach (var (field, wire, value, bytes) in Fields(data))
            {
                if (field == 2 && wire == 0) step = (long)value;
                if (field == 5 && wire == 2) summaries.Add(bytes!);
            }
            foreach (var summary in summaries)
                // Summary: 1 repeated Value; Value: 1 tag (string), 2 simple_value (float).
                foreach (var (field, wire, _, valueBytes) in Fields(summary))
                    if (field == 1 && wire == 2)
                    {
                        string? tag = null;
                        float? simple = null;
                        foreach (var (f, w, v, b) in Fields(valueBytes!))
                        {
                            if (f == 1 && w == 2) tag = Encoding.UTF8.GetString(b!);
                            if (f == 2 && w == 5) simple = BitConverter.Int32BitsToSingle((int)v);
                        }
                        Assert.NotNull(tag);
                        Assert.True(simple.HasValue, $"scalar '{tag}' has no simple_value");
                        yield return (tag!, step, simple!.Value);
                    }
        }

        private static IEnumerable<(int Field, int Wire, ulong Value, byte[]? Bytes)> Fields(byte[] message)
        {
            var i = 0;
            while (i < message.Length)
            {
                var key = Varint(message, ref i);
                int field = (int)(key >> 3), wire = (int)(key & 7);
                switch (wire)
                {
                    case 0: yield return (field, wire, Varint(message, ref i), null); break;
                    case 1: yield return (field, wire, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(i, 8)), null); i += 8; break;
                    case 5: yield return (field, wire, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(i, 4)), null); i += 4; break;
                    case 2:
                        var length = (int)Varint(message, ref i);
                        yield return (field, wire, 0, message.AsSpan(i, length).ToArray());
                        i += length;
                        break;
                    default: throw new InvalidDataException($"wire type {wire}");
                }
            }
        }

        private static ulong Varint(byte[] data, ref int i)
        {
            ulong result = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[i++];
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return result;
            }
        }

        /// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), masked as TFRecord does.</summary>
        private static uint MaskedCrc(ReadOnlySpan<byte> data)
        {
            var crc = 0xFFFFFFFFu;
            foreach (var b in data)
            {
                crc ^= b;
                for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
            crc ^= 0xFFFFFFFFu;
            return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
        }
    }
}
