using System.Text;

namespace ModelDsl.Runtime.Runs;

/// <summary>
/// Appending to a JSON-lines record (the sweep and study ledgers): one write of a whole line, flushed
/// to disk, so a killed process leaves at most a torn last line; that line holds no whole entry and is
/// cut before the next append.
/// </summary>
public static class JsonLinesFile
{
    public static void Append(string path, string json)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        DropTornLine(path);
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        stream.Write(Encoding.UTF8.GetBytes(json + "\n"));
        stream.Flush(flushToDisk: true);
    }

    private static void DropTornLine(string path)
    {
        if (!File.Exists(path)) return;
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        var end = file.Length;
        while (end > 0)
        {
            file.Seek(end - 1, SeekOrigin.Begin);
            if (file.ReadByte() == '\n') break;
            end--;
        }
        if (end < file.Length) file.SetLength(end);
    }
}
