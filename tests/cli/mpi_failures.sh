#!/usr/bin/env bash
# One rank's failure ends the whole job: every rank exits with the code of
# the lowest failing rank, stderr holds one 'quern: error: rank R: ...'
# line, no output appears and no rank is left waiting (mpirun runs under
# timeout). A rank that derives another plan than rank 0 (other rows, a
# missing file) fails the job. A launcher quern cannot join is refused.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/mpi.bash"
cd "$work"
"$QUERN" gen sim --rows 300000 -o a.h5
"$QUERN" gen measurements --rows 20000 --keys 50 -o m.parquet
# a missing column: every rank fails its plan; exit 2, one line
run_mpi 2 3 stats a.h5 -c x,nope -o s.json
expect_err "rank 0:" "no column 'nope'"
run_mpi 2 2 bin a.h5 --axis nope:10 -v v -o b.h5
expect_err "rank 0:" "'nope' not found"
run_mpi 2 2 group m.parquet -k nope -o g
expect_err "rank 0:" "no key column 'nope'"
# one rank fails after its scan (the test hook): exit 1, that rank named
for job in "stats a.h5 -o s.json" "bin a.h5 --axis x:10 -v v -s count,mean -o b.h5" \
  "bin a.h5 --axis x:10 -o b.h5" "group m.parquet -k probe_id -o g"; do
  for r in 0 2; do
    # shellcheck disable=SC2086
    QN_TEST_FAIL_RANK=$r run_mpi 1 3 $job
    expect_err "rank $r: failure injected after the scan"
  done
done
left=$(ls -A | grep -v -e '^a.h5$' -e '^m.parquet$' -e '^mpitmp$' -e '^.std' || true)
check "no output of any failed job (left: $left)" test -z "$left"
# the memory limit: exit 3 on every rank
run_mpi 3 2 bin a.h5 --axis x:4000 --axis y:4000 -v v -m 64M -o b.h5
expect_err "rank 0:" "memory limit"
# every rank checks it derived rank 0's plan: here each rank runs in its
# own directory, where a.h5 has other rows on rank 1 (a stale or different
# file on one machine), then is missing there
mkdir -p r0 r1
"$QUERN" gen sim --rows 1000 -o r0/a.h5
"$QUERN" gen sim --rows 2000 -o r1/a.h5
per_rank() { # per_rank RC ARGS...: quern in directory r<rank> under mpirun -np 2
  local want=$1 rc=0; shift
  "${MPIRUN[@]}" -np 2 bash -c 'cd "r$OMPI_COMM_WORLD_RANK" && exec "$0" "$@"' "$QUERN" "$@" \
    >"$out" 2>"$err" || rc=$?
  check "exit $want (got $rc) for $*" test "$rc" = "$want"
}
per_rank 2 stats a.h5 -o ../p.json
expect_err "rank 1: this rank sees other input files or columns than rank 0"
per_rank 2 bin a.h5 --axis x:5 -o ../p.h5
expect_err "rank 1: this rank sees other input files, columns or bin edges than rank 0"
"$QUERN" gen measurements --rows 1000 --keys 10 -o r0/m.parquet
"$QUERN" gen measurements --rows 2000 --keys 10 -o r1/m.parquet
per_rank 2 group m.parquet -k probe_id -o ../pg
expect_err "rank 1: this rank sees other input files or columns than rank 0"
rm r1/a.h5
per_rank 2 stats a.h5 -o ../p.json
expect_err "rank 1: a.h5"
check "no output after a plan mismatch" test ! -e p.json -a ! -e p.h5 -a ! -e pg
rm -r r0 r1
# another MPI's launcher (MPICH's hydra sets PMI_SIZE, no PMIx): refused
PMI_SIZE=2 PMI_RANK=0 run_quern 1 stats a.h5 -o s.json
expect_err "launcher without Open MPI or PMIx"
# srun without --mpi=pmix: refused too
SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=3 run_quern 1 stats a.h5 -o s.json
expect_err "3 processes"
check "no output" test ! -e s.json
rm -rf "$TMPDIR"/*
finish
