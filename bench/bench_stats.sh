#!/usr/bin/env bash
# bench_stats.sh — quern stats vs h5py chunked reads + numpy (count, min,
# max, mean, std per column) on a 4 x 1e8 float64 HDF5 file (1Mi-row
# chunks) in the page cache, side by side in one run; prints medians and
# ratios, thread scaling, and peak RSS (from /usr/bin/time -v).
# usage: bench/bench_stats.sh [QUERN] [ROWS] [REPEATS]
set -euo pipefail
quern=$(realpath "${1:-build/quern}")
rows=${2:-100000000}
reps=${3:-5}
dir=$(dirname "$0")/data; mkdir -p "$dir"
file="$dir/sim-$rows.h5"
[ -f "$file" ] || "$quern" gen sim --rows "$rows" -o "$file"
cat "$file" > /dev/null   # into the page cache
py=/usr/bin/python3
peer="$(dirname "$0")/stats_peer.py"

med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
timeit() { # prints elapsed seconds and peak RSS KiB of one command
  /usr/bin/time -f '%e %M' -o /tmp/qn_bench_time.$$ "$@" >/dev/null 2>&1
  cat /tmp/qn_bench_time.$$
}
declare -A T M t m
for ((i = 0; i < reps; i++)); do
  for k in peer read q1 q2 q32; do
    case $k in
      peer) r=$(timeit $py "$peer" "$file");;
      read) r=$(timeit $py "$peer" "$file" --read-only);;
      q1) r=$(timeit "$quern" stats "$file" -t 1 -o /tmp/qn_bench_q1.json);;
      q2) r=$(timeit "$quern" stats "$file" -t 2 -o /tmp/qn_bench_q2.json);;
      q32) r=$(timeit "$quern" stats "$file" -t 2 -m 32M -o /tmp/qn_bench_q32.json);;
    esac
    T[$k]+="${r% *} "; M[$k]+="${r#* } "
  done
done
cmp -s /tmp/qn_bench_q1.json /tmp/qn_bench_q2.json || { echo "threads changed the output!"; exit 1; }
cmp -s /tmp/qn_bench_q2.json /tmp/qn_bench_q32.json || { echo "memory limit changed the output!"; exit 1; }
for k in peer read q1 q2 q32; do
  t[$k]=$(tr ' ' '\n' <<<"${T[$k]}" | grep . | med)
  m[$k]=$(tr ' ' '\n' <<<"${M[$k]}" | grep . | sort -n | tail -1)
done
echo "rows=$rows columns=4 repeats=$reps (medians; peak RSS is the max over runs)"
printf '%-44s %8s %10s\n' "run" "seconds" "peak RSS"
printf '%-44s %8s %7d MiB\n' "h5py chunked read + numpy stats" "${t[peer]}" $((m[peer] / 1024))
printf '%-44s %8s %7d MiB\n' "h5py chunked read only" "${t[read]}" $((m[read] / 1024))
printf '%-44s %8s %7d MiB\n' "quern stats -t 1" "${t[q1]}" $((m[q1] / 1024))
printf '%-44s %8s %7d MiB\n' "quern stats -t 2" "${t[q2]}" $((m[q2] / 1024))
printf '%-44s %8s %7d MiB\n' "quern stats -t 2 --memory-limit 32M" "${t[q32]}" $((m[q32] / 1024))
awk -v p="${t[peer]}" -v q="${t[q2]}" -v q1="${t[q1]}" 'BEGIN {
  printf "ratio peer / quern -t 2:        %.2fx (goal >= 3)\n", p / q
  printf "thread scaling -t 1 / -t 2:     %.2fx (goal >= 1.7)\n", q1 / q }'
