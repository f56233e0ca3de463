namespace ModelDsl.Runtime.Vision;

public enum SceneShape { Circle, Square, Triangle }
public enum SceneColor { Red, Green, Blue, Yellow }
public enum SceneSize { Small, Large }
public enum ScenePosition { Left, Right, Top, Bottom }

/// <summary>
/// A scene: Count identical objects (1 to 3) of one shape, colour and size, placed in one region
/// of the 32x32 canvas (left or right half, top or bottom half) on a black background.
/// </summary>
public sealed record Scene(SceneShape Shape, SceneColor Color, SceneSize Size, ScenePosition Position, int Count)
{
    public const int MaxCount = 3;

    /// <summary>The colour the language prior expects for a shape.</summary>
    public static SceneColor TypicalColor(SceneShape shape) => shape switch
    {
        SceneShape.Circle => SceneColor.Red,
        SceneShape.Square => SceneColor.Blue,
        SceneShape.Triangle => SceneColor.Green,
        _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, null),
    };

    /// <summary>True when the scene's colour is not the one the prior expects for its shape.</summary>
    public bool AgainstPrior => Color != TypicalColor(Shape);

    /// <summary>Every scene, in a fixed order (3 shapes x 4 colours x 2 sizes x 4 positions x 3 counts).</summary>
    public static IEnumerable<Scene> All() =>
        from shape in Enum.GetValues<SceneShape>()
        from color in Enum.GetValues<SceneColor>()
        from size in Enum.GetValues<SceneSize>()
        from position in Enum.GetValues<ScenePosition>()
        from count in Enumerable.Range(1, MaxCount)
        select new Scene(shape, color, size, position, count);
}
