#!/usr/bin/env bash
# A glob of 150 files is one table, read in name order, with only 24 file
# descriptors beyond those the test runner left open: quern releases each
# file's handles when it is done with it (it needs about 7). With 7 threads
# on 2 cores, workers are preempted in the middle of a file while others
# finish later ones: those must be released too, not kept open until the
# earlier file is done (that held up to ~150 descriptors and failed CI).
source "$(dirname "$0")/lib.bash"
cd "$work"
for i in $(seq -w 1 150); do "$QUERN" gen sim --rows 3000 --seed "$i" -o "f$i.h5"; done
# RLIMIT_NOFILE bounds fd numbers: allow 24 above the highest one in use
top=$(ls /proc/$BASHPID/fd | sort -n | tail -1)
( ulimit -n $((top + 24)); run_quern 0 stats 'f*.h5' --per-file -c x -o all.json; [ "$fails" = 0 ] )
check "150 files under ulimit -n $((top + 24))" test -s all.json
( ulimit -n $((top + 24)); run_quern 0 stats 'f*.h5' -t 7 --per-file -c x -o all7.json; [ "$fails" = 0 ] )
check "7 threads: the same bytes under the same fd limit" cmp all.json all7.json
check "rows, order and per-file counts" /usr/bin/python3 -c "
import json, glob, h5py, numpy as np, math
d = json.load(open('all.json'))
files = sorted(glob.glob('f*.h5'))
assert d['rows'] == 150 * 3000, d['rows']
assert [f['path'] for f in d['files']] == files
x = np.concatenate([h5py.File(f)['x'][:] for f in files])
c = d['columns']['x']
assert c['count'] == x.size and c['min'] == x.min() and c['max'] == x.max()
assert abs(c['sum'] - math.fsum(x)) <= 1e-12 * abs(c['sum'])
assert all(f['columns']['x']['count'] == 3000 for f in d['files'])"
finish
