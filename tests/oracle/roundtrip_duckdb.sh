#!/usr/bin/env bash
# Parquet -> HDF5 -> Parquet and Parquet -> CSV -> Parquet give back the
# table, as DuckDB sees it: the same columns in the same order with the
# same types (DESCRIBE) and the same Parquet physical and logical types
# (timestamp units included, parquet_schema), and the same rows, as bags
# (EXCEPT ALL both ways) and in order (POSITIONAL JOIN). Two tables:
#  - `quern gen measurements` output (int64, timestamp[us], float64,
#    int32, string). CSV has one integer type: its int32 `quality` comes
#    back int64 (as DuckDB's read_csv would read it), the one difference
#    the CSV trip is allowed;
#  - a table DuckDB writes, with NULLs in every column: int64, float64
#    (NaN, +-inf, -0.0 and 1e-300 too), timestamps in ms, us and ns
#    (before 1970 too), date, boolean, string (empty, quotes, commas,
#    newlines, UTF-8).
source "$QN_SRC/tests/cli/lib.bash"
cd "$work"
sql() { node "$QN_SRC/tests/node/sql.mjs" "$@"; }

# Column names and DuckDB types in order, and per column the Parquet
# physical type, timestamp unit (writers spell it in the logical or the
# converted type) and repetition, as one line of text each.
schema() {
  echo "(SELECT string_agg(column_name || ' ' || column_type, ', ') FROM (DESCRIBE SELECT * FROM '$1')) AS ${2}_types,
        (SELECT string_agg(name || ' ' || type || ' ' || repetition_type || ' ' || CASE
           WHEN converted_type = 'TIMESTAMP_MILLIS' OR logical_type LIKE '%MILLIS=Milli%' THEN 'ms'
           WHEN converted_type = 'TIMESTAMP_MICROS' OR logical_type LIKE '%MICROS=Micro%' THEN 'us'
           WHEN logical_type LIKE '%NANOS=Nano%' THEN 'ns' ELSE '-' END, ', ')
         FROM parquet_schema('$1') WHERE type IS NOT NULL) AS ${2}_parquet"
}

# same_table A B [FROM TO ...]: B is table A, in the same order; FROM ->
# TO are the only changes of A's schema texts allowed (a widening)
same_table() {
  local a=$1 b=$2 got
  shift 2
  got=$(sql "SELECT $(schema "$a" a), $(schema "$b" b), (SELECT count(*) FROM '$a') AS n,
                    (SELECT count(*) FROM (SELECT * FROM '$a' EXCEPT ALL SELECT * FROM '$b')) AS a_not_b,
                    (SELECT count(*) FROM (SELECT * FROM '$b' EXCEPT ALL SELECT * FROM '$a')) AS b_not_a,
                    (SELECT count(*) FROM '$a' x POSITIONAL JOIN '$b' y WHERE x IS DISTINCT FROM y) AS moved")
  check "$a -> $b: $got" /usr/bin/python3 - "$got" "$rows" "$@" <<'PY'
import json, sys
d = json.loads(sys.argv[1])[0]
n, edits = sys.argv[2], sys.argv[3:]
for k in ("types", "parquet"):
    want = d["a_" + k]
    for old, new in zip(edits[::2], edits[1::2]):
        want = want.replace(old, new)
    assert want == d["b_" + k], (k, want, d["b_" + k])
assert (d["n"], d["a_not_b"], d["b_not_a"], d["moved"]) == (n, "0", "0", "0"), d
PY
}

rows=200003
run_quern 0 gen measurements --rows $rows --keys 8000 --seed 11 -o m.parquet -q
run_quern 0 convert m.parquet -o m.h5 -q
run_quern 0 convert m.h5 -o m_h5.parquet -q
same_table m.parquet m_h5.parquet
run_quern 0 convert m.parquet -o m.csv -q
run_quern 0 convert m.csv -o m_csv.parquet -q
check "quality is int32 before the CSV trip" grep -q '"column_name":"quality","column_type":"INTEGER"' <<<"$(sql "DESCRIBE SELECT * FROM 'm.parquet'")"
same_table m.parquet m_csv.parquet "quality INTEGER" "quality BIGINT" "quality INT32" "quality INT64"

sql "COPY (SELECT
  CASE WHEN i % 7 = 3 THEN NULL ELSE (i * 7919 - 800000000) * (i % 5 - 2) END::BIGINT AS i64,
  CASE WHEN i % 11 = 4 THEN NULL WHEN i % 1000 = 1 THEN 'nan'::DOUBLE WHEN i % 1000 = 2 THEN 'inf'::DOUBLE
       WHEN i % 1000 = 5 THEN '-inf'::DOUBLE WHEN i % 1000 = 6 THEN -0.0::DOUBLE WHEN i % 1000 = 8 THEN 1e-300
       ELSE sin(i) * 10 ^ (i % 30 - 15) END AS f64,
  CASE WHEN i % 13 = 5 THEN NULL ELSE TIMESTAMP '1969-07-20 20:17:40' + to_microseconds(i * 1234567891) END AS ts_us,
  CASE WHEN i % 17 = 6 THEN NULL ELSE (TIMESTAMP '1900-01-01' + to_milliseconds(i * 86399999))::TIMESTAMP_MS END AS ts_ms,
  CASE WHEN i % 19 = 7 THEN NULL ELSE make_timestamp_ns((i - 100000) * 12345678901234) END AS ts_ns,
  CASE WHEN i % 23 = 8 THEN NULL ELSE DATE '1970-01-01' + (i - 100000)::INTEGER END AS d,
  CASE WHEN i % 29 = 9 THEN NULL ELSE i % 3 = 0 END AS b,
  CASE WHEN i % 31 = 10 THEN NULL WHEN i % 31 = 11 THEN '' WHEN i % 31 = 12 THEN 'a,b \"q\"' || chr(10) || 'line ' || i
       WHEN i % 31 = 13 THEN 'café ☕ ' || i WHEN i % 31 = 14 THEN '  spaced  ' ELSE 'k' || i END AS s
  FROM range($rows) t(i)) TO 'n.parquet' (FORMAT parquet)" >/dev/null
run_quern 0 convert n.parquet -o n.h5 -q
run_quern 0 convert n.h5 -o n_h5.parquet -q
same_table n.parquet n_h5.parquet
run_quern 0 convert n.parquet -o n.csv -q
run_quern 0 convert n.csv -o n_csv.parquet -q
same_table n.parquet n_csv.parquet
specials() {
  sql "SELECT count(*) FILTER (WHERE s IS NULL) AS null_s, count(*) FILTER (WHERE s = '') AS empty_s,
              count(*) FILTER (WHERE isnan(f64)) AS nan, count(*) FILTER (WHERE f64 = 0 AND signbit(f64)) AS neg0,
              count(*) FILTER (WHERE b IS NULL) AS null_b, count(*) FILTER (WHERE ts_ns IS NULL) AS null_ns
       FROM '$1'"
}
want=$(specials n.parquet)
check "the table has what the CSV trip must keep: $want" test "$want" = '[{"null_s":"6452","empty_s":"6452","nan":"183","neg0":"182","null_b":"6897","null_ns":"10527"}]'
check "nulls, empty strings, NaN and -0.0 survive the CSV trip" test "$(specials n_csv.parquet)" = "$want"
finish
