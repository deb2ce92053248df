#!/usr/bin/env bash
# quern stats JSON has the same keys for every column of every format (issue
# 11): `null` too, 0 where the column cannot hold nulls (HDF5, required
# Parquet columns such as every column quern gen writes), the count of nulls
# where it can (CSV, optional Parquet columns); also with --per-file.
source "$(dirname "$0")/lib.bash"
cd "$work"
"$QUERN" gen sim --rows 1000 -o sim.h5 --no-progress
"$QUERN" gen sim --rows 1000 -o sim.parquet --no-progress
"$QUERN" gen measurements --rows 1000 --keys 40 -o meas.parquet --no-progress
printf 'a,b,c\n1,2.5,7\n,3.5,8\n4,,9\n' > nulls.csv
printf 'a,b\n1,2.5\n2,3.5\n' > plain.csv
"$QUERN" convert nulls.csv -o nulls.parquet --no-progress
keys_ok() { # keys_ok FILE.json 'COL=NULLS ...': every column's keys, in order, and null counts
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
want = dict(kv.split("=") for kv in sys.argv[2].split())
keys = ["type", "count", "nan", "null", "min", "max", "sum", "mean", "std", "var"]
for cols in [doc["columns"]] + [f["columns"] for f in doc.get("files", [])]:
    assert sorted(cols) == sorted(want), (sorted(cols), sorted(want))
    for name, c in cols.items():
        assert list(c) == keys, (name, list(c))
    for name, c in doc["columns"].items():
        assert c["null"] == int(want[name]), (name, c["null"], want[name])
PY
}
for f in sim.h5 sim.parquet; do
  run_quern 0 stats "$f" --per-file -o "$f.json"
  check "$f: every key, null 0" keys_ok "$f.json" "x=0 y=0 z=0 v=0"
done
run_quern 0 stats meas.parquet -o meas.json
check "meas.parquet (required columns): null 0" keys_ok meas.json "probe_id=0 ts=0 value=0 quality=0"
run_quern 0 stats plain.csv -o plain.json
check "CSV without nulls: null 0" keys_ok plain.json "a=0 b=0"
for f in nulls.csv nulls.parquet; do
  run_quern 0 stats "$f" --per-file -o "$f.json"
  check "$f: null counted" keys_ok "$f.json" "a=1 b=1 c=0"
done
finish
