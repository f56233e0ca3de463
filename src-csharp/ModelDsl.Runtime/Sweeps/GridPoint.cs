using ModelDsl.Core;

namespace ModelDsl.Runtime.Sweeps;

/// <summary>A point of a sweep's grid: one value index per axis. Compares by content.</summary>
public sealed record GridPoint(ValueList<int> Indices)
{
    public GridPoint(params int[] indices) : this(new ValueList<int>(indices)) { }

    public int this[int axis] => Indices[axis];
    public int Dimensions => Indices.Count;

    /// <summary>The point with one axis moved to another index.</summary>
    public GridPoint With(int axis, int index)
    {
        var copy = Indices.ToArray();
        copy[axis] = index;
        return new GridPoint(copy);
    }

    /// <summary>The one-axis moves to a neighbouring grid value (index +-1), axis by axis, lower first.</summary>
    public IEnumerable<GridPoint> Neighbours(IReadOnlyList<int> gridSizes)
    {
        for (var axis = 0; axis < Dimensions; axis++)
            foreach (var index in new[] { Indices[axis] - 1, Indices[axis] + 1 })
                if (index >= 0 && index < gridSizes[axis])
                    yield return With(axis, index);
    }

    /// <summary>Every point of the Cartesian product, the last axis varying fastest.</summary>
    public static IEnumerable<GridPoint> All(IReadOnlyList<int> gridSizes)
    {
        if (gridSizes.Any(n => n <= 0)) yield break;
        var current = new int[gridSizes.Count];
        while (true)
        {
            yield return new GridPoint((int[])current.Clone());
            var axis = gridSizes.Count - 1;
            while (axis >= 0 && ++current[axis] == gridSizes[axis]) current[axis--] = 0;
            if (axis < 0) yield break;
        }
    }

    public override string ToString() => "(" + string.Join(", ", Indices) + ")";
}
