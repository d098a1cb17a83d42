#!/bin/sh
# Runs the default test suite RUNS times in a row (default 5) on a fresh
# clone of this repository's HEAD while a second fresh clone runs it in a
# loop beside it: two `make test` at once on the machine's cores, the load
# under which a test that depends on timing fails. Prints one line per run
# and a summary; exits 1 if any run failed. Logs stay in the printed folder.
#
#   scripts/test-under-load.sh [RUNS]
set -u
runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/msglog-load-XXXXXX")
git clone -q "$root" "$work/main" && git clone -q "$root" "$work/beside" || exit 1
# The clones' tests read the conformance contract beside the project, as a
# checkout does (../shared); link it when this checkout has one.
[ -d "$root/../shared" ] && ln -s "$root/../shared" "$work/shared"
echo "test-under-load: $runs runs of make test in $work/main, another make test looping in $work/beside"
(cd "$work/main" && make build >"$work/build-main.log" 2>&1) || { echo "build failed: $work/build-main.log"; exit 1; }
(cd "$work/beside" && make build >"$work/build-beside.log" 2>&1) || { echo "build failed: $work/build-beside.log"; exit 1; }
(
  i=0
  while [ ! -e "$work/stop" ]; do
    i=$((i + 1))
    (cd "$work/beside" && make test >"$work/beside-$i.log" 2>&1) && r=passed || r=FAILED
    echo "beside run $i: $r" >>"$work/beside.txt"
  done
) &
beside=$!
failed=0
n=1
while [ "$n" -le "$runs" ]; do
  start=$(date +%s)
  if (cd "$work/main" && make test >"$work/run-$n.log" 2>&1); then r=passed; else r=FAILED; failed=$((failed + 1)); fi
  echo "run $n: $r in $(( $(date +%s) - start )) s ($(grep -h 'tests passed' "$work/run-$n.log" | tail -1))"
  n=$((n + 1))
done
touch "$work/stop"
wait "$beside"
echo "beside: $(grep -c passed "$work/beside.txt") passed, $(grep -c FAILED "$work/beside.txt") failed"
echo "test-under-load: $((runs - failed)) of $runs runs passed under load; logs in $work"
[ "$failed" -eq 0 ]
