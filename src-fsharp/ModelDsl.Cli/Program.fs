module ModelDsl.Cli.Program
open TorchSharp
[<EntryPoint>]
let main _ =
    let a = torch.randn(1024L, 1024L)
    let sw = System.Diagnostics.Stopwatch.StartNew()
    for _ in 1..20 do (torch.matmul(a, a)).Dispose()
    printfn "threads %d, %.1f GFLOP/s" (torch.get_num_threads()) (20.0*2.0*1024.0**3.0/sw.Elapsed.TotalSeconds/1e9)
    0
