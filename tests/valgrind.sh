#!/bin/bash
# make valgrind — every single-process pcan command on small test inputs under memcheck:
# no definite or indirect leak and no memory error may come from pcan's own code. Open MPI's
# one-time allocations (MPI_Init, dlopen'ed components) are suppressed (tests/valgrind.supp).
# Slow (minutes: oneDNN's JIT and MPI_Init under memcheck); not part of make test.
#   $PCAN  the binary under test (bin/pcan)
set -u
PCAN=${PCAN:-bin/pcan}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/pcan-valgrind.XXXXXX")
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99
    --suppressions="$ROOT/tests/valgrind.supp" --num-callers=30)
failed=0
check() { # name, expected exit code, command...
    local name=$1 want=$2; shift 2
    local t0=$SECONDS rc
    "${VG[@]}" "$@" >"$W/$name.log" 2>&1
    rc=$?
    if [ $rc -eq "$want" ]; then
        printf '  PASS  %-10s %4ds\n' "$name" $((SECONDS - t0))
    else
        printf '  FAIL  %-10s %4ds (exit %d, expected %d)\n' "$name" $((SECONDS - t0)) $rc "$want"
        grep '^==' "$W/$name.log" | head -60 | sed 's/^/        | /'
        failed=$((failed + 1))
    fi
}
"$PCAN" synth --out "$W/ds" --videos 2 --frames 5 --seed 3 --size 160x96 >/dev/null 2>&1 ||
    { echo "valgrind: pcan synth failed" >&2; exit 1; }
cat >"$W/job.yaml" <<JOB
dataset: {format: synth, root: ds}
model: {weights: $ROOT/tests/fixtures/tiny.weights.h5}
output: {archive: out.h5, exports: [{format: kitti-mots, dir: kitti}]}
run: {threads_per_rank: 1}
JOB
video=$(ls "$W/ds/videos" | head -1)
check synth 0 "$PCAN" synth --out "$W/ds2" --videos 1 --frames 3 --seed 4 --size 96x64
check check 0 "$PCAN" check "$W/job.yaml"
check run 0 "$PCAN" run "$W/job.yaml"
check info 0 "$PCAN" info "$W/out.h5"
check eval 0 "$PCAN" eval --gt "$W/ds" --format synth --results "$W/out.h5" --json "$W/ev.json" \
    --summaries "$W"
check export 0 "$PCAN" export "$W/out.h5" --format mots20 --out "$W/mots20"
check exportvis 0 "$PCAN" export "$W/out.h5" --format youtube-vis --out "$W/vis"
check sweeprep 0 "$PCAN" sweep report "$W/out.h5" --out "$W/rep"
check render 0 "$PCAN" render "$W/out.h5" --video "${video%.mp4}" --out "$W/r.mp4" \
    --contact-sheet "$W/r.png"
check infer 0 "$PCAN" infer "$W/ds/videos/$video" --weights "$ROOT/tests/fixtures/tiny.weights.h5" \
    --out "$W/one.h5" --threads 1 --quiet
check badjob 2 "$PCAN" check "$ROOT/tests/data/video" # a bad job: the error path, exit 2
[ $failed -eq 0 ] && echo "valgrind: all clean" || echo "valgrind: $failed failed"
[ $failed -eq 0 ]
