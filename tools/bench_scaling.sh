#!/bin/bash
# make bench-scaling: the scaling figures of issue 6, for a quiet machine.
#   1. `pcan run` frames/s on 1 and 2 ranks with run.threads_per_rank: 1 on the shipped model
#      (models/pcan-synth-small.h5) over a generated synth dataset sized for ~30-60 s per run on
#      one rank; prints both rates and their ratio (the goal is >= 1.8x).
#   2. `pcan merge` of 2,500 / 5,000 / 10,000 tiny synthetic spool entries (`pcan _spool-synth`)
#      on 1 and 2 ranks: the archive writer's time and the cost per video (linear growth shows as
#      a flat per-video cost).
# Frames/s are pcan run's own figure (frames / wall time of the scheduling phase: no model load,
# no merge). Run from the repository root. Knobs: PCAN, MODEL, BENCH_VIDEOS (12), BENCH_FRAMES
# (150), BENCH_SIZE (320x192), BENCH_MERGE ("2500 5000 10000"), BENCH_DIR (a temp folder, removed).
set -euo pipefail
PCAN=${PCAN:-bin/pcan}
MODEL=${MODEL:-models/pcan-synth-small.h5}
VIDEOS=${BENCH_VIDEOS:-12}
FRAMES=${BENCH_FRAMES:-150}
SIZE=${BENCH_SIZE:-320x192}
MERGE_SIZES=${BENCH_MERGE:-2500 5000 10000}
[ -x "$PCAN" ] || { echo "bench-scaling: $PCAN is missing (make)" >&2; exit 2; }
[ -s "$MODEL" ] || { echo "bench-scaling: $MODEL is missing" >&2; exit 2; }
PCAN=$(realpath "$PCAN")
MODEL=$(realpath "$MODEL")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_rmaps_base_oversubscribe=1
if [ -n "${BENCH_DIR:-}" ]; then
    work=$BENCH_DIR
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/pcan-bench-scaling.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
cores=$(nproc)
echo "bench-scaling: $(uname -n), $cores cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$cores" -lt 2 ] && echo "bench-scaling: warning: fewer than 2 cores; the ratio means nothing"

# ---- 1. run scaling --------------------------------------------------------------------------
echo "bench-scaling: $VIDEOS synth videos of $FRAMES frames at $SIZE, model $(basename "$MODEL")"
"$PCAN" synth --out "$work/data" --videos "$VIDEOS" --frames "$FRAMES" --seed 606 \
    --size "$SIZE" --difficulty normal > /dev/null 2>&1
declare -A fps
for np in 1 2; do
    cat > "$work/run$np.yaml" <<YAML
dataset: {format: synth, root: data}
model: {weights: $MODEL}
output: {archive: out$np/run.h5}
run: {threads_per_rank: 1, resume: false, progress_every: 3600}
metrics: {enabled: false}
YAML
    mkdir -p "$work/out$np"
    log=$work/run$np.log
    if ! (cd "$work" && mpirun -np "$np" "$PCAN" run "run$np.yaml") > "$log" 2>&1; then
        echo "bench-scaling: pcan run on $np rank(s) failed:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    # "pcan run: ran V videos (F failed), N frames in S s"
    line=$(grep -m1 'pcan run: ran ' "$log")
    frames=$(sed -E 's/.* ([0-9]+) frames in ([0-9.]+) s.*/\1/' <<< "$line")
    secs=$(sed -E 's/.* ([0-9]+) frames in ([0-9.]+) s.*/\2/' <<< "$line")
    fps[$np]=$(awk -v f="$frames" -v s="$secs" 'BEGIN { printf "%.2f", f / s }')
    printf 'run  %d rank%s x 1 thread: %5d frames in %7.2f s = %7.2f frames/s\n' "$np" \
        "$([ "$np" = 1 ] && echo ' ' || echo s)" "$frames" "$secs" "${fps[$np]}"
done
awk -v a="${fps[1]}" -v b="${fps[2]}" \
    'BEGIN { printf "run  scaling 2 ranks / 1 rank: %.2fx (goal >= 1.8x)\n", b / a }'

# ---- 2. merge scaling ------------------------------------------------------------------------
mkdir -p "$work/empty"
for n in $MERGE_SIZES; do
    d=$work/merge$n
    mkdir -p "$d"
    cat > "$d/job.yaml" <<YAML
dataset: {format: videos, root: ../empty}
model: {weights: $MODEL}
output: {archive: merge.h5}
metrics: {enabled: false}
YAML
    "$PCAN" _spool-synth "$d/job.yaml" --videos "$n" > /dev/null
    for np in 1 2; do
        rm -f "$d/merge.h5"
        log=$d/merge$np.log
        t0=$(date +%s.%N)
        if ! (cd "$d" && mpirun -np "$np" "$PCAN" merge job.yaml) > "$log" 2>&1; then
            echo "bench-scaling: pcan merge of $n entries on $np rank(s) failed:" >&2
            tail -20 "$log" >&2
            exit 1
        fi
        wall=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
        # "pcan merge: merge.h5: V videos (F failed), R rows, S s on N ranks"
        secs=$(grep -m1 -oE '[0-9.]+ s on [0-9]+ ranks' "$log" | cut -d' ' -f1)
        awk -v n="$n" -v np="$np" -v s="$secs" -v w="$wall" 'BEGIN {
            printf "merge %6d videos on %d rank%s: %7.2f s (%.3f ms/video); %.2f s wall with mpirun\n",
                   n, np, np == 1 ? " " : "s", s, 1000 * s / n, w }'
    done
done
