#!/bin/bash
# quern bin with the Nth budgeted allocation failing (QN_TEST_FAIL_ALLOC=N),
# for every N until the run succeeds: each failure must be a clean exit 1
# with an "out of memory" message and leave no output or temporary file.
set -uo pipefail
: "${QUERN:?QUERN must point to the quern binary}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$QUERN" gen sim --rows 200000 -o "$T/sim.h5" || exit 1
"$QUERN" gen sim --rows 1000000 --seed 3 -o "$T/sim.parquet" --no-progress || exit 1
fails=0
total=0
# a 10 x 2 grid (16 lanes); a 1600 x 1600 one (above 128 MiB: sliced); the
# same on Parquet with 3 threads, where a worker's page buffer fails
# while others wait for that morsel's turns (they must stop: no hang)
for run in "sim.h5 -a x:10 -a y@0,0.5,1" "sim.h5 -a x:1600:0:1 -a y:1600:0:1" \
  "sim.parquet -a x:1600:0:1 -a y:1600:0:1 -t 3"; do
  for n in $(seq 1 200); do
    # shellcheck disable=SC2086 # the words of the run
    set -- $run
    in=$1
    shift
    QN_TEST_FAIL_ALLOC=$n timeout 60 "$QUERN" bin --no-progress "$T/$in" "$@" -v v \
      -s mean,std -o "$T/out.h5" >/dev/null 2>"$T/err"
    rc=$?
    if [ $rc -eq 0 ]; then
      [ -s "$T/out.h5" ] || { echo "FAIL: N=$n succeeded without output" >&2; fails=$((fails + 1)); }
      rm -f "$T/out.h5"
      break
    fi
    if [ $rc -ne 1 ] || ! grep -q "^quern: error: out of memory" "$T/err"; then
      echo "FAIL: $run N=$n exit $rc: $(cat "$T/err")" >&2
      fails=$((fails + 1))
    fi
    if ls -A "$T" | grep -qE '^out\.h5$|tmp-'; then
      echo "FAIL: $run N=$n left a file: $(ls -A "$T")" >&2
      fails=$((fails + 1))
    fi
  done
  [ $rc -eq 0 ] || { echo "FAIL: $run never succeeded within 200 allocations" >&2; fails=$((fails + 1)); }
  total=$((total + n - 1))
done
echo "bin_faults: $total injected failures, $fails problems"
[ $fails -eq 0 ]
