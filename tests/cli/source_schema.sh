#!/usr/bin/env bash
# Many files as one table: schemas must agree (clear exit-2 errors naming
# both files), except that CSV's per-file type inference is unified
# (int64 in one file, float64 in another: float64).
source "$(dirname "$0")/lib.bash"
cd "$work"
py=/usr/bin/python3
$py -c "
import h5py, numpy as np
with h5py.File('a.h5', 'w') as f: f['x'] = np.arange(10.0); f['k'] = np.arange(10, dtype='i4')
with h5py.File('b.h5', 'w') as f: f['x'] = np.arange(5.0); f['k'] = np.arange(5, dtype='i8')
with h5py.File('c.h5', 'w') as f: f['x'] = np.arange(5.0)
with h5py.File('d.h5', 'w') as f: f['x'] = np.arange(5.0); f['k'] = np.arange(5, dtype='i4'); f['extra'] = np.zeros(5)"
run_quern 2 stats a.h5 b.h5; expect_err b.h5 a.h5 "'k'" int64 int32
run_quern 2 stats a.h5 c.h5; expect_err c.h5 "'k'"
run_quern 2 stats a.h5 d.h5; expect_err d.h5 "'extra'"
printf 'a,b\n1,2\n3,4\n' > i.csv
printf 'a,b\n1.5,2\n,7\n' > f.csv
run_quern 0 stats i.csv f.csv -o u.json
check "int64 + float64 CSV columns read as float64" $py -c "
import json; c = json.load(open('u.json'))['columns']
assert c['a']['type'] == 'float64' and c['a']['sum'] == 5.5 and c['a']['count'] == 3 and c['a']['null'] == 1
assert c['b']['type'] == 'int64' and c['b']['sum'] == 15"
run_quern 0 stats f.csv i.csv -o v.json
check "order of files does not change the unified type" $py -c "
import json; a = json.load(open('u.json'))['columns']; b = json.load(open('v.json'))['columns']
assert a['a'] == b['a'] and a['b'] == b['b']"
printf 'a,b\nx,2\n' > s.csv
run_quern 2 stats i.csv s.csv; expect_err s.csv "'a'" string
finish
