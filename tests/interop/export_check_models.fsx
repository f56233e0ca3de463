// Writes Hugging Face Llama exports of a few small models with random weights, and our logits on a
// fixed input, for check_llama.py (an independent plain-PyTorch Llama).
//   dotnet build src-fsharp/ModelDsl.Cli -c Release
//   dotnet fsi tests/interop/export_check_models.fsx OUT_DIR
#load "../../modeldsl.fsx"

open System.IO
open ModelDsl
open TorchSharp
open ModelDsl.Core.Model
open ModelDsl.Runtime.Compile
open ModelDsl.Runtime.Interop

let out = (fsi.CommandLineArgs |> Array.tail |> Array.tryHead) |> Option.defaultValue "interop-check"

/// Every weight drawn at a scale that makes mistakes visible: gains around 1, biases around 0, matrices ~ 1/sqrt(fan-in).
let randomModel (spec: ModelSpec) (dtype: torch.ScalarType) =
    let model = ModelCompiler.Build(spec, dtype)
    let generator = new torch.Generator(7UL)
    use _ = torch.no_grad()
    for struct (name, parameter) in model.named_parameters() do
        let noise = torch.randn(parameter.shape, dtype = torch.ScalarType.Float64, generator = generator)
        let value =
            if name.EndsWith "Norm.weight" then 1.0 + 0.3 * noise
            elif name.EndsWith ".bias" then 0.2 * noise
            else noise / sqrt (float parameter.shape.[parameter.shape.Length - 1])
        parameter.copy_(value) |> ignore
    model

let block (heads: int) (kvHeads: int option) (headDim: int option) bias theta hidden eps =
    BlockSpec(
        Attention = AttentionSpec(Heads = heads, KvHeads = Option.toNullable kvHeads, HeadDim = Option.toNullable headDim, Bias = bias, Position = Rope(Theta = theta)),
        FeedForward = DenseFeedForward(Hidden = Option.toNullable hidden, Bias = bias),
        Norm = RmsNorm(Eps = eps))

let cases =
    [ "tied-mha", ModelSpec.Llama(vocab = 11, width = 16, depth = 2, heads = 2), torch.ScalarType.Float32
      "untied-gqa-bias",
      ModelSpec(Vocab = 13, Width = 16, TiedHead = false, FinalNorm = RmsNorm(Eps = 1e-5),
                Blocks = ModelDsl.Core.ValueList.Repeat(block 4 (Some 2) (Some 6) true 500.0 (Some 24) 1e-5, 3)),
      torch.ScalarType.Float32
      "untied-gqa-float64",
      ModelSpec(Vocab = 17, Width = 32, TiedHead = false,
                Blocks = ModelDsl.Core.ValueList.Repeat(block 4 (Some 1) None false 10000.0 None 1e-6, 2)),
      torch.ScalarType.Float64 ]

for (name, spec, dtype) in cases do
    let spec = Ir.With(spec, spec.MaxSequenceLength, 64)
    let directory = Path.Combine(out, name)
    use model = randomModel spec dtype
    HfLlamaExport.Write(model, directory)
    use tokens = torch.randint(0L, int64 spec.Vocab, [| 3L; 12L |], dtype = torch.ScalarType.Int64, generator = new torch.Generator(11UL))
    use logits = model.forward(tokens)
    SafetensorsWriter.Write(Path.Combine(directory, "logits.safetensors"), [ TensorBytes.From("tokens", tokens); TensorBytes.From("logits", logits) ])
    printfn "%s: %d parameters, logits %A" directory model.ParameterCount logits.shape
