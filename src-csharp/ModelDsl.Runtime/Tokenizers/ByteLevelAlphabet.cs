namespace ModelDsl.Runtime.Tokenizers;

/// <summary>
/// The byte-level alphabet of GPT-2-style BPE vocabularies: each of the 256 byte values is written as
/// one printable character, so that vocabulary and merges files are plain text. Printable Latin-1
/// bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the 68 others (controls, space, soft
/// hyphen...) take the characters 256, 257, ... in byte order. Files that follow this convention are
/// read by any byte-level BPE tokenizer.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] CharOfByte = Build();

    public static char Of(byte value) => CharOfByte[value];

    /// <summary>The byte-level spelling of a UTF-8 byte sequence.</summary>
    public static string Spell(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = CharOfByte[bytes[i]];
        return new string(chars);
    }

    private static char[] Build()
    {
        static bool StandsForItself(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++) map[b] = StandsForItself(b) ? (char)b : (char)next++;
        return map;
    }
}
