#!/bin/bash
# bench_group.sh — quern group against DuckDB and Polars, side by side, on
# `quern gen measurements` data (probe_id, ts, value, quality, label; rows
# not grouped): one row per probe with its measurements as lists ordered by
# ts. quern also splits train=0.9/test=0.1 and writes a manifest with
# checksums; the peers write one file without a split (less work for them).
#   QUERN=build/quern bench/bench_group.sh
# Then the output formats: the 20M-row job writing TFRecord and ArrayRecord
# against the same job writing Parquet, in the same memory limit, runs
# interleaved (medians of BENCH_FORMAT_REPEAT, default 5, with the load
# average seen).
# Environment: BENCH_DIR (default /tmp/quern-bench), BENCH_REPEAT (3),
# BENCH_THREADS (2), BENCH_200M=1 to add the 200M-row run (quern alone: the
# peers cannot; about 10 minutes with generation), BENCH_FORMATS_ONLY=1 for
# the formats alone.
# Prints medians and ratios (the faster peer / quern); quern's time is its
# whole process, the peers' their query (node's start not counted); peak
# RSS from /usr/bin/time -v.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
QUERN=${QUERN:-$HERE/../build/quern}
DIR=${BENCH_DIR:-/tmp/quern-bench}
REPS=${BENCH_REPEAT:-3}
T=${BENCH_THREADS:-2}
NODE="$HERE/../tests/node/bench_group.mjs"
mkdir -p "$DIR"
bash "$HERE/../scripts/setup-node.sh"
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
data() { # ROWS KEYS -> path
  local f="$DIR/meas-$1-$2.parquet"
  [ -s "$f" ] || "$QUERN" gen measurements --rows "$1" --keys "$2" -o "$f" --no-progress
  echo "$f"
}
qrun() { # IN LIMIT THREADS [FORMAT] -> "seconds peak_kib"; CPU seconds in gq.cpu
  local lim=()
  [ "$2" = default ] || lim=(-m "$2")
  rm -rf "$DIR/gq"
  /usr/bin/time -f '%e %M %U %S' -o "$DIR/gq.time" "$QUERN" group "$1" --key probe_id \
    --order ts -o "$DIR/gq" --split train=0.9,test=0.1 -t "$3" "${lim[@]}" \
    --format "${4:-parquet}" --no-progress >/dev/null
  awk '{print $3 + $4}' "$DIR/gq.time" >"$DIR/gq.cpu"
  cut -d' ' -f1,2 "$DIR/gq.time"
}
formats() { # ROWS KEYS LIMIT: parquet, tfrecord, arrayrecord interleaved
  local f n=${BENCH_FORMAT_REPEAT:-5} fmt q load=""
  f=$(data "$1" "$2")
  cat "$f" >/dev/null
  declare -A t=() c=() m=() r=()
  for ((i = 0; i < n; i++)); do
    for fmt in parquet tfrecord arrayrecord; do
      q=$(qrun "$f" "$3" "$T" "$fmt"); t[$fmt]+="${q% *} "; c[$fmt]+="$(cat "$DIR/gq.cpu") "
      load+="$(cut -d' ' -f1 /proc/loadavg) "
    done
  done
  for fmt in parquet tfrecord arrayrecord; do
    m[$fmt]=$(tr ' ' '\n' <<<"${t[$fmt]}" | grep . | med)
    r[$fmt]=$(tr ' ' '\n' <<<"${c[$fmt]}" | grep . | med)
  done
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2fx", a/b}'; }
  printf '%-34s parquet %6.2fs  tfrecord %6.2fs (%s)  arrayrecord %6.2fs (%s)  load %s\n' \
    "$(awk -v r="$1" 'BEGIN{printf "%dM rows", r/1e6}'), -m $3, formats" "${m[parquet]}" \
    "${m[tfrecord]}" "$(ratio "${m[tfrecord]}" "${m[parquet]}")" "${m[arrayrecord]}" \
    "$(ratio "${m[arrayrecord]}" "${m[parquet]}")" \
    "$(tr ' ' '\n' <<<"$load" | grep . | sort -g | awk '{a[NR]=$1} END {printf "%s to %s", a[1], a[NR]}')"
  printf '%-34s parquet %6.2fs  tfrecord %6.2fs (%s)  arrayrecord %6.2fs (%s)\n' \
    "  the same, CPU (user + sys)" "${r[parquet]}" "${r[tfrecord]}" \
    "$(ratio "${r[tfrecord]}" "${r[parquet]}")" "${r[arrayrecord]}" \
    "$(ratio "${r[arrayrecord]}" "${r[parquet]}")"
}
if [ "${BENCH_FORMATS_ONLY:-0}" = 1 ]; then
  echo "quern group output formats, $T threads, medians of ${BENCH_FORMAT_REPEAT:-5} ($(date -u +%F))"
  formats 20000000 760000 256M
  rm -rf "$DIR/gq" "$DIR/gq.time" "$DIR/gq.cpu"
  exit 0
fi
case_run() { # NAME ROWS KEYS LIMIT
  local name=$1 f q d p qs="" ds="" ps="" qm=0
  f=$(data "$2" "$3")
  cat "$f" >/dev/null
  for ((i = 0; i < REPS; i++)); do
    q=$(qrun "$f" "$4" "$T"); qs+="${q% *} "; qm=$(( ${q#* } > qm ? ${q#* } : qm ))
    d=$(node "$NODE" duckdb "$T" "$f" "$DIR/gd.parquet"); ds+="$d"$'\n'
    p=$(node "$NODE" polars "$T" "$f" "$DIR/gp.parquet"); ps+="$p"$'\n'
  done
  local qt dt pt best
  qt=$(tr ' ' '\n' <<<"$qs" | grep . | med)
  dt=$(grep -E '^[0-9.]+$' <<<"$ds" | med || true); pt=$(grep -E '^[0-9.]+$' <<<"$ps" | med || true)
  [ -n "$dt" ] || dt="$(head -1 <<<"$ds" | cut -c1-60)"
  [ -n "$pt" ] || pt="$(head -1 <<<"$ps" | cut -c1-60)"
  best=$(printf '%s\n%s\n' "$dt" "$pt" | grep -E '^[0-9.]+$' | sort -g | head -1 || true)
  printf '%-34s quern %6.2fs (peak %4d MiB, -m %s)  DuckDB %-8s Polars %-8s  ratio %s\n' \
    "$name" "$qt" $((qm / 1024)) "$4" "$dt" "$pt" \
    "$( [ -n "$best" ] && awk -v b="$best" -v q="$qt" 'BEGIN{printf "%.2fx", b/q}' || echo n/a)"
}
echo "quern group vs DuckDB / Polars, $T threads, medians of $REPS ($(date -u +%F))"
case_run "500K rows, 18,928 keys" 500000 18928 default
case_run "20M rows, 760K keys" 20000000 760000 256M
# thread scaling at 20M rows, 256M
f=$(data 20000000 760000)
s1="" s2=""
for ((i = 0; i < REPS; i++)); do
  a=$(qrun "$f" 256M 1); s1+="${a% *} "
  b=$(qrun "$f" 256M 2); s2+="${b% *} "
done
m1=$(tr ' ' '\n' <<<"$s1" | grep . | med); m2=$(tr ' ' '\n' <<<"$s2" | grep . | med)
printf '%-34s -t 1 %6.2fs  -t 2 %6.2fs  scaling %s\n' "20M rows, 256M, 1 -> 2 threads" "$m1" "$m2" \
  "$(awk -v a="$m1" -v b="$m2" 'BEGIN{printf "%.2fx", a/b}')"
formats 20000000 760000 256M
if [ "${BENCH_200M:-0}" = 1 ]; then
  f=$(data 200000000 7600000)
  cat "$f" >/dev/null
  r=$(qrun "$f" 1G "$T")
  printf '%-34s quern %6.2fs (peak %4d MiB, -m 1G)\n' "200M rows, 7.6M keys" "${r% *}" $(( ${r#* } / 1024 ))
fi
rm -rf "$DIR/gq" "$DIR/gq.time" "$DIR/gq.cpu" "$DIR/gd.parquet" "$DIR/gp.parquet"
