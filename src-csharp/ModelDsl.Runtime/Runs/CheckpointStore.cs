using System.Globalization;
using System.Text.RegularExpressions;
using ModelDsl.Runtime.Optim;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelDsl.Runtime.Runs;

/// <summary>
/// The checkpoints/ folder of a run: files named <c>step-00000012.ckpt</c>, the newest
/// <see cref="Keep"/> kept. Older ones are deleted only after a newer one is completely written.
/// </summary>
public sealed partial class CheckpointStore(string directory, int keep)
{
    public string Directory { get; } = directory;
    public int Keep { get; } = keep >= 1 ? keep : throw new ArgumentOutOfRangeException(nameof(keep), keep, "must keep at least one checkpoint");

    public string PathFor(long step) => Path.Combine(Directory, $"step-{step.ToString("D8", CultureInfo.InvariantCulture)}.ckpt");

    /// <summary>Checkpoint files by ascending step.</summary>
    public IReadOnlyList<(long Step, string Path)> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        return System.IO.Directory.EnumerateFiles(Directory, "step-*.ckpt")
            .Select(p => (Match: FileName().Match(Path.GetFileName(p)), Path: p))
            .Where(m => m.Match.Success)
            .Select(m => (long.Parse(m.Match.Groups[1].Value, CultureInfo.InvariantCulture), m.Path))
            .OrderBy(c => c.Item1)
            .ToList();
    }

    public string Save(CheckpointHeader header, nn.Module model, IOptimizer? optimizer, Action<BinaryWriter>? loopState = null)
    {
        var path = PathFor(header.Step);
        try
        {
            Checkpoint.Save(path, header, model, optimizer, loopState);
        }
        catch (IOException e)
        {
            // A full disk or a failing device: the older checkpoints are kept (nothing is deleted before a new one is whole).
            throw new IOException($"cannot write checkpoint '{path}': {e.Message}; the earlier checkpoints are kept", e);
        }
        foreach (var (_, old) in List().SkipLast(Keep)) File.Delete(old);
        return path;
    }

    /// <summary>
    /// The newest checkpoint whose checksum verifies, or null when there is none. Files that fail
    /// verification are reported in <paramref name="skipped"/> with the reason, not deleted.
    /// </summary>
    public string? LatestValid(out IReadOnlyList<string> skipped)
    {
        var problems = new List<string>();
        skipped = problems;
        foreach (var (_, path) in List().Reverse())
        {
            try
            {
                Checkpoint.ReadHeader(path);
                return path;
            }
            catch (CheckpointException e)
            {
                problems.Add(e.Message);
            }
        }
        return null;
    }

    /// <summary>
    /// The newest checkpoint that verifies and was written for <paramref name="specJson"/>, or null.
    /// Corrupt files and checkpoints of another spec are passed over (not deleted) and reported in
    /// <paramref name="skipped"/>; only headers are read, no tensors are touched.
    /// </summary>
    public string? LatestUsable(string specJson, out IReadOnlyList<string> skipped)
    {
        var problems = new List<string>();
        skipped = problems;
        foreach (var (_, path) in List().Reverse())
        {
            try
            {
                var header = Checkpoint.ReadHeader(path);
                if (Checkpoint.SpecMismatch(specJson, header.SpecJson) is { } mismatch)
                {
                    problems.Add(new CheckpointException(path, mismatch).Message);
                    continue;
                }
                return path;
            }
            catch (CheckpointException e)
            {
                problems.Add(e.Message);
            }
        }
        return null;
    }

    [GeneratedRegex(@"^step-(\d+)\.ckpt$")]
    private static partial Regex FileName();
}
