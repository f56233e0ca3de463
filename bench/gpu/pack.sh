#!/usr/bin/env bash
# Builds what bench/gpu/run.sh needs on a machine without .NET: a self-contained linux-x64 publish of
# ModelDsl.GpuBench without the bundled CPU libtorch (the GPU machine's PyTorch provides libtorch),
# packed as bench/gpu/dist/gpubench.tar.xz (ignored by git; pass it to the device with `carry`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
scripts/setup.sh >/dev/null
out=$(mktemp -d)
dotnet publish bench/ModelDsl.GpuBench -c Release -r linux-x64 --self-contained -nologo -v q -o "$out/gpubench"
# libtorch comes from PyTorch there; TorchSharp's own shim (libLibTorchSharp.so) stays.
find "$out/gpubench" -maxdepth 1 \( -name 'libtorch*.so*' -o -name 'libc10*.so*' -o -name 'libgomp*.so*' \
  -o -name 'libaoti_custom_ops.so' -o -name 'libbackend_with_compiler.so' -o -name 'libjitbackend_test.so' \
  -o -name 'libnnapi_backend.so' -o -name 'libshm.so' \) -delete
mkdir -p bench/gpu/dist
tar -C "$out" -cJf bench/gpu/dist/gpubench.tar.xz gpubench
rm -rf "$out"
ls -l bench/gpu/dist/gpubench.tar.xz
