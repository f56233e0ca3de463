namespace ModelDsl.Runtime.Runs;

/// <summary>
/// Writes a file so that readers see either the old complete file or the new complete one, never a
/// partial write: the content goes to a temporary file in the same directory (same file system, so
/// the rename is atomic), is flushed to disk, and only then renamed over the destination.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> writeContent)
    {
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                writeContent(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            writer.Write(text);
        });

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* the failure being reported matters more than a leftover temporary file */ }
        catch (UnauthorizedAccessException) { }
    }
}
