# mpi.bash — shared by the tests/cli/mpi_*.sh suites (sourced after
# lib.bash): runs quern under Open MPI's mpirun on this machine only.
# Skipped (exit 77, which CTest reports as skipped) only when mpirun is
# not installed; a quern built without MPI is checked to refuse to run as
# N copies of itself instead.
if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)"
  exit 77
fi
# Open MPI's session directories (and PMIx's) go under TMPDIR: a private
# one inside $work, removed with it, so nothing is left in /tmp.
mkdir -p "$work/mpitmp"
export TMPDIR="$work/mpitmp" PMIX_SYSTEM_TMPDIR="$work/mpitmp" OMPI_MCA_orte_tmpdir_base="$work/mpitmp"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Ranks talk over shared memory; the launcher on 127.0.0.1; no PSM probing
# (docs/scale-out.md: 0.3 s less per start).
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_btl_tcp_if_include=lo
MPIRUN=(timeout 120 mpirun -q --oversubscribe --bind-to none)

# run_mpi EXPECTED_RC NP ARGS...: like run_quern, under mpirun -np NP.
run_mpi() {
  local want=$1 np=$2; shift 2
  local rc=0
  "${MPIRUN[@]}" -np "$np" "$QUERN" "$@" >"$out" 2>"$err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: mpirun -np $np quern $* exited $rc, expected $want"
    sed 's/^/  stderr: /' "$err" | head -5
    fails=$((fails + 1))
  fi
}

# same REF FILE...: every FILE holds the bytes of REF.
same() {
  local ref=$1; shift
  for f in "$@"; do check "$f is byte-identical to $ref" cmp "$ref" "$f"; done
}

if [ "${QN_MPI:-ON}" = OFF ]; then
  # a build without MPI under a launcher: one clear error, not N jobs
  "$QUERN" gen sim --rows 1000 -o "$work/tiny.h5"
  run_mpi 1 2 stats "$work/tiny.h5" -o "$work/tiny.json"
  expect_err "built without MPI"
  check "no output" test ! -e "$work/tiny.json"
  finish
  exit 0
fi
