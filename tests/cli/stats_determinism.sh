#!/usr/bin/env bash
# quern stats output bytes are identical for --threads 1, 2, 7 and for
# --memory-limit 64M versus the default, over several files.
source "$(dirname "$0")/lib.bash"
cd "$work"
"$QUERN" gen sim --rows 1500000 --seed 1 -o a.h5
"$QUERN" gen sim --rows 333333 --seed 2 -o b.h5
run_quern 0 stats a.h5 b.h5 --per-file -t 1 -o t1.json
run_quern 0 stats a.h5 b.h5 --per-file -t 2 -o t2.json
run_quern 0 stats a.h5 b.h5 --per-file -t 7 -o t7.json
run_quern 0 stats a.h5 b.h5 --per-file -m 64M -o m64.json
run_quern 0 stats a.h5 b.h5 --per-file -t 2 -m 24M -o m24.json
for f in t2 t7 m64 m24; do check "$f.json identical to t1.json" cmp t1.json $f.json; done
check "rows counted" grep -q '"rows": 1833333' t1.json
# empty files anywhere in the list count as files with no rows
"$QUERN" gen sim --rows 0 -o e.h5
run_quern 0 stats e.h5 a.h5 e.h5 b.h5 e.h5 --per-file -c x -t 2 -o e.json
check "empty files in the list" /usr/bin/python3 -c "
import json; d = json.load(open('e.json'))
assert d['rows'] == 1833333 and [f['columns']['x']['count'] for f in d['files']] == [0, 1500000, 0, 333333, 0]
t = json.load(open('t1.json'))['columns']['x']
assert d['columns']['x'] == t, 'same table, same stats'"
# gen is deterministic too, for any thread count
"$QUERN" gen sim --rows 1500000 --seed 1 -t 1 -o a1.h5
check "gen sim bytes identical for 1 and all threads" cmp a.h5 a1.h5
finish
