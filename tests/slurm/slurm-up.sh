#!/bin/bash
# slurm-up.sh DIR — munge + slurmctld + slurmd on this machine, all state under DIR, no systemd,
# no cgroups (ENV.md §6). Run as root. Stop with slurm-down.sh DIR (by pid file). Prints nothing
# on success; the client environment is `export SLURM_CONF=DIR/slurm.conf`.
# CPUs=4 is declared with config_overrides so that a 2-rank run and array tasks fit on 2 cores.
set -euo pipefail
S=$1
CPUS=${SLURM_CPUS:-4}
mkdir -p "$S"/{munge,state,spool,log}
chmod 755 "$S" # munged (user munge) must reach its folder; mktemp -d makes 0700
chown munge:munge "$S/munge"
chmod 755 "$S/munge" # munged wants the socket's folder world-executable
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
MEM=$(( $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) * 8 / 10 ))
# cred_expire (AuthInfo, slurm.conf(5) of 22.05): how long a requeued job waits before it may
# start again (default 120 s); lowered so the requeue test takes seconds.
cat > "$S/slurm.conf" <<CONF
ClusterName=pcantest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/munge.socket.2,cred_expire=10
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=pmix
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
JobRequeue=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$S/slurm.conf
# Daemons in the foreground (-F/-D) as background processes of their own session; their pid
# files are what slurm-down.sh stops.
setsid setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F \
    --socket="$S/munge/munge.socket.2" --pid-file="$S/munge/munged.pid" \
    --log-file="$S/munge/munged.log" --seed-file="$S/munge/munged.seed" \
    > "$S/log/munged.out" 2>&1 < /dev/null &
echo $! >> "$S/started.pids"
for _ in $(seq 50); do [ -S "$S/munge/munge.socket.2" ] && break; sleep 0.1; done
if [ ! -S "$S/munge/munge.socket.2" ]; then
    echo "slurm-up: munged did not start:" >&2
    cat "$S/log/munged.out" >&2
    exit 1
fi
setsid /usr/sbin/slurmctld -D -f "$SLURM_CONF" > "$S/log/slurmctld.out" 2>&1 < /dev/null &
echo $! >> "$S/started.pids"
setsid /usr/sbin/slurmd -D -N localhost -f "$SLURM_CONF" > "$S/log/slurmd.out" 2>&1 < /dev/null &
echo $! >> "$S/started.pids"
for _ in $(seq 150); do
    st=$(timeout 3 sinfo -h -n localhost -o %t 2>/dev/null || true)
    [ "$st" = idle ] && exit 0
    sleep 0.2
done
echo "slurm-up: the node did not become idle; logs in $S/log" >&2
exit 1
