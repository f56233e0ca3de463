using System.Collections.Concurrent;
using System.Security.Cryptography;
using ModelDsl.Core.Tasks;

namespace ModelDsl.Runtime.Runs;

/// <summary>
/// Names a task's data files by their content for run keys (<see cref="RunStore.KeyOf"/>): a file's path
/// becomes <c>sha256:&lt;hex&gt;</c> of its bytes, so the same corpus at another path (another checkout or
/// machine) gives the same key, and an edited file a new one. A path that names no file is kept as
/// written (the run fails its preflight anyway). Each file is hashed once per process and version
/// (its length and last write time).
/// </summary>
public static class DataIdentity
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> Hashes = new();

    /// <summary>The content name of the file at <paramref name="path"/>, or the path itself when it names no file.</summary>
    public static string Of(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) return path;
        var file = new FileInfo(Path.GetFullPath(path));
        if (!file.Exists) return path;
        return Hashes.GetOrAdd((file.FullName, file.Length, file.LastWriteTimeUtc), _ =>
        {
            using var stream = file.OpenRead();
            return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
        });
    }

    /// <summary>The task with every data file it reads named by content (text corpora, also inside mixtures).</summary>
    public static TaskSpec ContentAddressed(TaskSpec task) => task switch
    {
        TextCorpus corpus => corpus with
        {
            Path = Of(corpus.Path),
            VocabularyFile = corpus.VocabularyFile is { } vocabulary ? Of(vocabulary) : null,
            MergesFile = corpus.MergesFile is { } merges ? Of(merges) : null,
        },
        TaskMixture mixture => mixture with
        {
            Components = mixture.Components.Select(c => c with { Task = c.Task is null ? null! : ContentAddressed(c.Task) }).ToList(),
        },
        _ => task,
    };
}
