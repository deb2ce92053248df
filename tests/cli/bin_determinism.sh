#!/bin/bash
# quern bin: output bytes identical for --threads 1, 2, 7 and for two
# --memory-limits (JSON, CSV and HDF5), on data spread over two files with
# many morsels, so lanes, ordered folds and I/O blocking all vary; the
# 200 x 200 x 7 x 8 grid with a value and a weight (143 MB nominal: above
# 128 MiB) takes the sliced path, one grid that every worker fills.
set -euo pipefail
: "${QUERN:?QUERN must point to the quern binary}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$QUERN" gen sim --rows 1500000 --seed 7 -o "$T/a.h5"
"$QUERN" gen sim --rows 700001 --seed 8 -o "$T/b.h5"
run() { # tag, extra options...
  local tag=$1; shift
  "$QUERN" bin --no-progress "$T/a.h5" "$T/b.h5" -a x:37:0:1 -a y@0,0.1,0.5,0.5,0.75,1 \
    -v v -s mean,std,sum,count,min,max "$@" -o "$T/$tag.json"
  "$QUERN" bin --no-progress "$T/a.h5" "$T/b.h5" -a v:50 -a z:3:0.2:0.9 -w x "$@" \
    -o "$T/$tag.csv"
  "$QUERN" bin --no-progress "$T/a.h5" "$T/b.h5" -a x:10:0:1 -a y:10:0:1 -a z:10:0:1 \
    -v v -s std "$@" -o "$T/$tag.h5"
  local limit=()
  [ "$tag" = m1 ] && limit=(--memory-limit 400M) # the grid takes 150 MB
  "$QUERN" bin --no-progress "$T/a.h5" "$T/b.h5" -a x:200:0:1 -a y:200:0:1 \
    -a z@0,0.1,0.2,0.3,0.5,0.5,0.9,1 -a v:8:-3:3 -v v -w z -s count,mean,std,min,max "$@" \
    "${limit[@]}" -o "$T/$tag-sliced.h5"
}
run t1 --threads 1
run t2 --threads 2
run t7 --threads 7
run m1 --threads 2 --memory-limit 48M
run m2 --threads 7 --memory-limit 4G
fail=0
for tag in t2 t7 m1 m2; do
  for ext in json csv h5 sliced.h5; do
    sep=.
    [ "$ext" = sliced.h5 ] && sep=-
    if ! cmp -s "$T/t1$sep$ext" "$T/$tag$sep$ext"; then
      echo "bin_determinism: $tag.$ext differs from t1.$ext" >&2
      fail=1
    fi
  done
done
# the runs did real work: 2,200,001 rows, a std that is not NaN
grep -q '"rows": 2200001' "$T/t1.json" || { echo "bin_determinism: rows missing" >&2; fail=1; }
[ "$(wc -l < "$T/t1.csv")" -eq 151 ] || { echo "bin_determinism: CSV rows" >&2; fail=1; }
# the sliced grid: 200 * 200 * 7 * 8 cells
/usr/bin/python3 - "$T/t1-sliced.h5" <<'PY' || fail=1
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r")
c = f["count"][...]
assert c.shape == (200, 200, 7, 8), c.shape
assert f.attrs["rows"] == 2200001 and np.isnan(f["mean"][...]).sum() > 0, "rows"
assert (f["std"][...][c > 0] >= 0).all() and (c > 0).sum() > 500000, "stats"
PY
[ $fail -eq 0 ] && echo "bin_determinism: 20 outputs identical across threads and memory limits"
exit $fail
