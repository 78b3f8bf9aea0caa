#!/bin/bash
# Runs every test program in DIR and every tests/test_*.sh, each in its own process with a
# timeout, and ends with one line "N passed, N failed". Exit 77 from a test means skipped.
#   PCAN_TEST_TIMEOUT  seconds per test (default 600)
#   PCAN_TEST_FILTER   only run tests whose name contains this string
set -u
dir=${1:?usage: run.sh TEST_BIN_DIR}
timeout_s=${PCAN_TEST_TIMEOUT:-600}
filter=${PCAN_TEST_FILTER:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's libraries have no frame pointers: its allocations are only recognised (and
# suppressed by tests/lsan.supp) with the slow unwinder.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$dir/logs
mkdir -p "$logdir"
passed=0 failed=0 skipped=0 failures=()
tests=()
for t in "$dir"/test_*; do [ -x "$t" ] && [ -f "$t" ] && [[ $t != *.d ]] && tests+=("$t"); done
for t in tests/test_*.sh; do [ -f "$t" ] && tests+=("$t"); done
for t in "${tests[@]}"; do
    name=$(basename "$t")
    [ -n "$filter" ] && [[ $name != *"$filter"* ]] && continue
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/pcan-test.XXXXXX")
    start=$(date +%s.%N)
    if [[ $t == *.sh ]]; then
        PCAN_TEST_TMP=$tmp timeout -k 10 "$timeout_s" bash "$t" >"$logdir/$name.log" 2>&1
    else
        PCAN_TEST_TMP=$tmp timeout -k 10 "$timeout_s" "$t" >"$logdir/$name.log" 2>&1
    fi
    rc=$?
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
    rm -rf "$tmp"
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1)); printf '  PASS  %-32s %6ss\n' "$name" "$secs"
    elif [ $rc -eq 77 ]; then
        skipped=$((skipped + 1))
        printf '  SKIP  %-32s %6ss  %s\n' "$name" "$secs" "$(grep -m1 '^SKIP' "$logdir/$name.log")"
    else
        failed=$((failed + 1)); failures+=("$name")
        [ $rc -eq 124 ] && why="timeout after ${timeout_s}s" || why="exit $rc"
        printf '  FAIL  %-32s %6ss  (%s)\n' "$name" "$secs" "$why"
        tail -n 30 "$logdir/$name.log" | sed 's/^/        | /'
    fi
done
[ $skipped -gt 0 ] && echo "($skipped skipped)"
[ $failed -gt 0 ] && echo "failed: ${failures[*]} (logs in $logdir)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
