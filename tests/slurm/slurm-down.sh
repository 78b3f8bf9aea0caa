#!/bin/bash
# slurm-down.sh DIR — stops the daemons slurm-up.sh DIR started, by their pid files only.
S=$1
# The pids the daemons wrote, then the ones slurm-up.sh recorded when it started them (a
# daemon that died before writing its pid file, or setsid's child, is still covered).
pids=()
for f in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/munged.pid"; do
    [ -s "$f" ] && pids+=("$(cat "$f")")
done
[ -s "$S/started.pids" ] && mapfile -t -O "${#pids[@]}" pids < "$S/started.pids"
for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
done
