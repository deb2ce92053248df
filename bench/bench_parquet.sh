#!/usr/bin/env bash
# bench_parquet.sh — quern's Parquet reader and writer side by side with
# DuckDB (npm @duckdb/node-api, threads = 2) in one run; prints medians and
# ratios, and quern's peak RSS (/usr/bin/time -v):
#   1. stats on a ROWS x 4 float64 Parquet file written by DuckDB (snappy):
#      quern stats -t 2 vs DuckDB count/min/max/avg/stddev_pop of each column
#   2. stats on a 20M-row `quern gen measurements` file (every numeric column)
#   3. HDF5 -> Parquet (snappy): quern convert -t 2 vs DuckDB COPY ... TO of
#      the same table held in DuckDB's memory (loading it is not timed)
# DuckDB's times are the query alone, measured inside node (its start-up
# and the table load are excluded); quern's are the whole process.
# usage: bench/bench_parquet.sh [QUERN] [ROWS] [REPEATS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
quern=$(realpath "${1:-build/quern}")
rows=${2:-100000000}
reps=${3:-3}
mrows=20000000
dir=$here/data; mkdir -p "$dir"
bash "$here/../scripts/setup-node.sh"
duck() { node "$here/../tests/node/bench_duck.mjs" 2 "$@"; }
pq=$dir/sim-$rows-duckdb.parquet
h5=$dir/sim-$rows.h5
meas=$dir/measurements-$mrows.parquet
[ -f "$pq" ] || duck "setup:COPY (SELECT random() AS x, random() AS y, random() AS z,
  random() * 2 - 1 AS v FROM range($rows)) TO '$pq' (FORMAT parquet, COMPRESSION snappy)"
[ -f "$h5" ] || "$quern" gen sim --rows "$rows" -o "$h5" --no-progress
[ -f "$meas" ] || "$quern" gen measurements --rows "$mrows" -o "$meas" --no-progress
cat "$pq" "$h5" "$meas" > /dev/null # into the page cache

agg() { # count/min/max/avg/stddev_pop of each column expression
  local out="" c
  for c in "$@"; do out+="count($c), min($c), max($c), avg($c), stddev_pop($c), "; done
  echo "${out%, }"
}
sim_sql="SELECT $(agg x y z v) FROM read_parquet('$pq')"
meas_sql="SELECT $(agg probe_id 'epoch_us(ts)' value quality) FROM read_parquet('$meas')"
out=$dir/convert-quern.parquet dout=$dir/convert-duckdb.parquet

med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
timeit() { /usr/bin/time -f '%e %M' -o /tmp/qn_bench_pq.$$ "$@" >/dev/null 2>&1; cat /tmp/qn_bench_pq.$$; }
declare -A T M
for ((i = 0; i < reps; i++)); do
  r=$(timeit "$quern" stats "$pq" -t 2 --no-progress -o /tmp/qn_bench_pq_s.json); T[qs]+="${r% *} "; M[qs]+="${r#* } "
  r=$(timeit "$quern" stats "$meas" -t 2 --no-progress -o /tmp/qn_bench_pq_m.json); T[qm]+="${r% *} "; M[qm]+="${r#* } "
  r=$(timeit "$quern" convert "$h5" -o "$out" -t 2 --no-progress); T[qc]+="${r% *} "; M[qc]+="${r#* } "
  dd=($(duck "$sim_sql" "$meas_sql"))
  T[ds]+="${dd[0]} "; T[dm]+="${dd[1]} "
  dc=$(duck "setup:CREATE TABLE t AS SELECT * FROM read_parquet('$out')" \
            "COPY t TO '$dout' (FORMAT parquet, COMPRESSION snappy)")
  T[dc]+="$dc "
done
r=$(timeit "$quern" stats "$pq" -t 2 -m 128M --no-progress -o /tmp/qn_bench_pq_s128.json); T[q128]=${r% *}; M[q128]=${r#* }
cmp -s /tmp/qn_bench_pq_s.json /tmp/qn_bench_pq_s128.json || { echo "memory limit changed the output!"; exit 1; }
for k in qs qm qc ds dm dc; do T[$k]=$(tr ' ' '\n' <<<"${T[$k]}" | grep . | med); done
for k in qs qm qc; do M[$k]=$(tr ' ' '\n' <<<"${M[$k]}" | grep . | sort -n | tail -1); done
size=$(du -m "$pq" | cut -f1)
echo "rows=$rows (file $size MiB), measurements rows=$mrows, repeats=$reps (medians), 2 threads"
printf '%-52s %8s %8s %7s %10s\n' case DuckDB quern ratio "quern RSS"
row() { awk -v n="$1" -v d="$2" -v q="$3" -v m="$4" 'BEGIN { printf "%-52s %7.2fs %7.2fs %6.2fx %6d MiB\n", n, d, q, d / q, m / 1024 }'; }
row "stats, ${rows} x 4 float64 (DuckDB file, snappy)" "${T[ds]}" "${T[qs]}" "${M[qs]}"
row "stats, measurements ${mrows} rows" "${T[dm]}" "${T[qm]}" "${M[qm]}"
row "HDF5 -> Parquet snappy (DuckDB: COPY from memory)" "${T[dc]}" "${T[qc]}" "${M[qc]}"
printf 'quern stats -m 128M on the %s MiB file: %.2fs, peak RSS %d MiB (bound 128 MiB), same JSON\n' \
  "$size" "${T[q128]}" $((M[q128] / 1024))
