#!/usr/bin/env bash
# A one-node Slurm cluster in a folder, for tests/test_scheduler.py (and by hand):
#
#   tests/slurm/slurm.sh start DIR   # munged, slurmctld and slurmd, as root; waits until the node is idle
#   export SLURM_CONF=DIR/slurm.conf # then sbatch, squeue, scontrol ... talk to it
#   tests/slurm/slurm.sh stop DIR    # ends the three daemons (by the pids they wrote in DIR)
#
# Everything lives in DIR: slurm.conf, the munge key and socket, state, spool, logs and pid files; the ports
# are free ones picked at start, so it runs beside another Slurm (or another copy of itself). No systemd, no
# cgroups (proctrack/linuxproc, task/none), no accounting. Needs Debian's slurm-wlm and munge.
set -euo pipefail
cmd="${1:?usage: slurm.sh start|stop DIR}"
dir="$(mkdir -p "${2:?usage: slurm.sh start|stop DIR}" && cd "$2" && pwd)"

stop() {
    local name pid
    if [ -f "$dir/slurmctld.pid" ] && [ -f "$dir/slurm.conf" ]; then    # jobs first: no grading outlives its node
        export SLURM_CONF="$dir/slurm.conf"
        squeue --noheader --format=%A 2>/dev/null | xargs -r scancel 2>/dev/null || true
        for _ in $(seq 100); do
            [ -z "$(squeue --noheader --format=%A 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    for name in slurmd slurmctld munged; do
        pid="$(cat "$dir/$name.pid" 2>/dev/null || true)"
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for name in slurmd slurmctld munged; do      # wait for them to go (at most 10 s each)
        pid="$(cat "$dir/$name.pid" 2>/dev/null || true)"
        for _ in $(seq 100); do
            { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || break
            sleep 0.1
        done
        rm -f "$dir/$name.pid"
    done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "usage: slurm.sh start|stop DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "slurm.sh: run as root (slurmd starts jobs as their user)" >&2; exit 2; }
for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin:/sbin"
    command -v "$tool" >/dev/null || { echo "slurm.sh: no $tool (apt-get install slurm-wlm munge)" >&2; exit 2; }
done
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }

mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
chmod 700 "$dir/munge"
[ -f "$dir/munge/munge.key" ] || { head -c 1024 /dev/urandom >"$dir/munge/munge.key"; chmod 400 "$dir/munge/munge.key"; }
munged --force --socket="$dir/munge/socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munge/seed"

host="$(hostname -s)"
# the node as slurmd sees it (CPUs, sockets, cores, threads), with RealMemory 90% of what it reports, so the
# node is never drained for having less memory than slurm.conf says
node="$(slurmd -C | head -1)"
memory="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")"
node="$(sed "s/RealMemory=[0-9]*/RealMemory=$((memory * 9 / 10))/; s/NodeName=[^ ]*/NodeName=$host/" <<<"$node")"
cat >"$dir/slurm.conf" <<EOF
ClusterName=mha-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SchedulerParameters=kill_invalid_depend
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -i
slurmd
for _ in $(seq 300); do                           # up to 30 s for the node to register
    state="$(sinfo --noheader --nodes="$host" --format=%T 2>/dev/null || true)"
    [ "$state" = idle ] && { echo "slurm is up: SLURM_CONF=$SLURM_CONF (node $host idle)"; exit 0; }
    sleep 0.1
done
echo "slurm.sh: node $host is not idle after 30 s (state: ${state:-none}); see $dir/*.log" >&2
tail -n 20 "$dir"/*.log >&2 || true
stop
exit 1
