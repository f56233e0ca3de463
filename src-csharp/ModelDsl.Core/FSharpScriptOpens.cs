// F# scripts that reference this assembly open the IR's namespaces automatically, so that an
// experiment script writes `AdamW(Lr = 3e-3)` or `Precision.BFloat16Mixed` without `open` lines.
// The F# compiler recognises the attribute by its full name; this copy keeps the IR free of an
// FSharp.Core dependency.
[assembly: Microsoft.FSharp.Core.AutoOpen("ModelDsl.Core")]
[assembly: Microsoft.FSharp.Core.AutoOpen("ModelDsl.Core.Model")]
[assembly: Microsoft.FSharp.Core.AutoOpen("ModelDsl.Core.Tasks")]
[assembly: Microsoft.FSharp.Core.AutoOpen("ModelDsl.Core.Training")]
[assembly: Microsoft.FSharp.Core.AutoOpen("ModelDsl.Core.Generation")]
[assembly: Microsoft.FSharp.Core.AutoOpen("ModelDsl.Core.FineTune")]
[assembly: Microsoft.FSharp.Core.AutoOpen("ModelDsl.Core.Rl")]
[assembly: Microsoft.FSharp.Core.AutoOpen("ModelDsl.Core.Vision")]

namespace Microsoft.FSharp.Core
{
    [System.AttributeUsage(System.AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class AutoOpenAttribute(string path) : System.Attribute
    {
        public string Path { get; } = path;
    }
}
