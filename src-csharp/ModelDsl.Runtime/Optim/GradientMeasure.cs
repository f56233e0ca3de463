namespace ModelDsl.Runtime.Optim;

/// <summary>
/// The gradients' global L2 norm over all slots (logged, and judged by the divergence guard) and over
/// the clip scope alone (what clipping compares with its maximum), measured once per step from fp64
/// sums of squares (<see cref="OptimizerBase.MeasureGradients"/>).
/// </summary>
public readonly record struct GradientMeasure(double Total, double ClipScope);
