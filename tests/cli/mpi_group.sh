#!/usr/bin/env bash
# mpirun -np 2, 3 quern group writes the directory one process writes:
# every file (shards, splits, manifest) byte-identical, also with 2 threads
# per rank and a small memory limit. (Rank 0 runs the job; the others wait
# for its status: docs/scale-out.md.)
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/mpi.bash"
cd "$work"
"$QUERN" gen measurements --rows 150000 --keys 400 -o m.parquet
opts=(-k probe_id --order ts --split train=0.8,test=0.2 --shards 3)
run_quern 0 group m.parquet "${opts[@]}" -o ref
run_mpi 0 2 group m.parquet "${opts[@]}" -t 1 -o g2
run_mpi 0 3 group m.parquet "${opts[@]}" -t 2 -m 96M -o g3
check "7 files in the reference" test "$(ls ref | wc -l)" = 7
for d in g2 g3; do
  check "$d has the reference's files" test "$(ls ref)" = "$(ls $d)"
  for f in ref/*; do check "$d/${f#ref/} identical" cmp "$f" "$d/${f#ref/}"; done
done
check "no temporary directory left" test -z "$(ls -A | grep quern-tmp || true)"
rm -rf "$TMPDIR"/*
finish
