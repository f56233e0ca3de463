using ModelDsl.Core;
using ModelDsl.Core.Json;
using ModelDsl.Core.Model;
using ModelDsl.Core.Sweeps;
using ModelDsl.Core.Training;

namespace ModelDsl.Runtime.Tests.Sweeps;

public class SweepSpecTests
{
    internal static ExperimentSpec Base => new()
    {
        Name = "tiny",
        Model = ModelSpec.Llama(vocab: 4, width: 16, depth: 1, heads: 2),
        Training = new TrainingSpec { Optimizer = new AdamW { Lr = 1e-3, WeightDecay = 0.1 } },
    };

    internal static SweepArm Arm(params SweepAxis[] axes) => new() { Label = "adamW", Base = Base, Axes = axes };

    internal static SweepAxis Axis(string path, params double[] values) => new() { Path = path, Values = values };

    [Fact]
    public void An_axis_edits_any_numeric_field_through_the_json()
    {
        var arm = Arm(Axis("training.optimizer.lr", 1e-3, 3e-3), Axis("training.optimizer.beta2", 0.95, 0.99),
            Axis("model.blocks[0].attention.heads", 2, 4), Axis("training.globalBatch", 32, 64));
        var spec = arm.Resolve([1, 1, 1, 1], ratio: 2.0);
        var adam = Assert.IsType<AdamW>(spec.Training.Optimizer);
        Assert.Equal(3e-3, adam.Lr);
        Assert.Equal(0.99, adam.Beta2);
        Assert.Equal(0.1, adam.WeightDecay);
        Assert.Equal(4, ((AttentionSpec)spec.Model.Blocks[0].Attention).Heads);
        Assert.Equal(64, spec.Training.GlobalBatch);
        Assert.Equal(new ChinchillaBudget(2.0), spec.Training.Budget);
        // Nothing else changed.
        Assert.Equal(Base with { Training = Base.Training with { Budget = new ChinchillaBudget(2.0) } },
            arm.Resolve([0, 0, 0, 0], 2.0));
    }

    [Fact]
    public void A_path_to_a_missing_field_names_the_field_and_what_exists()
    {
        var spec = new SweepSpec { Name = "s", Arms = ValueList.Of(Arm(Axis("training.optimizer.lrr", 1e-3))) };
        var error = Assert.Single(spec.Validate());
        Assert.Equal("arms[0].axes[0].path", error.Path);
        Assert.Contains("has no field 'lrr'", error.Message);
        Assert.Contains("weightDecay", error.Message);
    }

    [Fact]
    public void A_grid_value_the_field_rejects_is_reported_at_the_value()
    {
        var spec = new SweepSpec { Name = "s", Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-3, -1.0))) };
        var error = Assert.Single(spec.Validate());
        Assert.Equal("arms[0].axes[0].values[1]", error.Path);
        Assert.Contains("training.optimizer.lr", error.Message);

        var fractional = new SweepSpec { Name = "s", Arms = ValueList.Of(Arm(Axis("training.globalBatch", 32, 40.5))) };
        Assert.Equal("arms[0].axes[0].values[1]", Assert.Single(fractional.Validate()).Path);
    }

    [Fact]
    public void Search_start_ratios_and_baseline_are_checked()
    {
        var spec = new SweepSpec
        {
            Name = "s",
            Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-3, 3e-3)) with { Search = new CoordinateDescentSearch { Start = ValueList.Of(2) } }),
            Ratios = ValueList.Of(1.0, -2.0),
            Baseline = "lion",
        };
        var paths = spec.Validate().Select(e => e.Path).ToList();
        Assert.Equal(["arms[0].search.start[0]", "baseline", "ratios[1]"], paths.Order());
    }

    [Fact]
    public void A_sweep_round_trips_through_json()
    {
        var spec = new SweepSpec
        {
            Name = "s",
            Arms = ValueList.Of(Arm(Axis("training.optimizer.lr", 1e-3, 3e-3)) with { Search = new CoordinateDescentSearch { Start = ValueList.Of(1), TieThreshold = 1e-2 } },
                    Arm(Axis("training.optimizer.weightDecay", 0, 0.1)) with { Label = "grid", Search = new GridSearch() }),
            Ratios = ValueList.Of(1.0, 2.0),
            Baseline = "grid",
        };
        Assert.Empty(spec.Validate());
        Assert.Equal(spec, SpecJson.Deserialize<SweepSpec>(SpecJson.Serialize(spec)));
    }

    [Fact]
    public void Chinchilla_budget_is_ratio_times_20_tokens_per_non_embedding_parameter()
    {
        // 2 x 20 x 10_000 = 400_000 tokens at 1_000 tokens per step: 400 steps; a remainder rounds up.
        Assert.Equal(400, new ChinchillaBudget(2).Steps(1_000, 10_000));
        Assert.Equal(401, new ChinchillaBudget(2).Steps(999, 10_000));
        Assert.Equal(1, new ChinchillaBudget(1e-9).Steps(1_000, 10));
        Assert.Equal("training.budget.ratio", Assert.Single((Base with { Training = Base.Training with { Budget = new ChinchillaBudget(0) } }).Validate()).Path);
    }
}
