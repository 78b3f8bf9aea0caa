#!/bin/bash
# tests/slurm/run.sh — pcan on a live single-node Slurm (make test-slurm; root, slurm-wlm+munge).
#   (a) pcan submit of a 2-rank run of a small synth job; the archive checked with pcan info
#   (b) the same job signalled mid-way (scancel --signal=USR1 --batch): ranks stop after their
#       frame, the script requeues, the rerun resumes from the spool; the final results equal
#       (a)'s and the log shows the committed videos were not run again
#   (c) a 3-point sweep (pcan sweep submit: one job array, at most 2 points at a time; point 1
#       signalled mid-way requeues and resumes like (b)) and its report (pcan sweep report: CSV
#       with 3 rows, Markdown, SVG)
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
trap 'exit 143' TERM # a killed test (CI timeout) still stops its daemons through the EXIT trap
trap 'exit 130' INT
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

echo "test-slurm (c): a 3-point sweep as a job array, and its report"
t0=$SECONDS
cat > sweep_c.yaml <<YAML
base: job_a.yaml
name: sw
output: out_c
cluster: {ntasks_per_node: 1, cpus_per_task: 1, time: "0:10:00"}
grid:
  model.test.score_thr: [0.3, 0.5, 0.7]
YAML
mkdir -p out_c
"$PCAN" sweep expand sweep_c.yaml > /dev/null || fail "(c) sweep expand"
ids_c=$("$PCAN" sweep submit sweep_c.yaml --max-parallel 2 2>/dev/null)
[[ "$ids_c" =~ ^[0-9]+$ ]] || fail "(c) pcan sweep submit printed '$ids_c', not one job id"
grep -q '^#SBATCH --array=0-2%2$' out_c/sw.sbatch || fail "(c) array spec in out_c/sw.sbatch"
# Point 1 is signalled once two of its videos are committed: its array task requeues itself and
# resumes from its own spool, as a plain job does in (b).
for _ in $(seq 600); do
    n=$(ls out_c/sw-1.h5.spool 2>/dev/null | grep -c '\.pcr$' || true)
    [ "$n" -ge 2 ] && break
    sleep 0.1
done
[ "$n" -ge 2 ] || fail "(c) point 1 committed no video within 60 s"
scancel --signal=USR1 --batch "${ids_c}_1"
for k in 0 1 2; do
    st=$(wait_job "${ids_c}_$k" 180) || { cat out_c/sw-$k.*.log; fail "(c) task $k: $st"; }
    [[ "$st" == *"JobState=COMPLETED"*"ExitCode=0:0"* ]] || { cat out_c/sw-$k.*.log; fail "(c) task $k: $st"; }
done
echo "  job array $ids_c: 3 points COMPLETED ($((SECONDS - t0)) s)"
log_c1=$(ls out_c/sw-1.*.log)
restarts=$(scontrol show job "${ids_c}_1" | tr ' ' '\n' | sed -n 's/^Restarts=//p')
[ "$restarts" = 1 ] || { cat "$log_c1"; fail "(c) point 1: Restarts=$restarts, expected 1"; }
grep -q 'sweep point 1 exited 4' "$log_c1" && grep -q 'requeueing job' "$log_c1" ||
    { cat "$log_c1"; fail "(c) point 1 was not stopped and requeued"; }
done_n=$(sed -n 's/.*videos: [0-9]* to run, \([0-9]*\) already done.*/\1/p' "$log_c1" | tail -1)
[ -n "$done_n" ] && [ "$done_n" -ge 2 ] || { cat "$log_c1"; fail "(c) point 1 recomputed committed videos"; }
echo "  point 1 was signalled, requeued and resumed with $done_n videos already done"
for k in 0 1 2; do
    grep -q '^videos: 8 (8 ok, 0 failed)' <<<"$("$PCAN" info out_c/sw-$k.h5)" || fail "(c) archive $k"
    grep -q "pcan sweep point $k/3: model.test.score_thr=" out_c/sw-$k.*.log || fail "(c) log $k"
done
"$PCAN" sweep report out_c/sw-0.h5 out_c/sw-1.h5 out_c/sw-2.h5 --out out_c/report 2>/dev/null ||
    fail "(c) pcan sweep report"
head -1 out_c/report/report.csv | grep -q '^archive,point,model.test.score_thr,ranks,threads,videos,failed,frames,seconds,fps,efficiency,HOTA,' ||
    { cat out_c/report/report.csv; fail "(c) report.csv header"; }
[ "$(wc -l < out_c/report/report.csv)" = 4 ] || { cat out_c/report/report.csv; fail "(c) report.csv rows"; }
for k in 0 1 2; do
    grep -q "^out_c/sw-$k.h5,$k,0\.[357],1,1,8,0,480," out_c/report/report.csv ||
        { cat out_c/report/report.csv; fail "(c) report.csv row $k"; }
done
[ "$(grep -c '^| [0-2] | 0\.[357] | 1 x 1 | 480 |' out_c/report/report.md)" = 3 ] ||
    { cat out_c/report/report.md; fail "(c) report.md"; }
[ "$(grep -c 'class="point"' out_c/report/plot.svg)" = 3 ] || fail "(c) plot.svg points"
grep -q '<title>HOTA against model.test.score_thr</title>' out_c/report/plot.svg || fail "(c) plot.svg title"

echo "test-slurm: all passed"
