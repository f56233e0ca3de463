namespace ModelDsl

open ModelDsl.Core
open ModelDsl.Core.Sweeps
open ModelDsl.Core.Validation

/// One swept hyperparameter: a path into the experiment's JSON (camelCase fields, e.g.
/// "training.optimizer.lr") and its grid of values, in order.
type Axis = { Path: string; Name: string option; Values: float list }

[<RequireQualifiedAccess>]
module Axis =
    /// Any numeric field of the experiment, by its JSON path ("model.blocks[0].attention.heads").
    let path (path: string) (values: float list) = { Path = path; Name = None; Values = values }
    /// The label used in tables and run folders (default: the path's last field).
    let named (name: string) (axis: Axis) = { axis with Name = Some name }

    /// Peak learning rate of the optimizer (every optimizer has one).
    let lr values = path "training.optimizer.lr" values
    /// Decoupled weight decay of the optimizer.
    let weightDecay values = path "training.optimizer.weightDecay" values
    let beta1 values = path "training.optimizer.beta1" values
    let beta2 values = path "training.optimizer.beta2" values
    let eps values = path "training.optimizer.eps" values
    /// Warmup as a fraction of the run.
    let warmup values = path "training.schedule.warmupFraction" values
    let clipGradNorm values = path "training.clipGradNorm" values

    let toSpec (axis: Axis) =
        SweepAxis(Path = axis.Path, Name = Option.toObj axis.Name, Values = ValueList<float>(axis.Values))

/// How an arm's grid is searched.
[<RequireQualifiedAccess>]
type Search =
    /// Every point of the grid.
    | Grid
    /// One-axis moves to neighbouring grid values until every neighbour of the best has run;
    /// start = grid index per axis (None: the middle of each grid); smaller improvements than
    /// tieThreshold are ties; edgeExtensions = how many times per side an axis whose best value sits
    /// on its edge is extended and searched again (None: never).
    | CoordinateDescent of start: int list option * tieThreshold: float * edgeExtensions: int option

/// One contender of a sweep (typically an optimizer), tuned separately from the others.
type Arm = { Label: string; Experiment: ExperimentSpec; Axes: Axis list; Search: Search }

/// A hyperparameter study: arms tuned at every Chinchilla ratio, compared on the final held-out loss.
type Sweep =
    { Name: string
      Arms: Arm list
      /// D = ratio * 20 * N non-embedding parameters; empty keeps each experiment's own budget.
      Ratios: float list
      /// A final loss at or above this (or NaN) counts as diverged.
      DivergenceLoss: float
      /// The arm speedups are measured against (None: the first).
      Baseline: string option }

[<RequireQualifiedAccess>]
module Sweep =
    let private defaultTie = CoordinateDescentSearch().TieThreshold
    let private defaultDivergence = SweepSpec().DivergenceLoss

    let private single (search: Search) (axes: Axis list) (experiment: ExperimentSpec) =
        { Name = experiment.Name
          Arms = [ { Label = experiment.Name; Experiment = experiment; Axes = axes; Search = search } ]
          Ratios = []
          DivergenceLoss = defaultDivergence
          Baseline = None }

    /// Every combination of the axes' values, trained from the experiment.
    let grid (axes: Axis list) (experiment: ExperimentSpec) = single Search.Grid axes experiment

    /// Coordinate descent over the axes from the middle of each grid (tie threshold 3e-3).
    let coordinateDescent (axes: Axis list) (experiment: ExperimentSpec) =
        single (Search.CoordinateDescent(None, defaultTie, None)) axes experiment

    let name (name: string) (sweep: Sweep) = { sweep with Name = name }
    let ratios (ratios: float list) (sweep: Sweep) = { sweep with Ratios = ratios }
    let divergenceLoss (loss: float) (sweep: Sweep) = { sweep with DivergenceLoss = loss }
    let baseline (label: string) (sweep: Sweep) = { sweep with Baseline = Some label }

    /// Renames the arms of a single-arm sweep (e.g. "adamW").
    let label (label: string) (sweep: Sweep) =
        match sweep.Arms with
        | [ arm ] -> { sweep with Arms = [ { arm with Label = label } ] }
        | arms -> invalidArg "sweep" $"Sweep.label renames the arm of a single-arm sweep; this one has {arms.Length}"

    let private editSearch edit (sweep: Sweep) =
        { sweep with
            Arms =
                sweep.Arms
                |> List.map (fun arm ->
                    match arm.Search with
                    | Search.CoordinateDescent(start, tie, extensions) -> { arm with Search = edit (start, tie, extensions) }
                    | Search.Grid -> arm) }

    /// Grid index per axis where coordinate descent starts (every coordinate-descent arm).
    let startAt (indices: int list) = editSearch (fun (_, tie, extensions) -> Search.CoordinateDescent(Some indices, tie, extensions))
    let tieThreshold (threshold: float) = editSearch (fun (start, _, extensions) -> Search.CoordinateDescent(start, threshold, extensions))
    /// When a best value sits on an axis's edge, extend that axis beyond it (by the grid's ratio) and
    /// search again, up to this many times per side (every coordinate-descent arm).
    let widenEdges (times: int) = editSearch (fun (start, tie, _) -> Search.CoordinateDescent(start, tie, Some times))

    /// Sweeps as the arms of one study (e.g. one per optimizer); the first is the baseline unless
    /// set. Ratios and divergence loss come from the first sweep (set them after combining).
    let compare (name: string) (sweeps: Sweep list) =
        match sweeps with
        | [] -> invalidArg "sweeps" "Sweep.compare needs at least one sweep"
        | first :: _ -> { first with Name = name; Arms = sweeps |> List.collect _.Arms }

    let private lowerArm (arm: Arm) =
        let search: SearchSpec =
            match arm.Search with
            | Search.Grid -> GridSearch()
            | Search.CoordinateDescent(start, tie, extensions) ->
                CoordinateDescentSearch(Start = (start |> Option.map (fun s -> ValueList<int>(s)) |> Option.toObj), TieThreshold = tie,
                                        MaxEdgeExtensions = Option.toNullable extensions)
        SweepArm(Label = arm.Label, Base = arm.Experiment, Axes = ValueList<SweepAxis>(arm.Axes |> List.map Axis.toSpec), Search = search)

    /// The IR record, unvalidated (lowering is total).
    let lower (sweep: Sweep) =
        SweepSpec(
            Name = sweep.Name,
            Arms = ValueList<SweepArm>(sweep.Arms |> List.map lowerArm),
            Ratios = ValueList<float>(sweep.Ratios),
            DivergenceLoss = sweep.DivergenceLoss,
            Baseline = Option.toObj sweep.Baseline)

    /// The validated IR record, or every validation error with its path.
    let toSpec (sweep: Sweep) : Result<SweepSpec, ValidationError list> =
        let spec = lower sweep
        match List.ofSeq (spec.Validate()) with
        | [] -> Ok spec
        | errors -> Error errors

    let toSpecOrFail (sweep: Sweep) = (lower sweep).EnsureValid()
