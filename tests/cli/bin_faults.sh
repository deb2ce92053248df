#!/bin/bash
# quern bin with the Nth budgeted allocation failing (QN_TEST_FAIL_ALLOC=N),
# for every N until the run succeeds: each failure must be a clean exit 1
# with an "out of memory" message and leave no output or temporary file.
set -uo pipefail
: "${QUERN:?QUERN must point to the quern binary}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$QUERN" gen sim --rows 200000 -o "$T/sim.h5" || exit 1
fails=0
for n in $(seq 1 200); do
  QN_TEST_FAIL_ALLOC=$n "$QUERN" bin --no-progress "$T/sim.h5" -a x:10 -a y@0,0.5,1 -v v \
    -s mean,std -o "$T/out.h5" >/dev/null 2>"$T/err"
  rc=$?
  if [ $rc -eq 0 ]; then
    [ -s "$T/out.h5" ] || { echo "FAIL: N=$n succeeded without output" >&2; fails=$((fails + 1)); }
    break
  fi
  if [ $rc -ne 1 ] || ! grep -q "^quern: error: out of memory" "$T/err"; then
    echo "FAIL: N=$n exit $rc: $(cat "$T/err")" >&2
    fails=$((fails + 1))
  fi
  if ls -A "$T" | grep -qE '^out\.h5$|tmp-'; then
    echo "FAIL: N=$n left a file: $(ls -A "$T")" >&2
    fails=$((fails + 1))
  fi
done
[ $rc -eq 0 ] || { echo "FAIL: never succeeded within 200 allocations" >&2; fails=$((fails + 1)); }
echo "bin_faults: $((n - 1)) injected failures, $fails problems"
[ $fails -eq 0 ]
