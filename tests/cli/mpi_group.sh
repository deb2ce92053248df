#!/usr/bin/env bash
# mpirun -np 2, 3 quern group writes the directory one process writes:
# every file (shards, splits, manifest) byte-identical, also with 2 threads
# per rank, a small memory limit, three keys of skewed sizes (the largest
# group near the memory limit) and TFRecord output. (Every rank
# groups every row and writes the files f with f mod N = its rank; rank 0
# the manifest: docs/scale-out.md.)
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/mpi.bash"
cd "$work"
"$QUERN" gen measurements --rows 150000 --keys 400 -o m.parquet
"$QUERN" gen measurements --rows 400000 --keys 3 --seed 7 -o hot.parquet
# same_dir REF DIR: DIR holds the files of REF, each byte-identical
same_dir() {
  check "$2 has the files of $1" test "$(ls "$1")" = "$(ls "$2")"
  for f in "$1"/*; do check "$2/${f#"$1"/} identical" cmp "$f" "$2/${f#"$1"/}"; done
}
opts=(-k probe_id --order ts --split train=0.8,test=0.2 --shards 3)
run_quern 0 group m.parquet "${opts[@]}" -o ref
check "7 files in the reference" test "$(ls ref | wc -l)" = 7
run_mpi 0 1 group m.parquet "${opts[@]}" -t 2 -o g1
run_mpi 0 2 group m.parquet "${opts[@]}" -t 1 -o g2
run_mpi 0 3 group m.parquet "${opts[@]}" -t 2 -m 96M -o g3
for d in g1 g2 g3; do same_dir ref $d; done
# skewed keys near the memory limit, more shards than ranks
hopts=(-k probe_id --order ts --split a=0.5,b=0.5 --shards 5)
run_quern 0 group hot.parquet "${hopts[@]}" -t 2 -o href
run_mpi 0 2 group hot.parquet "${hopts[@]}" -t 2 -m 160M -o h2
run_mpi 0 3 group hot.parquet "${hopts[@]}" -t 1 -m 160M -o h3
for d in h2 h3; do same_dir href $d; done
# TFRecord
run_quern 0 group m.parquet "${opts[@]}" --format tfrecord -o tref
run_mpi 0 3 group m.parquet "${opts[@]}" --format tfrecord -t 2 -o t3
same_dir tref t3
# an existing quern output is replaced (--force) by rank 0 once all agree
run_mpi 0 2 group m.parquet "${opts[@]}" --force -o g3
same_dir ref g3
check "no temporary directory left" test -z "$(ls -A | grep quern-tmp || true)"
rm -rf "$TMPDIR"/*
finish
