#!/usr/bin/env bash
# mpirun -np 1, 2, 3 quern stats writes the bytes one process writes: over
# HDF5 and Parquet files together (uneven morsel shares), per file, with 2
# threads per rank and a small memory limit, over CSV, and over the TCP
# transport on 127.0.0.1.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/mpi.bash"
cd "$work"
"$QUERN" gen sim --rows 600000 --seed 1 -o a.h5
"$QUERN" gen sim --rows 77777 --seed 2 -o b.parquet
"$QUERN" convert a.h5 -c x,v -o c.csv
# the reference: no launcher, so MPI is never started (no session directory)
run_quern 0 stats a.h5 b.parquet --per-file -o ref.json
check "one process starts no MPI (nothing in TMPDIR)" test -z "$(ls -A "$TMPDIR")"
check "rows of both files" grep -q '"rows": 677777' ref.json
for np in 1 2 3; do run_mpi 0 $np stats a.h5 b.parquet --per-file -t 1 -o s$np.json; done
run_mpi 0 2 stats a.h5 b.parquet --per-file -t 2 -m 48M -o t2m.json
same ref.json s1.json s2.json s3.json t2m.json
check "only rank 0 printed (nothing on stdout)" test ! -s "$out"
run_quern 0 stats c.csv -o cref.json
run_mpi 0 3 stats c.csv -o c3.json
same cref.json c3.json
# rank to rank over TCP on the loopback (the path between machines)
"${MPIRUN[@]}" -np 3 --mca btl self,tcp --mca btl_tcp_if_include lo \
  "$QUERN" stats a.h5 b.parquet --per-file -o tcp3.json >"$out" 2>"$err" ||
  { echo "FAIL: stats over TCP"; cat "$err"; fails=$((fails + 1)); }
same ref.json tcp3.json
# stdout: rank 0 writes the JSON once
run_mpi 0 2 stats b.parquet -c x
check "stdout holds one document" test "$(grep -c '"quern_version"' "$out")" = 1
rm -rf "$TMPDIR"/*
finish
