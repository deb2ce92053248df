#!/bin/bash
# bench_group.sh — quern group against DuckDB and Polars, side by side, on
# `quern gen measurements` data (probe_id, ts, value, quality, label; rows
# not grouped): one row per probe with its measurements as lists ordered by
# ts. quern also splits train=0.9/test=0.1 and writes a manifest with
# checksums; the peers write one file without a split (less work for them).
#   QUERN=build/quern bench/bench_group.sh
# Environment: BENCH_DIR (default /tmp/quern-bench), BENCH_REPEAT (3),
# BENCH_THREADS (2), BENCH_200M=1 to add the 200M-row run (quern alone: the
# peers cannot; about 10 minutes with generation).
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
qrun() { # IN LIMIT THREADS -> "seconds peak_kib"
  local lim=()
  [ "$2" = default ] || lim=(-m "$2")
  rm -rf "$DIR/gq"
  /usr/bin/time -f '%e %M' -o "$DIR/gq.time" "$QUERN" group "$1" --key probe_id --order ts \
    -o "$DIR/gq" --split train=0.9,test=0.1 -t "$3" "${lim[@]}" --no-progress >/dev/null
  cat "$DIR/gq.time"
}
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
if [ "${BENCH_200M:-0}" = 1 ]; then
  f=$(data 200000000 7600000)
  cat "$f" >/dev/null
  r=$(qrun "$f" 1G "$T")
  printf '%-34s quern %6.2fs (peak %4d MiB, -m 1G)\n' "200M rows, 7.6M keys" "${r% *}" $(( ${r#* } / 1024 ))
fi
rm -rf "$DIR/gq" "$DIR/gq.time" "$DIR/gd.parquet" "$DIR/gp.parquet"
