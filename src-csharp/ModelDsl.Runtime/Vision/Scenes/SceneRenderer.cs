using static TorchSharp.torch;

namespace ModelDsl.Runtime.Vision;

/// <summary>
/// Draws a <see cref="Scene"/> as a 3x32x32 RGB image with values in [0, 1]. Objects are rasterised
/// at pixel centres around integer centres, so every shape is exactly mirror-symmetric about its
/// vertical axis. Left/right groups stand in a column at x = 8 / x = 23 (mirror images: 31 - 8 = 23),
/// top/bottom groups in a row at y = 8 / y = 23 (a translation by 15 rows). The k-th object of a
/// group takes the k-th slot of (16, 5, 27) along the group's axis, so adding an object never moves
/// the others. Half-extents: small 2, large 4; objects never overlap or leave the canvas.
/// </summary>
public static class SceneRenderer
{
    public const int ImageSize = 32;
    public const int Channels = 3;
    private static readonly int[] Slots = [16, 5, 27];

    public static int HalfExtent(SceneSize size) => size == SceneSize.Small ? 2 : 4;

    public static (float R, float G, float B) Rgb(SceneColor color) => color switch
    {
        SceneColor.Red => (1f, 0f, 0f),
        SceneColor.Green => (0f, 1f, 0f),
        SceneColor.Blue => (0f, 0f, 1f),
        SceneColor.Yellow => (1f, 1f, 0f),
        _ => throw new ArgumentOutOfRangeException(nameof(color), color, null),
    };

    /// <summary>Centre (x, y) of the object with the given index (0-based) in the scene.</summary>
    public static (int X, int Y) Center(Scene scene, int index)
    {
        if (index < 0 || index >= scene.Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the scene has {scene.Count} objects");
        var slot = Slots[index];
        return scene.Position switch
        {
            ScenePosition.Left => (8, slot),
            ScenePosition.Right => (ImageSize - 1 - 8, slot),
            ScenePosition.Top => (slot, 8),
            ScenePosition.Bottom => (slot, 23),
            _ => throw new ArgumentOutOfRangeException(nameof(scene), scene.Position, null),
        };
    }

    /// <summary>True when pixel (x, y) lies inside a shape of half-extent r centred at (cx, cy).</summary>
    public static bool Inside(SceneShape shape, int r, int dx, int dy) => shape switch
    {
        SceneShape.Square => Math.Abs(dx) <= r && Math.Abs(dy) <= r,
        SceneShape.Circle => dx * dx + dy * dy <= r * r + r,
        // Apex up: width grows from one pixel at the top row to 2r+1 at the bottom row.
        SceneShape.Triangle => dy >= -r && dy <= r && 2 * Math.Abs(dx) <= dy + r,
        _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, null),
    };

    /// <summary>The pixels of object <paramref name="index"/>: a [32, 32] boolean mask, row-major (y, x).</summary>
    public static bool[] ObjectMask(Scene scene, int index)
    {
        var mask = new bool[ImageSize * ImageSize];
        var (cx, cy) = Center(scene, index);
        var r = HalfExtent(scene.Size);
        for (var y = cy - r; y <= cy + r; y++)
            for (var x = cx - r; x <= cx + r; x++)
                if (Inside(scene.Shape, r, x - cx, y - cy)) mask[y * ImageSize + x] = true;
        return mask;
    }

    /// <summary>The scene as float pixels [3, 32, 32] (channel, row, column), flattened.</summary>
    public static float[] Render(Scene scene)
    {
        var pixels = new float[Channels * ImageSize * ImageSize];
        var (red, green, blue) = Rgb(scene.Color);
        for (var i = 0; i < scene.Count; i++)
        {
            var mask = ObjectMask(scene, i);
            for (var p = 0; p < mask.Length; p++)
            {
                if (!mask[p]) continue;
                pixels[p] = red;
                pixels[ImageSize * ImageSize + p] = green;
                pixels[2 * ImageSize * ImageSize + p] = blue;
            }
        }
        return pixels;
    }

    /// <summary>A batch of scenes as a float32 tensor [B, 3, 32, 32].</summary>
    public static Tensor ToTensor(IReadOnlyList<Scene> scenes)
    {
        if (scenes.Count == 0) throw new ArgumentException("a batch needs at least one scene", nameof(scenes));
        var size = Channels * ImageSize * ImageSize;
        var data = new float[scenes.Count * size];
        for (var b = 0; b < scenes.Count; b++) Array.Copy(Render(scenes[b]), 0, data, b * size, size);
        return tensor(data, [scenes.Count, Channels, ImageSize, ImageSize], ScalarType.Float32);
    }
}
