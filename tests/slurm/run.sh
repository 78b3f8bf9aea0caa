#!/bin/bash
# tests/slurm/run.sh — pcan on a live single-node Slurm (make test-slurm; root, slurm-wlm+munge).
#   (a) pcan submit of a 2-rank run of a small synth job; the archive checked with pcan info
#   (b) the same job signalled mid-way (scancel --signal=USR1 --batch): ranks stop after their
#       frame, the script requeues, the rerun resumes from the spool; the final results equal
#       (a)'s and the log shows the committed videos were not run again
# The daemons are stopped by pid (trap EXIT) whatever happens. $PCAN is the binary under test.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PCAN=${PCAN:-$ROOT/bin/pcan}
W=$(mktemp -d /tmp/pcan-slurm-test.XXXXXX)
chmod 755 "$W" # munged runs as user munge and must reach $W/slurm/munge
S=$W/slurm
cleanup() {
    rc=$?
    "$HERE/slurm-down.sh" "$S" || true
    if [ $rc -eq 0 ]; then rm -rf "$W"; else echo "test-slurm: FAILED; kept $W" >&2; fi
}
trap cleanup EXIT
fail() { echo "test-slurm: FAIL: $*" >&2; exit 1; }

"$HERE/slurm-up.sh" "$S"
export SLURM_CONF=$S/slurm.conf
export OMPI_MCA_mpi_yield_when_idle=1

# Waits until job $1 has left the queue for good (a requeued job comes back: Restarts counts),
# at most $2 seconds; prints its final JobState and ExitCode.
wait_job() {
    local id=$1 limit=$2 t0=$SECONDS st
    while :; do
        st=$(scontrol show job "$id" 2>/dev/null | tr ' ' '\n' | grep -E '^(JobState|ExitCode)=' | tr '\n' ' ')
        case "$st" in
        *JobState=COMPLETED* | *JobState=FAILED* | *JobState=CANCELLED* | *JobState=TIMEOUT*) echo "$st"; return 0 ;;
        esac
        [ $((SECONDS - t0)) -lt "$limit" ] || { echo "timeout $st"; return 1; }
        sleep 0.3
    done
}

cd "$W"
"$PCAN" synth --out ds --videos 8 --frames 60 --seed 7 --size 160x96 > /dev/null 2>&1
for name in a b; do
    cat > "job_$name.yaml" <<YAML
dataset: {format: synth, root: ds}
model: {weights: $ROOT/tests/fixtures/tiny.weights.h5}
output: {archive: out_$name/run.h5}
YAML
    mkdir -p "out_$name"
done

echo "test-slurm (a): 2-rank run through pcan submit"
t0=$SECONDS
id_a=$("$PCAN" submit job_a.yaml --ntasks-per-node 2 --cpus-per-task 1 --time 0:10:00 2>/dev/null)
[[ "$id_a" =~ ^[0-9]+$ ]] || fail "pcan submit printed '$id_a', not a job id"
st=$(wait_job "$id_a" 120) || fail "(a) job $id_a: $st"
echo "  job $id_a: $st($((SECONDS - t0)) s)"
log_a=$(ls out_a/run.h5.*.log)
[[ "$st" == *"JobState=COMPLETED"*"ExitCode=0:0"* ]] || { cat "$log_a"; fail "(a) job $id_a: $st"; }
info=$("$PCAN" info out_a/run.h5)
grep -q '^videos: 8 (8 ok, 0 failed)' <<<"$info" || { echo "$info"; fail "(a) archive"; }
grep -q '^ranks: 2' <<<"$info" || { echo "$info"; fail "(a) not 2 ranks"; }
grep -q '2 ranks x 1 thread' "$log_a" || { cat "$log_a"; fail "(a) threads not from SLURM_CPUS_PER_TASK"; }

echo "test-slurm (b): signalled mid-way, requeued, resumed"
t0=$SECONDS
id_b=$("$PCAN" submit job_b.yaml --ntasks-per-node 2 --cpus-per-task 1 --time 0:10:00 2>/dev/null)
# Signal once two videos are committed to the spool (and the run is still going).
for _ in $(seq 600); do
    n=$(ls out_b/run.h5.spool 2>/dev/null | grep -c '\.pcr$' || true)
    [ "$n" -ge 2 ] && break
    sleep 0.1
done
[ "$n" -ge 2 ] || fail "(b) no video committed within 60 s"
scancel --signal=USR1 --batch "$id_b"
st=$(wait_job "$id_b" 180) || { cat out_b/run.h5.*.log; fail "(b) job $id_b: $st"; }
echo "  job $id_b: $st($((SECONDS - t0)) s)"
log_b=$(ls out_b/run.h5.*.log)
restarts=$(scontrol show job "$id_b" | tr ' ' '\n' | sed -n 's/^Restarts=//p')
[[ "$st" == *"JobState=COMPLETED"*"ExitCode=0:0"* ]] || { cat "$log_b"; fail "(b) final state $st"; }
[ "$restarts" = 1 ] || { cat "$log_b"; fail "(b) Restarts=$restarts, expected 1"; }
grep -q 'pcan run exited 4' "$log_b" || { cat "$log_b"; fail "(b) the first run did not exit 4"; }
grep -q 'requeueing job' "$log_b" || { cat "$log_b"; fail "(b) no requeue in the log"; }
# The rerun's plan line: "8 videos: K to run, D already done" with D >= 2.
done_n=$(sed -n 's/.*videos: [0-9]* to run, \([0-9]*\) already done.*/\1/p' "$log_b" | tail -1)
[ -n "$done_n" ] && [ "$done_n" -ge 2 ] || { cat "$log_b"; fail "(b) the rerun recomputed committed videos"; }
echo "  rerun resumed with $done_n videos already done"
h5diff out_a/run.h5 out_b/run.h5 /results /results > /dev/null ||
    fail "(b) /results differ between the uninterrupted and the requeued run"
grep -q '^videos: 8 (8 ok, 0 failed)' <<<"$("$PCAN" info out_b/run.h5)" || fail "(b) archive"

echo "test-slurm: all passed"
