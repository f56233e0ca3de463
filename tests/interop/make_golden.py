"""Writes the safetensors golden files with the reference implementation (huggingface/safetensors).

    python3 make_golden.py [--safetensors-path DIR]

DIR, when given, is put first on sys.path (a privately unpacked python3-safetensors). The tensors
are exactly representable values, including negative zero, infinity and subnormals; the C# tests
(tests/ModelDsl.Runtime.Tests/Interop/SafetensorsGoldenTests.cs) build the same tensors and
require the files to read back exactly and the C# writer to reproduce them byte for byte.
"""
import argparse
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--safetensors-path", default=None)
parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden"))
args = parser.parse_args()
if args.safetensors_path:
    sys.path.insert(0, args.safetensors_path)

import safetensors
import torch
from safetensors.torch import save_file, load_file


def every_dtype():
    return {
        "weight.f32": torch.tensor([[-1.5, 0.0, -0.0], [3.25, float("inf"), 1.401298464324817e-45]], dtype=torch.float32),
        "bias.f32": torch.tensor([0.1, -2.0, 1e30], dtype=torch.float32),
        "scalar.f32": torch.tensor(2.5, dtype=torch.float32),
        "empty.f32": torch.zeros((0, 4), dtype=torch.float32),
        "f64": torch.tensor([1.0 / 3.0, -2.5, 1e300, 5e-324], dtype=torch.float64),
        "bf16": torch.tensor([[1.0, -2.0], [0.5, 1.0078125]], dtype=torch.bfloat16),
        "f16": torch.tensor([1.0, -0.5, 65504.0], dtype=torch.float16),
        "i64": torch.tensor([[-1, 0], [2**40, -(2**63)]], dtype=torch.int64),
        "i32": torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32),
        "mask": torch.tensor([True, False, False, True, True]),
    }


def main():
    os.makedirs(args.out, exist_ok=True)
    files = {
        "every_dtype.safetensors": (every_dtype(), {"format": "pt"}),
        "no_metadata.safetensors": ({"b": torch.tensor([1, 2, 3], dtype=torch.int32), "a": torch.tensor([4, 5, 6], dtype=torch.int32)}, None),
        # Several keys: the reference writes them in its hash map's order; the C# test passes them in
        # the order found in the file. Escapes and non-ASCII check the JSON string encoding.
        "metadata.safetensors": ({"x": torch.tensor([1.0], dtype=torch.float32)},
                                 {"quote": 'say "hi"\\ok', "newline": "a\nb\tc\u0001", "unicode": "\u00e9\u2713\U0001F600", "empty": ""}),
    }
    for name, (tensors, metadata) in files.items():
        path = os.path.join(args.out, name)
        save_file(tensors, path, metadata=metadata)
        back = load_file(path)
        assert sorted(back) == sorted(tensors), name
        for key, value in tensors.items():
            assert back[key].dtype == value.dtype and back[key].shape == value.shape, (name, key)
            assert torch.equal(back[key].view(-1).view(torch.uint8) if value.numel() else back[key], value.view(-1).view(torch.uint8) if value.numel() else value), (name, key)
        print(f"{path}: {os.path.getsize(path)} bytes, {len(tensors)} tensors")
    print("safetensors", safetensors.__version__, "from", os.path.dirname(safetensors.__file__), "torch", torch.__version__)


main()
