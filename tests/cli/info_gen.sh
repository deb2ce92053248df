#!/usr/bin/env bash
# quern gen sim and quern info: sizes, columns, layout, bad options.
source "$(dirname "$0")/lib.bash"
cd "$work"
run_quern 0 gen sim --rows 2500000 -o s.h5
run_quern 0 info s.h5
for c in x y z v; do check "info lists $c" grep -qE "^  $c +float64 +2500000 rows  chunked 1048576, no filters" "$out"; done
check "info says fast path" grep -q "fast path" "$out"
run_quern 0 info --json s.h5
check "info --json parses" /usr/bin/python3 -c "
import json,sys; d=json.load(open('$out')); assert d['format']=='hdf5'
assert [c['name'] for c in d['columns']]==['x','y','z','v']  # the order written
assert all(c['rows']==2500000 and c['chunk']==[1048576] for c in d['columns'])"
# the generated values: uniform x in [0,1), v ~ N(0,1), checked with numpy
check "gen sim distributions" /usr/bin/python3 -c "
import h5py, numpy as np
f=h5py.File('s.h5'); x=f['x'][:]; v=f['v'][:]
assert 0<=x.min() and x.max()<1 and abs(x.mean()-0.5)<0.002, x.mean()
assert abs(v.mean())<0.003 and abs(v.std()-1)<0.003, (v.mean(), v.std())
assert f['x'].chunks==(1048576,)"
run_quern 0 gen sim --rows 0 -o empty.h5
run_quern 0 stats empty.h5 -c x
check "empty file: count 0, min null" /usr/bin/python3 -c "
import json; d=json.load(open('$out'))['columns']['x']; assert d['count']==0 and d['min'] is None"
run_quern 2 gen sim --rows -5 -o bad.h5;       expect_err rows
run_quern 2 gen sim --rows 10 -o bad.txt;      expect_err bad.txt
run_quern 2 gen wrong --rows 10 -o bad.h5;     expect_err wrong
run_quern 2 gen sim -o bad.h5;                 expect_err rows
run_quern 1 gen sim --rows 10 -o nodir/x.h5;   expect_err nodir
# measurements: every one of the K probe ids has a row, so 1 <= K <= rows
run_quern 2 gen measurements --rows 100 --keys 0 -o bad.parquet;  expect_err "--keys 0"
run_quern 2 gen measurements --rows 0 -o bad.parquet;             expect_err "--rows 0"
run_quern 2 gen measurements --rows 0 --keys 0 -o bad.parquet;    expect_err "--rows 0"
run_quern 2 gen measurements --rows 10 --keys 11 -o bad.parquet;  expect_err "--keys 11" "--rows 10"
run_quern 2 gen measurements --rows -1 -o bad.parquet;            expect_err "--rows" "'-1'"
run_quern 2 gen measurements --rows 10 --keys -2 -o bad.parquet;  expect_err "--keys" "'-2'"
check "no partial files" test ! -e bad.h5 -a ! -e bad.txt -a ! -e bad.parquet
run_quern 0 gen measurements --rows 10 --keys 10 -o k10.parquet
run_quern 0 stats k10.parquet -c probe_id
check "--keys 10 of 10 rows: ten distinct probe ids, one row each" /usr/bin/python3 -c "
import json; d=json.load(open('$out'))['columns']['probe_id']
assert d['count']==10 and d['min']==1000000 and d['max']==1000009 and d['sum']==10000045, d"
run_quern 2 info missing.h5;                   expect_err missing.h5
finish
