#!/usr/bin/env bash
# Makes sure Open MPI (mpirun and libmpi.so.40) is present for data-parallel training
# (mpirun -np R ./modeldsl run ...). Only the runtime is needed: ModelDsl binds libmpi with
# P/Invoke, so no MPI headers or compilers are installed.
# Idempotent: does nothing (and prints nothing) when Open MPI is already there. Where it cannot
# install (not root, not Debian) it explains and carries on: single-process training does not
# need MPI, and the data-parallel tests fail with the same explanation.
set -euo pipefail

has_openmpi() {
  command -v mpirun >/dev/null 2>&1 || return 1
  ldconfig -p 2>/dev/null | grep -q 'libmpi\.so\.40 ' && return 0
  local lib
  for lib in /usr/lib/x86_64-linux-gnu/libmpi.so.40 /usr/lib/aarch64-linux-gnu/libmpi.so.40; do
    [ -r "$lib" ] && return 0
  done
  return 1
}

has_openmpi && exit 0

explain() {
  cat >&2 <<MSG
ModelDsl setup: Open MPI is not installed, so data-parallel training (mpirun) and its tests cannot run. $1
Install it, for example:
  Debian/Ubuntu (as root):  apt-get install -y openmpi-bin
  Fedora:                   dnf install openmpi   (then put its bin/ on PATH)
MSG
  exit 0
}

[ "$(id -u)" = 0 ] || explain "Installing it needs root, and this shell is not root."
command -v apt-get >/dev/null || explain "There is no apt-get here to install it with."
. /etc/os-release 2>/dev/null || true
[ "${ID:-}" = debian ] || [ "${ID:-}" = ubuntu ] || explain "Automatic installation is only done on Debian and Ubuntu (this is '${ID:-unknown}')."

echo "ModelDsl setup: installing Open MPI (openmpi-bin, for data-parallel training) ..." >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get install -y -q --no-install-recommends openmpi-bin || { apt-get update -q && apt-get install -y -q --no-install-recommends openmpi-bin; }; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  rm -f "$log"
  explain "The automatic installation failed (log above)."
fi
rm -f "$log"
ldconfig || true
has_openmpi || explain "openmpi-bin was installed but mpirun or libmpi.so.40 is still missing."
echo "ModelDsl setup: Open MPI installed." >&2
