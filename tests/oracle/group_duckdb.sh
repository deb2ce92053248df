#!/usr/bin/env bash
# quern group against DuckDB's own grouping, on edge-heavy data written by
# DuckDB: ties in the order column, NaN and null order values, null keys,
# negative keys, single-row groups and one group of 200k rows, nullable
# value columns, timestamps of each unit, booleans, strings; two input
# files (positions run across them); string keys and int32 keys; no
# --order; a -c subset; CSV and HDF5 inputs of the same rows. DuckDB reads
# every output file back; the expected rows are
#   SELECT k, count(*), list(c ORDER BY missing(order), order, position) ... GROUP BY k
# with position = the row's index in the inputs taken in order. Polars
# reads the same files and agrees. Keys ascend within each file, and each
# key's split is XXH3-64(its bytes, seed) against the cumulative fractions
# (python3-xxhash, an independent implementation).
source "$QN_SRC/tests/cli/lib.bash"
cd "$work"
sql() { node "$QN_SRC/tests/node/sql.mjs" "$@"; }
py=/usr/bin/python3

# ----- inputs -----
# rows of a.parquet then b.parquet: k BIGINT (nulls, negatives, one key of
# 200k rows, many single-row keys), t DOUBLE order (ties, NaN, NULL), v
# nullable DOUBLE, q INT, s nullable VARCHAR, ms/us/ns timestamps, f BOOLEAN
gen_sql() { # $1 = first row, $2 = rows
  cat <<SQL
SELECT CASE WHEN i % 97 = 5 THEN NULL
            WHEN i < $1 + 200000 AND $1 = 0 THEN 424242
            WHEN i % 11 = 0 THEN 5000000 + i
            ELSE (hash(i) % 3000)::BIGINT - 1500 END AS k,
       CASE WHEN i % 13 = 0 THEN NULL WHEN i % 17 = 0 THEN 'NaN'::DOUBLE
            ELSE ((hash(i * 7) % 50)::DOUBLE) END AS t,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 0.25)::DOUBLE END AS v,
       (i % 1000)::INTEGER AS q,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'r' || i::VARCHAR END AS s,
       make_timestamp(1700000000000000 + i * 1000)::TIMESTAMP_MS AS ms,
       make_timestamp(1700000000000000 + i) AS us,
       (make_timestamp(1700000000000000 + i)::TIMESTAMP_NS) AS ns,
       (i % 3 = 0) AS f
FROM range($1, $1 + $2) r(i)
SQL
}
sql "COPY ($(gen_sql 0 260000)) TO 'a.parquet' (FORMAT parquet)" \
    "COPY ($(gen_sql 260000 90000)) TO 'b.parquet' (FORMAT parquet)" \
    "COPY (SELECT 'key-' || (hash(i) % 5000)::VARCHAR || CASE WHEN i % 9 = 0 THEN 'long-suffix-x' ELSE '' END AS k,
                  (i % 10)::BIGINT AS t, i::DOUBLE AS v
           FROM range(0, 120000) r(i)) TO 'str.parquet' (FORMAT parquet)" \
    "COPY (SELECT ((hash(i) % 4000)::INTEGER - 2000) AS k, (i % 4)::INTEGER AS t, i::BIGINT AS v
           FROM range(0, 100000) r(i)) TO 'i32.parquet' (FORMAT parquet)" >/dev/null

# the expected rows from DuckDB: positions across files in the order given
expect() { # $1 = parquet list SQL, $2 = key, $3 = order or "", $4.. = list columns
  local files=$1 key=$2 ord=$3; shift 3
  local o="pos"
  [ -n "$ord" ] && o="($ord IS NULL OR isnan($ord::DOUBLE)), CASE WHEN $ord IS NULL OR isnan($ord::DOUBLE) THEN NULL ELSE $ord END, pos"
  local lists="" c
  for c in "$@"; do lists+=", list($c ORDER BY $o) AS $c"; done
  EXP=("CREATE TABLE src AS SELECT (fi * 1000000000 + file_row_number) AS pos, * EXCLUDE (filename, fi, file_row_number)
          FROM (SELECT *, dense_rank() OVER (ORDER BY filename) - 1 AS fi FROM read_parquet($files, filename=true, file_row_number=true))"
        "CREATE TABLE exp AS SELECT $key, count(*)::BIGINT AS n$lists FROM src WHERE $key IS NOT NULL GROUP BY $key")
}
compare() { # $1 = what, $2 = output dir, then the expect() statements
  local what=$1 dir=$2; shift 2
  local got
  got=$(sql "$@" "CREATE TABLE got AS SELECT * EXCLUDE (filename) FROM read_parquet('$dir/*.parquet', filename=true)" \
    "SELECT (SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL SELECT * FROM exp)) AS extra,
            (SELECT count(*) FROM (SELECT * FROM exp EXCEPT ALL SELECT * FROM got)) AS missing,
            (SELECT count(*) FROM got) AS keys")
  check "$what: DuckDB finds the expected rows ($got)" $py -c "
import json,sys; r=json.loads(sys.argv[1])[0]
assert int(r['extra'])==0 and int(r['missing'])==0 and int(r['keys'])>0, r" "$got"
}
ascending() { # every file of $1 holds its keys in ascending order
  local f bad
  for f in "$1"/*.parquet; do
    bad=$(sql "SELECT count(*) AS b FROM (SELECT $2 AS k, lag($2) OVER (ORDER BY file_row_number) AS p
                FROM read_parquet('$f', file_row_number=true)) WHERE p >= k")
    check "keys ascend in $f ($bad)" grep -q '"b":"\?0"\?' <<<"$bad"
  done
}

cols="t,v,q,s,ms,us,ns,f"
run_quern 0 group a.parquet b.parquet --key k --order t -o out1 --split train=0.8,test=0.2 --seed 11 -t 2
expect "['a.parquet','b.parquet']" k t t v q s ms us ns f
compare "two files, every column" out1 "${EXP[@]}"
ascending out1 k
check "null keys counted" $py -c "
import json; m=json.load(open('out1/manifest.json'))
assert m['null_key_rows']==sum(1 for i in range(350000) if i%97==5), m['null_key_rows']
assert m['rows']==350000 and sum(s['rows'] for s in m['splits'])+m['null_key_rows']==350000
big=[s for s in m['splits']]; assert m['groups']==sum(s['groups'] for s in m['splits'])"
# each key's split: XXH3-64 of its int64 little-endian bytes with the seed
check "splits are XXH3-64(key, seed) against 0.8" $py - <<PY
import json, subprocess, xxhash, struct
rows = json.loads(subprocess.check_output(['node', '$QN_SRC/tests/node/sql.mjs',
  "SELECT k, regexp_extract(filename, '([a-z]+)-', 1) AS sp FROM read_parquet('out1/*.parquet', filename=true)"]))
t = int(0.8 * 2**64)
for r in rows:
    h = xxhash.xxh3_64_intdigest(struct.pack('<q', int(r['k'])), seed=11)
    want = 'train' if h < t else 'test'
    assert r['sp'] == want, (r, h)
print(len(rows), 'keys')
PY

run_quern 0 group a.parquet b.parquet --key k -c v,s,ns -o out2 --shards 3
expect "['a.parquet','b.parquet']" k "" v s ns
compare "no --order, -c subset, 3 shards" out2 "${EXP[@]}"
ascending out2 k
check "3 shards of 'all'" test -f out2/all-00002-of-00003.parquet

run_quern 0 group str.parquet --key k --order t -o out3
expect "['str.parquet']" k t t v
compare "string keys" out3 "${EXP[@]}"
ascending out3 k
run_quern 0 group i32.parquet --key k --order t -o out4
expect "['i32.parquet']" k t t v
compare "int32 keys" out4 "${EXP[@]}"
check "int32 key type kept" grep -q '"INTEGER"' <<<"$(sql "DESCRIBE SELECT k FROM read_parquet('out4/*.parquet')")"

# CSV and HDF5 inputs of the same (numeric) rows give the same output
run_quern 0 convert a.parquet b.parquet -c k,t,v,q -o ab.csv
run_quern 0 convert a.parquet b.parquet -c k,t,v,q -o ab.h5
run_quern 0 group a.parquet b.parquet --key k --order t -c t,v,q -o outp
run_quern 0 group ab.csv --key k --order t -c t,v,q -o outc
run_quern 0 group ab.h5 --key k --order t -c t,v,q -o outh
expect "['a.parquet','b.parquet']" k t t v q
compare "Parquet input, numeric columns" outp "${EXP[@]}"
for d in outc outh; do
  got=$(sql "SELECT (SELECT count(*) FROM (SELECT k, n, t, v, q FROM read_parquet('$d/*.parquet') EXCEPT ALL
                    SELECT k, n, t, v, q FROM read_parquet('outp/*.parquet'))) AS d")
  check "$d equals the Parquet input's output ($got)" grep -q '"d":"\?0"\?' <<<"$got"
done

# Polars reads the files and agrees with DuckDB on every list
check "Polars agrees with DuckDB" node "$QN_SRC/tests/node/group_polars.mjs" k,n,t,v,q,s \
  out1/train-00000-of-00001.parquet out1/test-00000-of-00001.parquet
check "Polars agrees with DuckDB (string keys)" node "$QN_SRC/tests/node/group_polars.mjs" k,n,t,v \
  out3/all-00000-of-00001.parquet
check "quern verify passes" "$QUERN" verify out1
finish
