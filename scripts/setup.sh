#!/usr/bin/env bash
# Brings this checkout to a runnable state: native runtime, .NET tools, packages, build.
# Quiet and quick when everything is already in place; explains clearly what is missing otherwise.
# Usage: scripts/setup.sh [project-or-solution]   (default: the whole solution)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v dotnet >/dev/null 2>&1; then
  echo "ModelDsl setup: the .NET SDK 10 is required and 'dotnet' is not on PATH." >&2
  echo "  Install it from https://dotnet.microsoft.com/download (or your package manager), then rerun." >&2
  exit 1
fi
major=$(dotnet --version 2>/dev/null | cut -d. -f1)
if [ "${major:-0}" -lt 10 ]; then
  echo "ModelDsl setup: .NET SDK 10 or newer is required; found $(dotnet --version 2>/dev/null || echo none)." >&2
  exit 1
fi

scripts/ensure-native.sh
scripts/ensure-slurm.sh
scripts/ensure-mpi.sh

target=${1:-ModelDsl.sln}
state="$root/.setup"
mkdir -p "$state"
stamp="$state/build-$(echo "$target" | tr '/.' '__')"

quietly() {  # run a step, show its output only when it fails
  local what=$1; shift
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    echo "ModelDsl setup: $what failed:" >&2
    grep -E "error|Error|failed" "$log" | head -n 40 >&2 || tail -n 40 "$log" >&2
    echo "(full log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
}

if [ ! -f "$state/tools" ] || [ .config/dotnet-tools.json -nt "$state/tools" ]; then
  quietly "restoring .NET tools (paket)" dotnet tool restore
  touch "$state/tools"
fi

# Rebuild only when a source, project or dependency file changed since the last good build.
changed() {
  [ -f "$stamp" ] || return 0
  [ -n "$(find src-csharp src-fsharp tests bench examples paket.lock paket.dependencies Directory.Build.props ModelDsl.sln \
           -newer "$stamp" \( -name '*.cs' -o -name '*.fs' -o -name '*.fsx' -o -name '*proj' -o -name 'paket.*' \
           -o -name '*.props' -o -name '*.sln' -o -name '*.json' \) -not -path '*/bin/*' -not -path '*/obj/*' -print -quit 2>/dev/null)" ]
}
if changed; then
  if [ ! -f "$state/restored" ] || [ paket.lock -nt "$state/restored" ]; then
    echo "ModelDsl setup: restoring packages (first run downloads libtorch, ~150 MB) ..." >&2
    quietly "package restore" dotnet restore ModelDsl.sln
    touch "$state/restored"
  fi
  quietly "build of $target" dotnet build "$target" -c Release -nologo -v q
  touch "$stamp"
fi
