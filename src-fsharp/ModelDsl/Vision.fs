namespace ModelDsl

open ModelDsl.Core.Model
open ModelDsl.Core.Vision

/// Image encoders with named arguments, declared like the decoder's blocks; each returns the IR's
/// VisionSpec (encoder and projector) with the IR's defaults for every argument left out.
[<AbstractClass; Sealed>]
type Vision =
    /// imageSize x imageSize images cut into patchSize x patchSize patches, a width-wide residual stream
    /// through depth bidirectional pre-norm blocks of heads heads and a dense feed-forward (GELU, hidden
    /// units; default 4 x width), then an MLP projector to the decoder's width.
    static member encoder(?imageSize: int, ?patchSize: int, ?width: int, ?depth: int, ?heads: int, ?hidden: int, ?channels: int) : VisionSpec =
        let defaults = VisionSpec()
        VisionSpec(
            ImageSize = defaultArg imageSize defaults.ImageSize,
            PatchSize = defaultArg patchSize defaults.PatchSize,
            Width = defaultArg width defaults.Width,
            Depth = defaultArg depth defaults.Depth,
            Heads = defaultArg heads defaults.Heads,
            Channels = defaultArg channels defaults.Channels,
            FeedForward = DenseFeedForward(Activation = Activation.Gelu, Hidden = Option.toNullable hidden))

[<RequireQualifiedAccess>]
module Vision =
    /// The projector from encoder features to the decoder's width: Linear, or Mlp (linear, GELU, linear).
    let projector (kind: ProjectorKind) (spec: VisionSpec) = Ir.With(spec, spec.Projector, kind)
    /// Hidden width of the MLP projector (default: the decoder's width).
    let projectorHidden (hidden: int) (spec: VisionSpec) = Ir.With(spec, spec.ProjectorHidden, System.Nullable hidden)
    /// K prefix embeddings per image, each the mean of patches / K consecutive patches (default: one per patch).
    let prefixTokens (count: int) (spec: VisionSpec) = Ir.With(spec, spec.PrefixTokens, System.Nullable count)
    /// Keep the encoder's weights fixed during training.
    let freezeEncoder (spec: VisionSpec) = Ir.With(spec, spec.FreezeEncoder, true)
    /// Keep the projector's weights fixed during training.
    let freezeProjector (spec: VisionSpec) = Ir.With(spec, spec.FreezeProjector, true)
    /// The encoder blocks' feed-forward, e.g. `FeedForward.gelu 64` (dense only).
    let feedForward (feedForward: DenseFeedForward) (spec: VisionSpec) = Ir.With(spec, spec.FeedForward, feedForward)
    let normEps (eps: float) (spec: VisionSpec) = Ir.With(spec, spec.NormEps, eps)
    /// Standard deviation of the encoder's and projector's initial matrices.
    let initStd (std: float) (spec: VisionSpec) = Ir.With(spec, spec.InitStd, std)

/// Preference objectives for `Experiment.preference`, on minimal contrast pairs against the frozen init model.
[<AbstractClass; Sealed>]
type Preference =
    /// S-VCO (arXiv 2502.13928): beta sets all four terms; each named beta overrides its term (0 removes it).
    static member svco(?beta: float, ?winnerAttend: float, ?winnerReject: float, ?loserAttend: float, ?loserReject: float) : PreferenceObjective =
        let beta = defaultArg beta (SvcoSpec().BetaWinnerAttend)
        SvcoSpec(
            BetaWinnerAttend = defaultArg winnerAttend beta,
            BetaWinnerReject = defaultArg winnerReject beta,
            BetaLoserAttend = defaultArg loserAttend beta,
            BetaLoserReject = defaultArg loserReject beta)

    /// DPO on the text pair with the winner's image: prefer T_w over T_l given I_w.
    static member textDpo(?beta: float) : PreferenceObjective = TextDpoSpec(Beta = defaultArg beta (TextDpoSpec().Beta))

    /// Image-only preference (mDPO-style): prefer (I_w, T_w) over (I_l, T_w).
    static member imageDpo(?beta: float) : PreferenceObjective = ImageDpoSpec(Beta = defaultArg beta (ImageDpoSpec().Beta))
