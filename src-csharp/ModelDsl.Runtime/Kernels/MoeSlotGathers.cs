using static TorchSharp.torch;

namespace ModelDsl.Runtime.Kernels;

/// <summary>
/// The two row movements of <see cref="MoeDispatch"/>, as gathers whose backward is also a gather.
/// Autograd's backward of index_select is index_add, which on the CPU walks the rows one at a time
/// (one small add per row, serial); a gather by the inverse map is one parallel pass.
/// <para>The maps, over N tokens with k slots each (slot n*k+j is token n's j-th choice) and T expert rows
/// (expert-sorted, possibly with padding rows between experts): <c>tokenOfRow</c> [T] is the token a row
/// holds, or N for a padding row; <c>rowOfSlot</c> [N*k] the row of a slot, or T for a dropped slot;
/// <c>slotOfRow</c> [T] the slot a row holds, or N*k for a padding row. An index one past the end
/// reads an appended zero row, so padding rows hold zeros and dropped slots contribute zero, both ways.</para>
/// </summary>
public static class MoeSlotGathers
{
    /// <summary>Tokens [N, D] -> expert rows [T, D]. Backward: each token sums its k slots' gradients.</summary>
    public static Tensor Dispatch(Tensor x, Tensor tokenOfRow, Tensor rowOfSlot, bool padded, bool dropped) =>
        DispatchFunction.apply(x, tokenOfRow, rowOfSlot, padded, dropped);

    /// <summary>Expert rows [T, D] -> slot rows [N*k, D]. Backward: each row takes its slot's gradient.</summary>
    public static Tensor Combine(Tensor rows, Tensor rowOfSlot, Tensor slotOfRow, bool padded, bool dropped) =>
        CombineFunction.apply(rows, rowOfSlot, slotOfRow, padded, dropped);

    private static Tensor WithZeroRow(Tensor rows, bool append) =>
        append ? cat([rows, rows.new_zeros(1, rows.shape[1])], 0) : rows;

    private sealed class DispatchFunction : autograd.SingleTensorFunction<DispatchFunction>
    {
        public override string Name => "MoeDispatchGather";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (x, tokenOfRow, rowOfSlot, padded, dropped) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (bool)vars[3], (bool)vars[4]);
            ctx.save_for_backward([rowOfSlot]);
            ctx.save_data("tokens", x.shape[0]);
            ctx.save_data("dropped", dropped);
            using var scope = NewDisposeScope();
            return WithZeroRow(x, padded).index_select(0, tokenOfRow).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var rowOfSlot = ctx.get_saved_variables()[0];
            var (tokens, dropped) = ((long)ctx.get_data("tokens"), (bool)ctx.get_data("dropped"));
            using var scope = NewDisposeScope();
            var width = gradOutput.shape[1];
            if (tokens == 0) return [gradOutput.new_zeros(0, width).MoveToOuterDisposeScope(), null!, null!, null!, null!];
            // Token n's slots are n*k .. n*k+k-1: a [N, k, D] view summed over k.
            var gradient = WithZeroRow(gradOutput, dropped).index_select(0, rowOfSlot)
                .view(tokens, rowOfSlot.shape[0] / tokens, width).sum(1);
            return [gradient.MoveToOuterDisposeScope(), null!, null!, null!, null!];
        }
    }

    private sealed class CombineFunction : autograd.SingleTensorFunction<CombineFunction>
    {
        public override string Name => "MoeCombineGather";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (rows, rowOfSlot, slotOfRow, padded, dropped) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (bool)vars[3], (bool)vars[4]);
            ctx.save_for_backward([slotOfRow]);
            ctx.save_data("padded", padded);
            using var scope = NewDisposeScope();
            return WithZeroRow(rows, dropped).index_select(0, rowOfSlot).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var slotOfRow = ctx.get_saved_variables()[0];
            var padded = (bool)ctx.get_data("padded");
            using var scope = NewDisposeScope();
            return [WithZeroRow(gradOutput, padded).index_select(0, slotOfRow).MoveToOuterDisposeScope(), null!, null!, null!, null!];
        }
    }
}
