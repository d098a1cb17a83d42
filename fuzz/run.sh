#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each one in turn (never two at once),
# at nice 19, for N seconds:
#
#   fuzz/run.sh [SECONDS [TARGET...]]      (make fuzz FUZZ_SECONDS=N)
#
# SECONDS defaults to $FUZZ_SECONDS, else 60; TARGET to all six.
# Each run starts from the committed seeds (fuzz/corpus/<target>, read only)
# plus the working corpus it keeps growing in $OUT/corpus/<target>; crashes
# go to $OUT/artifacts/<target>/, the full log to $OUT/logs/<target>-<time>.log,
# and one summary line per run is appended to $OUT/runs.tsv. Exits non-zero when
# a target failed (crash, leak, OOM, timeout).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
SECS=${1:-${FUZZ_SECONDS:-60}}
[ $# -gt 0 ] && shift
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_op_decode fuzz_sync_decode fuzz_receive fuzz_records fuzz_session_decode fuzz_session)

nice -n 19 make -s -C "$ROOT/fuzz" OUT="$OUT" -j "$(nproc 2>/dev/null || echo 2)" || exit 1
mkdir -p "$OUT/logs"
[ -f "$OUT/runs.tsv" ] ||
    printf 'date\ttarget\tseconds\texecs\texit\tcorpus_files\tpeak_rss_mb\n' > "$OUT/runs.tsv"

status=0
for t in "${TARGETS[@]}"; do
    work="$OUT/corpus/$t"
    art="$OUT/artifacts/$t"
    log="$OUT/logs/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
    mkdir -p "$work" "$art"
    # fuzz_receive and fuzz_session keep their LMDB store on tmpfs.
    shm=$(mktemp -d "${FUZZ_SHM:-/dev/shm}/msglog-fuzz-run-XXXXXX" 2>/dev/null || mktemp -d)
    echo "== $t: ${SECS}s (log: $log)"
    start=$(date +%s)
    FUZZ_RECEIVE_DIR="$shm" nice -n 19 "$OUT/$t" \
        -max_total_time="$SECS" -malloc_limit_mb=64 -rss_limit_mb=2048 \
        -max_len=16384 -timeout=60 -print_final_stats=1 \
        -artifact_prefix="$art/" "$work" "$ROOT/fuzz/corpus/$t" > "$log" 2>&1
    rc=$?
    end=$(date +%s)
    rm -rf "$shm"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    files=$(find "$work" -type f | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$((end - start))" \
        "${execs:-?}" "$rc" "$files" "${rss:-?}" >> "$OUT/runs.tsv"
    echo "   $((end - start))s, ${execs:-?} executions, exit $rc, working corpus $files files, peak RSS ${rss:-?} MB"
    if [ $rc -ne 0 ]; then
        status=1
        echo "   FAILED - see $log and $art/"
        grep -E 'ERROR|SUMMARY|fuzz_[a-z_]+: ' "$log" | head -5 | sed 's/^/   /'
    fi
done
exit $status
