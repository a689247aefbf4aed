#!/usr/bin/env bash
# A real one-node Slurm for tests: munged, slurmctld and slurmd, started in a fresh
# directory on free local ports, and stopped again.
#
#   slurm_cluster.sh start DIR   # prints "export SLURM_CONF=DIR/slurm.conf" when the node is idle
#   slurm_cluster.sh stop DIR
#
# Facts of these machines: munged must run as user munge with /run/munge and its key, log
# and lib directories owned by munge, and be up before slurmd; SlurmUser=root,
# proctrack/linuxproc, task/none, MpiDefault=pmix, select/cons_tres, a partition with
# OverSubscribe=YES. Every wait is bounded.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  for ((i = 0; i < limit * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "slurm_cluster: timed out after ${limit}s waiting for $what" >&2
  return 1
}

start() {
  mkdir -p "$dir"/{state,spool,log}
  # munge
  for d in /run/munge /var/lib/munge /var/log/munge /etc/munge; do
    mkdir -p "$d"
    chown munge:munge "$d"
  done
  chmod 0755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged --force
  fi
  wait_for 10 "munged" bash -c 'munge -n | unmunge'

  local host ctld_port d_port
  host=$(hostname)
  ctld_port=$(free_port)
  d_port=$(free_port)
  cat >"$dir/slurm.conf" <<CONF
ClusterName=trainyardtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
AuthType=auth/munge
CryptoType=crypto/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ReturnToService=2
SchedulerType=sched/builtin
KillWait=5
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  export SLURM_CONF=$dir/slurm.conf
  /usr/sbin/slurmctld -i
  wait_for 20 "slurmctld" scontrol ping
  /usr/sbin/slurmd
  wait_for 30 "the node to become idle" bash -c "sinfo -h -o %T | grep -qE '^(idle|mixed)'"
  echo "export SLURM_CONF=$dir/slurm.conf"
}

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
    if [ -s "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  for _ in $(seq 1 50); do
    pgrep -f "slurm(ctld|d)" >/dev/null || break
    sleep 0.1
  done
  pkill -9 -x slurmctld 2>/dev/null || true
  pkill -9 -x slurmd 2>/dev/null || true
}

"$cmd"
