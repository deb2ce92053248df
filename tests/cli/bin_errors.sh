#!/bin/bash
# quern bin on bad input: each case must exit with the documented code, say
# what is wrong on stderr ("quern: error: ..." naming the problem) and leave
# no output file (nor a temporary) behind.
set -uo pipefail
: "${QUERN:?QUERN must point to the quern binary}"
T=$(mktemp -d)
trap 'chmod -R u+w "$T"; rm -rf "$T"' EXIT
"$QUERN" gen sim --rows 1000 -o "$T/sim.h5" || exit 1
/usr/bin/python3 - "$T/str.h5" <<'PY' 2>/dev/null || true
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f["x"] = np.arange(10.0)
    f["name"] = np.array([b"a"] * 10)
PY
mkdir "$T/ro" && chmod a-w "$T/ro"
fails=0
n=0
# expect CODE PATTERN -- ARGS...
expect() {
  local code=$1 pattern=$2; shift 3
  n=$((n + 1))
  rm -f "$T"/out.* "$T"/plot.png
  "$QUERN" bin --no-progress "$@" -o "$T/out.json" >"$T/stdout" 2>"$T/stderr"
  local rc=$?
  if [ $rc -ne "$code" ]; then
    echo "FAIL [$*]: exit $rc, want $code; stderr: $(cat "$T/stderr")" >&2
    fails=$((fails + 1))
  elif ! grep -q "^quern: error: .*$pattern" "$T/stderr"; then
    echo "FAIL [$*]: stderr lacks '$pattern': $(cat "$T/stderr")" >&2
    fails=$((fails + 1))
  elif ls -A "$T" | grep -qE '^(out\.json|plot\.png)$|tmp-'; then
    echo "FAIL [$*]: left output behind: $(ls -A "$T")" >&2
    fails=$((fails + 1))
  fi
}
S="$T/sim.h5"
expect 2 "at least 1, got 0"            -- "$S" -a x:0:0:1
expect 2 "LO (2) is greater than HI (1)" -- "$S" -a x:10:2:1
expect 2 "LO and HI must be finite"     -- "$S" -a x:10:0:inf
expect 2 "LO and HI must be finite"     -- "$S" -a x:10:nan:1
expect 2 "non-decreasing.*edge 2"       -- "$S" -a x@0,0.5,0.2,1
expect 2 "edge 1 is NaN"                -- "$S" -a x@0,nan,1
expect 2 "at least 2 edges"             -- "$S" -a x@0.5
expect 2 "column 'nope' not found"      -- "$S" -a nope:10:0:1
expect 2 "column 'w' not found"         -- "$S" -a x:10:0:1 -v v -w w
expect 2 "'name' .* is not numeric"     -- "$T/str.h5" -a name:10:0:1
expect 2 "stat mean needs --value"      -- "$S" -a x:10:0:1 --stat mean
expect 2 "unknown statistic 'median'"   -- "$S" -a x:10:0:1 -v v --stat median
expect 2 "at most 8 axes.*got 9"        -- "$S" -a x:2:0:1 -a y:2:0:1 -a z:2:0:1 -a v:2:0:1 \
  -a x:2:0:1 -a y:2:0:1 -a z:2:0:1 -a v:2:0:1 -a x:2:0:1
expect 2 "given as an axis twice"       -- "$S" -a x:2:0:1 -a x:3:0:1
expect 2 "BINS 'ten' is not an integer" -- "$S" -a x:ten:0:1
expect 2 "expected NAME:BINS:LO:HI"     -- "$S" -a x
expect 3 "memory limit .* too small: the bin grids" -- "$S" -a x:100000:0:1 -a y:100000:0:1 \
  --memory-limit 1G
expect 3 "bin grid is too large"        -- "$S" -a x:1000000:0:1 -a y:1000000:0:1 -a z:1000000:0:1
if [ "$(id -u)" -ne 0 ]; then # root writes anywhere
  expect 1 "plot.*not writable"         -- "$S" -a x:10:0:1 --plot "$T/ro/plot.png"
fi
mkdir "$T/dir.png"
expect 1 "plot.*is a directory"         -- "$S" -a x:10:0:1 --plot "$T/dir.png"
expect 1 "plot.*does not exist"         -- "$S" -a x:10:0:1 --plot "$T/nodir/plot.png"
expect 2 "plot draws 1-D and 2-D"       -- "$S" -a x:2:0:1 -a y:2:0:1 -a z:2:0:1 --plot "$T/plot.png"
expect 1 "cannot read edge file"        -- "$S" -a "x@$T/missing-edges.txt"
# an axis without a finite value cannot take its range from the data
/usr/bin/python3 -c "import h5py,numpy as np; h5py.File('$T/nan.h5','w')['x']=np.array([np.nan,np.inf])"
expect 2 "axis x: no finite value"      -- "$T/nan.h5" -a x:10
# a bad -o is refused before any input is read (here, before the missing
# input is even opened), not after the whole computation
n=$((n + 1))
"$QUERN" bin --no-progress "$T/missing.h5" -a x:10:0:1 -o "$T/out.txt" >/dev/null 2>"$T/stderr"
rc=$?
if [ $rc -ne 2 ] || ! grep -q "^quern: error: -o .*out.txt: unknown output type" "$T/stderr"; then
  echo "FAIL [-o out.txt]: exit $rc, stderr: $(cat "$T/stderr")" >&2
  fails=$((fails + 1))
fi
# a corrupt page in the middle of a sliced job (a 1600 x 1600 grid with a
# value: above 128 MiB) ends it with the reader's error, for any thread
# count (a failure inside a worker: bin_faults.sh)
"$QUERN" gen sim --rows 2000000 --seed 3 -o "$T/c.parquet" --no-progress || exit 1
/usr/bin/python3 -c "
import os, sys
p = sys.argv[1]
with open(p, 'r+b') as f:
    f.seek(int(os.path.getsize(p) * 0.6))
    f.write(b'\xff' * 4096)" "$T/c.parquet"
for t in 1 2 3; do
  n=$((n + 1))
  timeout 120 "$QUERN" bin --no-progress "$T/c.parquet" -a x:1600:0:1 -a y:1600:0:1 -v v \
    -s mean -t $t -o "$T/out.json" 2>"$T/stderr"
  rc=$?
  if [ $rc -ne 1 ] || ! grep -q "^quern: error: .*c.parquet: column .*corrupt" "$T/stderr" ||
    [ -e "$T/out.json" ]; then
    echo "FAIL: corrupt page, sliced grid, -t $t: exit $rc: $(cat "$T/stderr")" >&2
    fails=$((fails + 1))
  fi
done
# an existing output survives a failed run untouched
echo keep > "$T/keep.json"
"$QUERN" bin --no-progress "$S" -a x:0:0:1 -o "$T/keep.json" 2>/dev/null
n=$((n + 1))
if [ "$(cat "$T/keep.json")" != keep ]; then echo "FAIL: existing output was touched" >&2; fails=$((fails + 1)); fi
# and a good run still works from this script (the checks above can pass)
"$QUERN" bin --no-progress "$S" -a x:4:0:1 --plot "$T/plot.png" -o "$T/out.json" 2>"$T/stderr"
n=$((n + 1))
if ! grep -q '"count": \[' "$T/out.json" || [ ! -s "$T/plot.png" ]; then
  echo "FAIL: the good run did not write out.json and plot.png: $(cat "$T/stderr")" >&2
  fails=$((fails + 1))
fi
echo "bin_errors: $n cases, $fails failures"
[ $fails -eq 0 ]
