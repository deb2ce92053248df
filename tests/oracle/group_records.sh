#!/usr/bin/env bash
# quern group --format tfrecord and arrayrecord read by independent code:
# every TFRecord record's framing walked in Python with both CRCs checked by
# python3-crc32c, every ArrayRecord file walked by a reader written from
# the format description (tests/node/arrayrecord_walk.mjs: every block
# header, chunk header and data hash checked with npm highwayhasher, the
# padding, the postscript, the footer index), each record parsed by
# python3-protobuf (messages compiled by protoc from src/io/example.proto),
# agree row by row with the Parquet output of the same run as DuckDB reads
# it (floats narrowed to float32 by numpy). Edge-heavy data written by
# DuckDB: negative and string keys, NaN, infinities, -0, doubles beyond
# float32, float32 input, int8, int32, uint64 above 2^63, booleans, empty
# and non-ASCII strings, ms/us/ns timestamps, dates, one key of 30000 rows
# (a record over many 64 KiB blocks); ArrayRecord also with 7 records a
# chunk. Between them the files put block headers inside chunk headers.
source "$QN_SRC/tests/cli/lib.bash"
cd "$work"
sql() { node "$QN_SRC/tests/node/sql.mjs" "$@"; }
py=/usr/bin/python3
mkdir pb
protoc -I"$QN_SRC/src/io" --python_out=pb example.proto

sql "COPY (SELECT CASE WHEN i < 30000 THEN 777777 ELSE (hash(i) % 4000)::BIGINT - 2000 END AS k,
         (hash(i * 7) % 100)::DOUBLE AS t,
         CASE i % 50 WHEN 0 THEN 'nan'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE WHEN 2 THEN '-inf'::DOUBLE
                     WHEN 3 THEN -0.0::DOUBLE WHEN 4 THEN 1e300 WHEN 5 THEN 1e-45 WHEN 6 THEN 3.4028235e38
                     WHEN 7 THEN 0.1 ELSE i * 0.37 - 1234.5 END AS v,
         (i * 0.5 - 7)::FLOAT AS f,
         ((i % 2001) - 1000)::INTEGER AS q,
         ((i % 255) - 127)::TINYINT AS i8,
         CASE WHEN i % 3 = 0 THEN (18446744073709551615 - i)::UBIGINT ELSE i::UBIGINT END AS u,
         (i % 3 = 0) AS b,
         CASE i % 7 WHEN 0 THEN '' WHEN 1 THEN 'ünïcode-' || i::VARCHAR ELSE 'r' || i::VARCHAR END AS s,
         make_timestamp(1700000000000000 + i * 1000)::TIMESTAMP_MS AS ms,
         make_timestamp(1700000000000000 + i) AS us,
         make_timestamp(1700000000000000 + i)::TIMESTAMP_NS AS ns,
         (DATE '2020-01-01' + (i % 1000)::INTEGER) AS d
       FROM range(0, 160000) r(i)) TO 'in.parquet' (FORMAT parquet)" \
    "COPY (SELECT 'key-' || (hash(i) % 3000)::VARCHAR AS k, (i % 10)::BIGINT AS t, i::DOUBLE AS v
       FROM range(0, 60000) r(i)) TO 'str.parquet' (FORMAT parquet)" >/dev/null

# the list columns: name, how DuckDB's rows are dumped, how Python compares
node_spec="t:num v:num f:num q:num i8:num u:num b:num s:str ms:ts_ms us:ts_us ns:ts_ns d:date"
py_spec="k:key_int,t:float,v:float,f:float,q:num,i8:num,u:u64,b:num,s:str,ms:num,us:num,ns:num,d:num"
run() { # FORMAT DIR [options...]
  local fmt=$1 dir=$2; shift 2
  run_quern 0 group in.parquet --key k --order t -o "$dir" --split train=0.8,test=0.2 --shards 2 \
    --format "$fmt" "$@"
  check "$dir: quern verify" "$QUERN" verify "$dir"
}
run parquet P
run tfrecord T
run arrayrecord A
run arrayrecord G --codec group_size:7

inheader=0
for f in P/*.parquet; do
  b=$(basename "$f" .parquet)
  # shellcheck disable=SC2086
  node "$QN_SRC/tests/node/group_rows.mjs" "$f" k $node_spec >"$b.jsonl"
  node "$QN_SRC/tests/node/arrayrecord_walk.mjs" "A/$b.array_record" >"$b.A.json" ||
    { echo "FAIL: the walker refuses A/$b.array_record"; fails=$((fails + 1)); }
  node "$QN_SRC/tests/node/arrayrecord_walk.mjs" "G/$b.array_record" >"$b.G.json" ||
    { echo "FAIL: the walker refuses G/$b.array_record"; fails=$((fails + 1)); }
  check "$b: TFRecord and ArrayRecord records = DuckDB's rows of the Parquet file" \
    $py "$QN_SRC/tests/oracle/group_records.py" pb "$b.jsonl" "$py_spec" \
    "T/$b.tfrecord" "$b.A.json" "$b.G.json"
  inheader=$((inheader + $($py -c "import json,sys; print(sum(json.load(open(f))['inHeader'] for f in sys.argv[1:]))" "$b.A.json" "$b.G.json")))
done
check "block headers fell inside chunk headers ($inheader times)" test "$inheader" -gt 0
check "7 records a chunk, as the footer says" $py -c "
import json
w = json.load(open('train-00000-of-00002.G.json'))
assert w['options'] == 'group_size:7,transpose:false,pad_to_block_boundary:false,uncompressed,max_parallelism:1', w['options']
assert w['chunks'] == (len(w['records']) + 6) // 7, (w['chunks'], len(w['records']))
a = json.load(open('train-00000-of-00002.A.json'))
assert a['chunks'] == len(a['records']) and a['inData'] > 0"
check "manifest: the float64 lists narrowed (not the float32 one)" $py -c "
import json; m = json.load(open('T/manifest.json')); assert m['narrowed_to_float32'] == ['t', 'v'], m"

# string keys
for fmt in parquet tfrecord arrayrecord; do
  run_quern 0 group str.parquet --key k --order t -o "S$fmt" --format "$fmt"
done
node "$QN_SRC/tests/node/group_rows.mjs" Sparquet/all-00000-of-00001.parquet k t:num v:num >s.jsonl
node "$QN_SRC/tests/node/arrayrecord_walk.mjs" Sarrayrecord/all-00000-of-00001.array_record >s.A.json
check "string keys: records = DuckDB's rows" $py "$QN_SRC/tests/oracle/group_records.py" pb s.jsonl \
  "k:key_str,t:num,v:float" Stfrecord/all-00000-of-00001.tfrecord s.A.json
finish
