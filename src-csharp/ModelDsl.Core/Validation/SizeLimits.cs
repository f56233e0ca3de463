namespace ModelDsl.Core.Validation;

/// <summary>
/// Upper bounds on sizes, checked at validation: generous for any model this project trains, small
/// enough that a typo (an extra digit) is an error naming the field instead of an allocation failure.
/// </summary>
public static class SizeLimits
{
    public const int Vocab = 4_194_304;
    public const int Width = 65_536;
    public const int Heads = 1_024;
    public const int Depth = 1_024;
    public const int SequenceLength = 1_048_576;
    public const int GlobalBatch = 1_048_576;
    public const long Steps = 1_000_000_000;
}
