#!/usr/bin/env bash
# bench_convert.sh — `quern convert` side by side with DuckDB's COPY (npm
# @duckdb/node-api), 2 threads for both, in one run; medians, ratios, and
# quern's peak RSS (/usr/bin/time -v) with the --memory-limit it ran with:
#   1. HDF5 -> Parquet (snappy): the 1e8 x 4 float64 `quern gen sim` file
#      (3.2 GB). DuckDB cannot read HDF5: it gets the same table loaded
#      into its memory first (from quern's Parquet output, not timed) and
#      times `COPY t TO out (FORMAT parquet, COMPRESSION snappy)`.
#   2. Parquet -> Parquet (snappy): 20M `quern gen measurements` rows
#      (760K keys; int64, timestamp, float64, int32, string). DuckDB times
#      `COPY (SELECT * FROM read_parquet(in)) TO out (FORMAT parquet,
#      COMPRESSION snappy)`.
# DuckDB's time is the statement alone, measured inside node (start-up and
# the table load excluded); quern's is the whole process. Inputs are read
# into the page cache before every run (this machine's kernel pages out
# idle file pages after about a minute) and outputs removed, so each run
# writes a new file; runs alternate between the two.
# usage: bench/bench_convert.sh [QUERN] [REPEATS] [LIMIT]
# Environment: BENCH_DIR (default bench/data), BENCH_ROWS (1e8).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
quern=$(realpath "${1:-$here/../build/quern}")
reps=${2:-5}
limit=${3:-256M}
rows=${BENCH_ROWS:-100000000}
mrows=20000000 mkeys=760000
dir=${BENCH_DIR:-$here/data}
mkdir -p "$dir"
bash "$here/../scripts/setup-node.sh"
duck() { node "$here/../tests/node/bench_duck.mjs" 2 "$@"; }
h5=$dir/sim-$rows.h5
meas=$dir/measurements-$mrows-$mkeys.parquet
[ -f "$h5" ] || "$quern" gen sim --rows "$rows" -o "$h5" --no-progress
[ -f "$meas" ] || "$quern" gen measurements --rows "$mrows" --keys "$mkeys" -o "$meas" --no-progress
qh=$dir/convert-h5-quern.parquet dh=$dir/convert-h5-duckdb.parquet
qm=$dir/convert-meas-quern.parquet dm=$dir/convert-meas-duckdb.parquet

med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# quern IN OUT: "wall_seconds peak_rss_kib"
run_quern() {
  rm -f "$2"
  cat "$1" >/dev/null
  /usr/bin/time -v -o "$dir/.time" "$quern" convert "$1" -o "$2" -t 2 -m "$limit" \
    --codec snappy --no-progress >/dev/null
  awk -F': ' '/Elapsed/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]}
              /Maximum resident/ {m = $2} END {print s, m}' "$dir/.time"
}
declare -A T M
for ((i = 0; i < reps; i++)); do
  r=$(run_quern "$h5" "$qh")
  T[qh]+="${r% *} " M[qh]+="${r#* } "
  rm -f "$dh"
  T[dh]+="$(duck "setup:CREATE TABLE t AS SELECT * FROM read_parquet('$qh')" \
    "COPY t TO '$dh' (FORMAT parquet, COMPRESSION snappy)") "
  r=$(run_quern "$meas" "$qm")
  T[qm]+="${r% *} " M[qm]+="${r#* } "
  rm -f "$dm"
  cat "$meas" >/dev/null
  T[dm]+="$(duck "COPY (SELECT * FROM read_parquet('$meas')) TO '$dm' (FORMAT parquet, COMPRESSION snappy)") "
done
# quern's outputs hold the input's rows (DuckDB reads them)
check=$(node "$here/../tests/node/sql.mjs" "SELECT (SELECT count(*) FROM '$qh') AS h5, (SELECT count(*) FROM '$qm') AS m,
  (SELECT count(*) FROM (SELECT * FROM '$meas' EXCEPT ALL SELECT * FROM '$qm')) AS lost")
[ "$check" = "[{\"h5\":\"$rows\",\"m\":\"$mrows\",\"lost\":\"0\"}]" ] || { echo "bad output: $check"; exit 1; }
for k in qh dh qm dm; do T[$k]=$(tr ' ' '\n' <<<"${T[$k]}" | grep . | med); done
for k in qh qm; do M[$k]=$(tr ' ' '\n' <<<"${M[$k]}" | grep . | sort -n | tail -1); done
echo "quern convert -t 2 -m $limit vs DuckDB COPY (threads 2), medians of $reps, $(date -u '+%F %H:%M') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %8s %7s %14s\n' case DuckDB quern ratio "quern peak RSS"
row() { awk -v n="$1" -v d="$2" -v q="$3" -v m="$4" -v l="$limit" \
  'BEGIN { printf "%-44s %7.2fs %7.2fs %6.2fx %7d MiB (-m %s)\n", n, d, q, d / q, m / 1024, l }'; }
row "HDF5 -> Parquet snappy, $rows x 4 float64" "${T[dh]}" "${T[qh]}" "${M[qh]}"
row "Parquet -> Parquet snappy, $mrows measurements" "${T[dm]}" "${T[qm]}" "${M[qm]}"
rm -f "$qh" "$dh" "$qm" "$dm" "$dir/.time"
