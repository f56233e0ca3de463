using System.Security.Cryptography;
using System.Text.Json;
using ModelDsl.Runtime.Optim;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Runs;

/// <summary>What a checkpoint records besides tensors: the optimizer steps taken, the spec it was
/// written for (JSON), the per-step training losses so far (non-finite ones of skipped steps included,
/// written as the strings "NaN", "Infinity", "-Infinity"), and, after divergence rollbacks, the learning-rate
/// scale in force and how many rollbacks were made.</summary>
public sealed record CheckpointHeader(long Step, string SpecJson, IReadOnlyList<double> TrainLosses, double ElapsedSeconds,
    double LrScale = 1.0, int Rollbacks = 0);

/// <summary>
/// One checkpoint file: model parameters and buffers, optimizer state and a header, protected by a
/// SHA-256 checksum. Layout: magic "MDSLCKPT", format version (int32), body length (int64), SHA-256 of
/// the body (32 bytes), body = header JSON, module state (TorchSharp format), optimizer state
/// (<see cref="IOptimizer.SaveState"/>: step counts and state tensors per parameter, exact).
/// </summary>
public static class Checkpoint
{
    private static readonly byte[] Magic = "MDSLCKPT"u8.ToArray();
    private const int FormatVersion = 2;
    private const int PreambleLength = 8 + 4 + 8 + 32;
    // JSON has no NaN or infinity: named literals as strings keep a diverged run's losses readable.
    private static readonly JsonSerializerOptions HeaderJson = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes atomically: an existing checkpoint at <paramref name="path"/> stays intact if anything fails.
    /// <paramref name="loopState"/> appends a training loop's own state after the optimizer's (the RL
    /// loop's step and sampling generator), covered by the checksum.
    /// Refuses (CheckpointException) when any parameter, buffer or optimizer state holds NaN or infinity:
    /// a diverged state is never saved as a valid checkpoint.</summary>
    public static void Save(string path, CheckpointHeader header, nn.Module model, IOptimizer? optimizer, Action<BinaryWriter>? loopState = null)
    {
        if (FirstNonFinite(model, optimizer) is { } bad)
            throw new CheckpointException(path, $"refusing to write it: {bad} holds non-finite values (NaN or infinity)");
        using var body = new MemoryStream();
        using (var writer = new BinaryWriter(body, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(JsonSerializer.Serialize(header, HeaderJson));
            model.save(writer);
            writer.Write(optimizer is not null);
            optimizer?.SaveState(writer);
            loopState?.Invoke(writer);
        }
        var bytes = body.GetBuffer().AsSpan(0, (int)body.Length).ToArray();
        var checksum = SHA256.HashData(bytes);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write((long)bytes.Length);
            writer.Write(checksum);
            writer.Write(bytes);
        });
    }

    /// <summary>Checks the file's integrity and returns its header without touching any tensors.</summary>
    public static CheckpointHeader ReadHeader(string path)
    {
        using var reader = new BinaryReader(new MemoryStream(VerifiedBody(path)));
        return ReadHeader(path, reader);
    }

    /// <summary>
    /// Verifies the checksum, checks that the checkpoint was written for <paramref name="expectedSpecJson"/>
    /// (when given), and loads the state into <paramref name="model"/> and <paramref name="optimizer"/>,
    /// which must have the structure the checkpoint was written from; <paramref name="loopState"/> reads
    /// what the writer's loop state appended (it needs the optimizer read first).
    /// </summary>
    public static CheckpointHeader Load(string path, nn.Module model, IOptimizer? optimizer, string? expectedSpecJson = null,
        Action<BinaryReader>? loopState = null)
    {
        using var reader = new BinaryReader(new MemoryStream(VerifiedBody(path)));
        var header = ReadHeader(path, reader);
        if (expectedSpecJson is not null && SpecMismatch(expectedSpecJson, header.SpecJson) is { } mismatch)
            throw new CheckpointException(path, mismatch);
        try
        {
            model.load(reader, strict: true);
            var hasOptimizer = reader.ReadBoolean();
            if (optimizer is not null)
            {
                if (!hasOptimizer) throw new CheckpointException(path, "it holds no optimizer state");
                optimizer.LoadState(reader);
            }
            if (loopState is not null)
            {
                if (hasOptimizer && optimizer is null) throw new CheckpointException(path, "its loop state follows an optimizer state that was not read");
                if (reader.BaseStream.Position >= reader.BaseStream.Length) throw new CheckpointException(path, "it holds no training loop state");
                loopState(reader);
            }
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException(path, $"its tensors do not fit this model or optimizer: {e.Message}", e);
        }
        return header;
    }

    private static CheckpointHeader ReadHeader(string path, BinaryReader reader)
    {
        try
        {
            return JsonSerializer.Deserialize<CheckpointHeader>(reader.ReadString(), HeaderJson)
                   ?? throw new CheckpointException(path, "its header is empty");
        }
        catch (Exception e) when (e is JsonException or EndOfStreamException)
        {
            throw new CheckpointException(path, $"its header cannot be read: {e.Message}", e);
        }
    }

    private static byte[] VerifiedBody(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "no such file");
        var file = File.ReadAllBytes(path);
        if (file.Length < PreambleLength || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new CheckpointException(path, $"not a checkpoint file ({file.Length} bytes, missing the MDSLCKPT preamble)");
        var version = BitConverter.ToInt32(file, 8);
        if (version != FormatVersion)
            throw new CheckpointException(path, $"format version {version} is not supported (expected {FormatVersion})");
        var bodyLength = BitConverter.ToInt64(file, 12);
        var actualLength = file.Length - PreambleLength;
        if (bodyLength != actualLength)
            throw new CheckpointException(path,
                $"truncated or padded: the header announces {bodyLength} bytes of content but the file holds {actualLength}");
        var body = file[PreambleLength..];
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(file.AsSpan(20, 32)))
            throw new CheckpointException(path, "corrupt: the SHA-256 checksum of its content does not match");
        return body;
    }

    /// <summary>Null when the checkpoint's spec is the expected one; otherwise which top-level sections differ.
    /// The spec format version is left out: a checkpoint written before "formatVersion" existed holds the same experiment.</summary>
    public static string? SpecMismatch(string expectedSpecJson, string checkpointSpecJson)
    {
        var (expected, actual) = (WithoutFormatVersion(expectedSpecJson), WithoutFormatVersion(checkpointSpecJson));
        return SameJson(expected, actual)
            ? null
            : $"it was written for a different spec (differs in: {string.Join(", ", DifferingSections(expected, actual))})";
    }

    private static string WithoutFormatVersion(string json) =>
        System.Text.Json.Nodes.JsonNode.Parse(json) is System.Text.Json.Nodes.JsonObject root && root.Remove("formatVersion") ? root.ToJsonString() : json;

    /// <summary>The name of the first floating-point parameter, buffer or optimizer state tensor holding NaN or infinity, or null.</summary>
    public static string? FirstNonFinite(nn.Module model, IOptimizer? optimizer)
    {
        using var scope = NewDisposeScope();
        foreach (var (name, tensor) in model.state_dict())
            if (HasNonFinite(tensor)) return $"model tensor '{name}'";
        if (optimizer is not null)
            foreach (var slot in optimizer.Slots)
                foreach (var (key, tensor) in slot.State)
                    if (HasNonFinite(tensor)) return $"optimizer state '{key}' of parameter '{slot.Name}'";
        return null;
    }

    private static bool HasNonFinite(Tensor tensor) =>
        tensor.is_floating_point() && tensor.numel() > 0 && !isfinite(tensor).all().item<bool>();

    private static bool SameJson(string a, string b) =>
        JsonElement.DeepEquals(JsonDocument.Parse(a).RootElement, JsonDocument.Parse(b).RootElement);

    private static IEnumerable<string> DifferingSections(string expected, string actual)
    {
        var e = JsonDocument.Parse(expected).RootElement;
        var a = JsonDocument.Parse(actual).RootElement;
        if (e.ValueKind != JsonValueKind.Object || a.ValueKind != JsonValueKind.Object) return ["the whole document"];
        var names = e.EnumerateObject().Select(p => p.Name).Union(a.EnumerateObject().Select(p => p.Name));
        return names.Where(n => !(e.TryGetProperty(n, out var x) && a.TryGetProperty(n, out var y) && JsonElement.DeepEquals(x, y)));
    }
}
