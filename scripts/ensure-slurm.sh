#!/usr/bin/env bash
# Makes sure Slurm (slurmctld, slurmd, client commands) and munge are installed, for
# `modeldsl sweep --backend slurm` on a local test cluster (scripts/slurm-local.sh) and its tests.
# Idempotent: does nothing (and prints nothing) when they are already there. Installs them on
# Debian as root; elsewhere it only says what is missing: the rest of ModelDsl does not need Slurm,
# and the Slurm sweep tests fail with the same explanation.
set -euo pipefail

present() {
  for c in munged slurmctld slurmd sbatch squeue scontrol sinfo; do command -v "$c" >/dev/null 2>&1 || return 1; done
}
present && exit 0

note() {
  echo "ModelDsl setup: Slurm and munge are not installed ($1); sweeps with --backend slurm and their tests need them." >&2
  echo "  Debian/Ubuntu (as root): apt-get install slurm-wlm munge" >&2
  exit 0
}

[ "$(id -u)" = 0 ] || note "installing them needs root"
command -v apt-get >/dev/null || note "there is no apt-get here to install them with"
. /etc/os-release 2>/dev/null || true
[ "${ID:-}" = debian ] || note "automatic installation is only done on Debian"

echo "ModelDsl setup: installing Slurm and munge (for the Slurm sweep backend's tests) ..." >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
install() { apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends slurm-wlm munge; }
if ! { install || { apt-get update -q -o DPkg::Lock::Timeout=600 && install; }; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  rm -f "$log"
  note "apt-get could not install slurm-wlm and munge (log above)"
fi
rm -f "$log"
present || note "slurm-wlm and munge were installed but their commands are not on PATH"
