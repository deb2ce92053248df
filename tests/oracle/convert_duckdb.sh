#!/usr/bin/env bash
# quern convert and quern gen measurements, checked by independent tools:
# DuckDB reads every Parquet file quern writes (every codec) and finds every
# value equal to the source; HDF5 -> Parquet -> HDF5 round-trips exactly
# (numpy); CSV output parses back (numpy) to the same doubles; the generated
# measurements have the promised shape (DuckDB GROUP BY).
source "$QN_SRC/tests/cli/lib.bash"
cd "$work"
sql() { node "$QN_SRC/tests/node/sql.mjs" "$@"; }
py=/usr/bin/python3

run_quern 0 gen sim --rows 300001 --seed 7 -o sim.h5
# the source values, exactly, as CSV written by numpy (repr round-trips)
$py -c "
import h5py, numpy as np
f = h5py.File('sim.h5')
np.savetxt('src.csv', np.column_stack([f[k][:] for k in 'xyzv']), delimiter=',', fmt='%r',
           header='x,y,z,v', comments='')"
for codec in snappy zstd gzip none lz4 brotli; do
  run_quern 0 convert sim.h5 -o "sim-$codec.parquet" --codec "$codec"
  got=$(sql "SELECT count(*) AS n, count(*) FILTER (WHERE p.x IS DISTINCT FROM c.x OR p.y IS DISTINCT FROM c.y
               OR p.z IS DISTINCT FROM c.z OR p.v IS DISTINCT FROM c.v) AS bad
             FROM read_parquet('sim-$codec.parquet') p POSITIONAL JOIN read_csv('src.csv', header=true,
             columns={'x':'DOUBLE','y':'DOUBLE','z':'DOUBLE','v':'DOUBLE'}) c")
  check "DuckDB reads convert --codec $codec: $got" test "$got" = '[{"n":"300001","bad":"0"}]' -o "$got" = '[{"n":300001,"bad":0}]'
done
sql "SELECT compression FROM parquet_metadata('sim-zstd.parquet') LIMIT 1" | grep -q ZSTD || { echo "FAIL: zstd codec not recorded"; fails=$((fails+1)); }

# HDF5 -> Parquet -> HDF5 is exact, and CSV output reads back to the same doubles
run_quern 0 convert sim-snappy.parquet -o back.h5
run_quern 0 convert sim.h5 -c v,x -o sim.csv
check "HDF5 -> Parquet -> HDF5 and CSV exact" $py -c "
import h5py, numpy as np
a, b = h5py.File('sim.h5'), h5py.File('back.h5')
for k in 'xyzv': assert np.array_equal(a[k][:], b[k][:]), k
c = np.loadtxt('sim.csv', delimiter=',', skiprows=1)
assert np.array_equal(c[:, 0], a['v'][:]) and np.array_equal(c[:, 1], a['x'][:])
assert open('sim.csv').readline().strip() == 'v,x'"

# measurements: shape promised by the CLI, every value seen by DuckDB equal
# to what quern reads back (through its CSV output)
run_quern 0 gen measurements --rows 500000 --keys 19000 --seed 3 -o m.parquet
shape=$(sql "SELECT count(*) AS keys, min(n) AS mn, max(n) AS mx, round(avg(n)) AS mean,
                    sum((n = 1)::INT) > 0 AS singles FROM (SELECT probe_id, count(*) n FROM 'm.parquet' GROUP BY 1)")
check "measurements shape: $shape" $py -c "
import json; d = json.loads('''$shape''')[0]
assert int(d['keys']) == 19000 and int(d['mn']) == 1 and d['singles'] in (True, 'true')
assert 100 <= int(d['mx']) <= 1000 and abs(float(d['mean']) - 26) <= 1, d"
grouped=$(sql "SELECT count(*) AS runs FROM (SELECT probe_id <> lag(probe_id) OVER () AS change FROM 'm.parquet') WHERE change")
check "measurement rows are not grouped by probe ($grouped)" $py -c "
import json; assert int(json.loads('''$grouped''')[0]['runs']) > 400000"
for codec in snappy zstd gzip none; do
  run_quern 0 gen measurements --rows 100000 --keys 4000 --codec "$codec" -o "m-$codec.parquet"
  run_quern 0 convert "m-$codec.parquet" -o "m-$codec.csv"
  got=$(sql "SELECT count(*) AS n, count(*) FILTER (WHERE p.probe_id IS DISTINCT FROM c.probe_id OR
               p.ts IS DISTINCT FROM c.ts OR p.value IS DISTINCT FROM c.value OR
               p.quality IS DISTINCT FROM c.quality OR p.label IS DISTINCT FROM c.label) AS bad
             FROM read_parquet('m-$codec.parquet') p POSITIONAL JOIN read_csv('m-$codec.csv', header=true,
             columns={'probe_id':'BIGINT','ts':'TIMESTAMP','value':'DOUBLE','quality':'INTEGER','label':'VARCHAR'}) c")
  check "DuckDB reads gen measurements --codec $codec: $got" test "$got" = '[{"n":"100000","bad":"0"}]' -o "$got" = '[{"n":100000,"bad":0}]'
done
run_quern 0 gen measurements --rows 100000 --keys 4000 -t 1 -o m1.parquet
check "gen measurements bytes identical for 1 and all threads" cmp m1.parquet m-snappy.parquet

# HDF5 string datasets (fixed and variable length, UTF-8) convert too
$py -c "
import h5py, numpy as np
with h5py.File('str.h5', 'w') as f:
    f['x'] = np.arange(5.0)
    f['fixed'] = np.array([b'a', b'bb', b'', b'dddd', b'e'])
    f.create_dataset('vl', data=['alpha', '', 'gamma, with comma', 'd\"q', 'caf\u00e9'], dtype=h5py.string_dtype())"
run_quern 0 convert str.h5 -o str.parquet
run_quern 0 convert str.parquet -o str2.h5
got=$(sql "SELECT string_agg(fixed || '|' || vl, ';' ORDER BY x) AS s FROM 'str.parquet'")
check "strings via DuckDB: $got" test "$got" = '[{"s":"a|alpha;bb|;|gamma, with comma;dddd|d\"q;e|café"}]'
check "strings round-trip to HDF5" $py -c "
import h5py
a, b = h5py.File('str.h5'), h5py.File('str2.h5')
assert [v.decode() for v in b['vl'][:]] == [v.decode() for v in a['vl'][:]]
assert [v.decode() for v in b['fixed'][:]] == ['a', 'bb', '', 'dddd', 'e']"

# CSV input with strings converts too: quoted commas, "" escapes, empty
# string vs null (an empty unquoted field), and CSV -> Parquet -> CSV is exact
printf 'a,s\n1,"x, y"\n2,\n3,""\n4,"q""q"\n' > sq.csv
run_quern 0 convert sq.csv -o sq.parquet
got=$(sql "SELECT string_agg(coalesce(s, '<null>'), '|' ORDER BY a) AS s FROM 'sq.parquet'")
check "CSV strings via DuckDB: $got" test "$got" = '[{"s":"x, y|<null>||q\"q"}]'
run_quern 0 convert m-snappy.parquet -o m1.csv
run_quern 0 convert m1.csv -o m2.parquet
run_quern 0 convert m2.parquet -o m3.csv
check "measurements CSV -> Parquet -> CSV identical" cmp m1.csv m3.csv

# bad input
run_quern 2 convert sim.h5 -o out.txt;              expect_err out.txt
run_quern 2 convert sim.h5 -o out.parquet --codec lzma; expect_err lzma
run_quern 2 convert sim.h5 -o out.parquet -c nope;  expect_err nope sim.h5
run_quern 2 convert sim.h5;                         expect_err "-o"
run_quern 2 convert sim.h5 -c x,v,x -o out.parquet; expect_err "'x'" twice
run_quern 1 convert sim.h5 -o nodir/out.parquet;    expect_err nodir
run_quern 2 gen measurements --rows 10 --keys 11 -o k.parquet; expect_err keys
check "no partial outputs" test ! -e out.txt -a ! -e out.parquet -a ! -e k.parquet
finish
