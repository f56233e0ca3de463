#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for trying and testing `modeldsl sweep --backend slurm`.
#   scripts/slurm-local.sh start    writes the configuration, starts munged, slurmctld and slurmd, waits for the node
#   scripts/slurm-local.sh stop     stops the three daemons
#   scripts/slurm-local.sh status   exit 0 when the cluster answers and its node is up
#   scripts/slurm-local.sh env      prints the export line that points Slurm's commands at this cluster
# Everything lives in $MODELDSL_SLURM_DIR (default /tmp/modeldsl-slurm): slurm.conf, the munge key
# and socket, state, spool and logs. Its own ports and munge socket keep it apart from any system
# Slurm. Needs slurm-wlm and munge (scripts/ensure-slurm.sh installs them on Debian as root).
# Containers usually have no usable cgroups, so processes are tracked through /proc
# (proctrack/linuxproc) and tasks are not confined (task/none).
set -euo pipefail

dir=${MODELDSL_SLURM_DIR:-/tmp/modeldsl-slurm}
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"
cpus=${MODELDSL_SLURM_CPUS:-2}

die() { echo "slurm-local: $*" >&2; exit 1; }

need_commands() {
  local missing=()
  for c in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}; install Slurm and munge (Debian: apt-get install slurm-wlm munge, or scripts/ensure-slurm.sh)"
}

write_config() {
  # munged wants its socket folder open to all (clients connect) and its key private.
  mkdir -p "$dir/munge" "$dir/key" "$dir/state" "$dir/spool" "$dir/log"
  chmod 755 "$dir" "$dir/munge"
  chmod 700 "$dir/key"
  if [ ! -s "$dir/key/munge.key" ]; then
    head -c 1024 /dev/urandom >"$dir/key/munge.key"
    chmod 400 "$dir/key/munge.key"
  fi
  local user
  user=$(id -un)
  cat >"$conf" <<CONF
# Written by scripts/slurm-local.sh: a one-node test cluster on localhost.
ClusterName=modeldsl
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No cgroups: track job processes through /proc and leave tasks unconfined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# Use the node as configured here, whatever the machine has.
SlurmdParameters=config_overrides
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
}

node_up() {
  [ -f "$conf" ] || return 1
  scontrol ping 2>/dev/null | grep -q "is UP" || return 1
  local state
  state=$(sinfo -h -n localhost -o %t 2>/dev/null | head -n 1)
  case "$state" in idle*|mix*|alloc*|comp*) return 0 ;; *) return 1 ;; esac
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  need_commands
  if node_up; then echo "slurm-local: already running ($conf)"; return 0; fi
  write_config
  if ! running "$dir/munged.pid"; then
    munged --socket="$dir/munge/munge.socket" --key-file="$dir/key/munge.key" --pid-file="$dir/munged.pid" \
      --log-file="$dir/log/munged.log" --seed-file="$dir/key/munged.seed" \
      || die "munged did not start (see $dir/log/munged.log)"
  fi
  if ! running "$dir/slurmctld.pid"; then
    slurmctld -f "$conf" || die "slurmctld did not start (see $dir/log/slurmctld.log)"
  fi
  if ! running "$dir/slurmd.pid"; then
    slurmd -f "$conf" -N localhost || die "slurmd did not start (see $dir/log/slurmd.log)"
  fi
  for _ in $(seq 1 60); do
    if node_up; then echo "slurm-local: started ($conf)"; return 0; fi
    # A node left down or drained by an earlier run is brought back.
    scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  echo "slurm-local: the node did not come up; last log lines:" >&2
  tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 2>/dev/null || true
  sinfo >&2 2>/dev/null || true
  exit 1
}

stop_daemon() {
  local pidfile=$1
  running "$pidfile" || return 0
  local pid
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  stop_daemon "$dir/slurmd.pid"
  stop_daemon "$dir/slurmctld.pid"
  stop_daemon "$dir/munged.pid"
  echo "slurm-local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) node_up ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
