#!/usr/bin/env bash
# bench_mpi.sh — ranks against threads on the same 2 cores: plain
# `quern -t 2` | `mpirun -np 1 quern -t 2` | `mpirun -np 2 quern -t 1` for
# stats, bin (count; count+mean+std of a value) and group, on a 1e8-row
# HDF5 file (group: 2e7 rows of measurements) in the page cache; MPI's fixed
# cost on a tiny input; and a peer at equal cores without mpi4py
# (multiprocessing.Pool(2) + h5py + numpy, stats_pool_peer.py). Every MPI
# output is checked byte-identical to the plain run. Medians of REPEATS.
# The data is deleted at the end (KEEP=1 keeps it). JOBS="fixed group"
# runs only those jobs (of: fixed stats bin binv group; the peer runs with
# stats).
# usage: bench/bench_mpi.sh [QUERN] [ROWS] [GROUP_ROWS] [REPEATS]
set -euo pipefail
quern=$(realpath "${1:-build/quern}")
rows=${2:-100000000}
grows=${3:-20000000}
reps=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/data"
dir=$(mktemp -d "$here/data/mpi.XXXXXX")
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$dir"' EXIT
export TMPDIR="$dir" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
cd "$dir"
read -r -a order <<<"${JOBS:-fixed stats bin binv group}"
has() { [[ " ${order[*]} " == *" $1 "* ]]; }
if has stats || has bin || has binv; then "$quern" gen sim --rows "$rows" -o sim.h5; fi
if has group; then "$quern" gen measurements --rows "$grows" --keys 100000 -o meas.parquet; fi
"$quern" gen sim --rows 1000 -o tiny.h5
cat ./*.h5 ./*.parquet >/dev/null 2>&1 || true # into the page cache

med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
secs() { # wall seconds of one command (output discarded)
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}
declare -A job=(
  [fixed]="stats tiny.h5 -o OUT.json"
  [stats]="stats sim.h5 -o OUT.json"
  [bin]="bin sim.h5 --axis x:100:-5:5 --axis y:100:-5:5 -o OUT.h5"
  [binv]="bin sim.h5 --axis x:100:-5:5 --axis y:100:-5:5 -v v -s count,mean,std -o OUT.h5"
  [group]="group meas.parquet -k probe_id --order ts --shards 2 -o OUT --force"
)
run() { # run KIND JOB: prints seconds
  local kind=$1 name=$2 out args
  args=${job[$name]}
  out="$name-$kind"
  args=${args//OUT/$out}
  # shellcheck disable=SC2086
  case $kind in
    plain) secs "$quern" ${args%% *} -t 2 ${args#* } ;;
    m12) secs mpirun -q -np 1 --bind-to none "$quern" ${args%% *} -t 2 ${args#* } ;;
    m21) secs mpirun -q -np 2 --bind-to core "$quern" ${args%% *} -t 1 ${args#* } ;;
  esac
}
declare -A T
for ((i = 0; i < reps; i++)); do
  for n in "${order[@]}"; do
    for kind in plain m12 m21; do T[$n.$kind]+="$(run $kind $n) "; done
  done
  if has stats; then T[peer]+="$(/usr/bin/python3 "$here/stats_pool_peer.py" sim.h5 2) "; fi
done
for n in "${order[@]}"; do # the bytes of every MPI run are the plain run's
  for kind in m12 m21; do
    if [ -d "$n-plain" ]; then
      for f in "$n-plain"/*; do cmp "$f" "$n-$kind/${f#"$n-plain/"}"; done
    else
      cmp "$n-plain".* "$n-$kind".*
    fi
  done
done
m() { tr ' ' '\n' <<<"${T[$1]}" | grep . | med; }
echo "rows=$rows group_rows=$grows repeats=$reps, wall seconds (medians), 2 cores"
printf '%-8s %10s %16s %16s %10s %10s\n' job "quern -t 2" "mpirun 1x2 (-t 2)" "mpirun 2x1 (-t 1)" "2x1/1x2" "net 2x1/1x2"
f1=$(m fixed.m12) f2=$(m fixed.m21) f0=$(m fixed.plain)
for n in "${order[@]}"; do
  awk -v n="$n" -v p="$(m "$n.plain")" -v a="$(m "$n.m12")" -v b="$(m "$n.m21")" \
    -v f0="$f0" -v f1="$f1" -v f2="$f2" 'BEGIN {
    net = (n == "fixed") ? "" : sprintf("%.2f", (b - (f2 - f0)) / (a - (f1 - f0)))
    printf "%-8s %10.3f %16.3f %16.3f %10.2f %10s\n", n, p, a, b, b / a, net }'
done
awk -v f0="$f0" -v f1="$f1" -v f2="$f2" 'BEGIN {
  printf "MPI fixed cost (tiny input, over plain quern): np 1 %.3f s, np 2 %.3f s\n", f1 - f0, f2 - f0 }'
if has stats; then awk -v p="$(m peer)" -v q="$(m stats.plain)" -v r="$(m stats.m21)" 'BEGIN {
  printf "peer Pool(2)+h5py+numpy stats: %.3f s; / quern -t 2: %.2fx; / mpirun -np 2 quern -t 1: %.2fx\n", p, p / q, p / r }'
fi
