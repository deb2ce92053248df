#!/usr/bin/env bash
# mpirun -np 1, 2, 3 quern bin writes the bytes one process writes: counts
# (exact integer sums of the ranks' grids), count+mean+std of a value
# (lanes owned by ranks, folded on rank 0 in lane order), a weight, with
# 2 threads per rank and a small memory limit, auto ranges (rank 0 folds
# the ranks' min/max), and a sliced grid.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/mpi.bash"
cd "$work"
"$QUERN" gen sim --rows 600000 --seed 1 -o a.h5
"$QUERN" gen sim --rows 77777 --seed 2 -o b.parquet
run_quern 0 bin a.h5 b.parquet --axis x:40 --axis y:30:-4:4 -o cref.h5
run_quern 0 bin a.h5 b.parquet --axis x:40 --axis y:30 -v v -s count,mean,std -o vref.h5
run_quern 0 bin a.h5 b.parquet --axis x:25:-3:3 -w v -o wref.json
for np in 1 2 3; do
  run_mpi 0 $np bin a.h5 b.parquet --axis x:40 --axis y:30:-4:4 -t 1 -o c$np.h5
  run_mpi 0 $np bin a.h5 b.parquet --axis x:40 --axis y:30 -v v -s count,mean,std -t 1 -o v$np.h5
done
run_mpi 0 2 bin a.h5 b.parquet --axis x:40 --axis y:30:-4:4 -t 2 -m 40M -o ct2.h5
run_mpi 0 3 bin a.h5 b.parquet --axis x:40 --axis y:30 -v v -s count,mean,std -t 2 -m 40M -o vt2.h5
run_mpi 0 3 bin a.h5 b.parquet --axis x:25:-3:3 -w v -o w3.json
same cref.h5 c1.h5 c2.h5 c3.h5 ct2.h5
same vref.h5 v1.h5 v2.h5 v3.h5 vt2.h5
same wref.json w3.json
# a sliced grid (over 128 MiB nominal, docs/bin.md): one lane across ranks,
# read and kept by rank 0: the same bytes
run_quern 0 bin a.h5 --axis x:140:0:1 --axis y:140:0:1 --axis z:140:0:1 -v v -s count,mean -o sref.h5
run_mpi 0 2 bin a.h5 --axis x:140:0:1 --axis y:140:0:1 --axis z:140:0:1 -v v -s count,mean -t 1 -o s2.h5
run_mpi 0 3 bin a.h5 --axis x:140:0:1 --axis y:140:0:1 --axis z:140:0:1 -v v -s count,mean -t 2 -o s3.h5
same sref.h5 s2.h5 s3.h5
check "all rows binned" /usr/bin/python3 -c "
import h5py, numpy as np
with h5py.File('v3.h5') as f:
    n = int(f['count'][...].sum()) + int(f.attrs['out_of_range'])
    assert n == 677777, n"
rm -rf "$TMPDIR"/*
finish
