#!/usr/bin/env bash
# quern bin NAME:BINS (the range from the data) on Parquet files written by
# DuckDB, an independent writer whose column chunk statistics quern uses
# instead of reading the values: the edges must be those of the same
# values read from CSV (no statistics: the data pass) and numpy's
# histogram_bin_edges of the finite values. Columns: float64 in several
# row groups, one whose min is -0.0 (quern's zero bound is +0.0, numpy's
# -0.0: equal edges), float32, int32, uint8 (unsigned order), int64,
# float64 with NaN (DuckDB then writes no bounds) and with +inf (the finite
# max needs the data); two files together; a column of NaN only is an
# error naming the axis.
source "$(dirname "$0")/lib.bash"
bash "$QN_SRC/scripts/setup-node.sh"
cd "$work"
h() { echo "(hash(i + $1) % 1000003)::DOUBLE / 1000003"; }
table() { # table NAME SHIFT: 120000 rows
  echo "CREATE TABLE $1 AS SELECT
    $(h 1) * 8 - 3 + $2 AS x,
    CASE WHEN i = 4242 THEN -0.0::DOUBLE ELSE 0.5 + $(h 2) END AS z,
    ((hash(i + 3) % 20001)::DOUBLE / 64 - 150 + $2)::FLOAT AS f,
    ((hash(i + 4) % 100001)::BIGINT - 50000 + $2)::INTEGER AS n,
    (hash(i + 5) % 256)::UTINYINT AS u,
    (hash(i + 6) % 1000000000000)::BIGINT * 1000 - 500000000000000 AS b,
    CASE WHEN i % 1000 = 7 THEN 'nan'::DOUBLE ELSE $(h 7) + $2 END AS wn,
    CASE WHEN i = 77777 THEN 'inf'::DOUBLE ELSE $(h 8) - $2 END AS wi,
    'nan'::DOUBLE AS allnan
    FROM range(120000) r(i)"
}
node "$QN_SRC/tests/node/sql.mjs" "$(table a 0)" "$(table b 2.5)" \
  "COPY a TO '$work/a.parquet' (FORMAT parquet, ROW_GROUP_SIZE 20000)" \
  "COPY b TO '$work/b.parquet' (FORMAT parquet, ROW_GROUP_SIZE 20000)" \
  "COPY a TO '$work/a.csv' (HEADER)" "COPY b TO '$work/b.csv' (HEADER)" >/dev/null
for col in x z f n u b wn wi; do
  run_quern 0 bin a.parquet -a "$col:10" -o "pq_${col}_a.json" --no-progress
  run_quern 0 bin a.csv -a "$col:10" -o "csv_${col}_a.json" --no-progress
  run_quern 0 bin a.parquet b.parquet -a "$col:10" -o "pq_${col}_ab.json" --no-progress
  run_quern 0 bin a.csv b.csv -a "$col:10" -o "csv_${col}_ab.json" --no-progress
done
check "Parquet statistics, the data pass and numpy give the same edges" /usr/bin/python3 - <<'PY'
import json, sys
import numpy as np
names = open("a.csv").readline().strip().split(",")
data = {s: np.loadtxt(f"{s}.csv", delimiter=",", skiprows=1) for s in "ab"}
bad = 0
for col in ["x", "z", "f", "n", "u", "b", "wn", "wi"]:
    k = names.index(col)
    for files in ["a", "ab"]:
        v = np.concatenate([data[s][:, k] for s in files])
        want = np.histogram_bin_edges(v[np.isfinite(v)], 10)
        pq, csv = ([float(e) for e in json.load(open(f"{kind}_{col}_{files}.json"))["axes"][0]["edges"]]
                   for kind in ("pq", "csv"))
        for what, got in (("Parquet", pq), ("CSV", csv)):
            if not np.array_equal(np.array(got), want):
                print(f"{col} ({files}), {what}: {got} != numpy's {want.tolist()}")
                bad += 1
        if [repr(e) for e in pq] != [repr(e) for e in csv]:  # bit for bit, sign of zero too
            print(f"{col} ({files}): Parquet {pq} != CSV {csv}")
            bad += 1
sys.exit(bad)
PY
run_quern 2 bin a.parquet -a allnan:10 --no-progress
expect_err "allnan" "no finite value"
finish
