#!/bin/bash
# bench_lanes.sh — `quern bin -v` on a grid over 1 GiB (sliced grids, no
# lane ceiling): wall time at -t 1 and -t 2 (interleaved, medians of
# BENCH_REPEAT), the ratio, and cmp of the outputs of -t 1, -t 2, -t 3
# and a small --memory-limit. With OLD=path of another quern (a main
# build) its -t 1 and -t 2 runs are timed too, and its output compared.
#   QUERN=build/quern bench/bench_lanes.sh
# Environment: BENCH_ROWS (20000000), BENCH_DIR (/tmp/quern-lanes, removed
# at the end unless BENCH_KEEP=1), BENCH_REPEAT (3), BENCH_AXES (the
# default: 400^3 over [0, 1]^3, count and mean of v: 64M cells, a 2.9 GB
# grid), BENCH_LIMIT (the small --memory-limit, 3.85G: the grid and the
# two result arrays fit, little more), BENCH_OUT (where the 1 GB outputs
# go, default BENCH_DIR; /dev/shm keeps the disk's writeback, which
# throttles a writer at random, out of the timings).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
QUERN=${QUERN:-$HERE/../build/quern}
ROWS=${BENCH_ROWS:-20000000}
DIR=${BENCH_DIR:-/tmp/quern-lanes}
N=${BENCH_REPEAT:-3}
AXES=${BENCH_AXES:--a x:400:0:1 -a y:400:0:1 -a z:400:0:1}
LIMIT=${BENCH_LIMIT:-3.85G}
OUT=${BENCH_OUT:-$DIR}
mkdir -p "$DIR"
OUT=$(mktemp -d "$OUT/quern-lanes-out.XXXXXX")
if [ "${BENCH_KEEP:-0}" = 1 ]; then trap 'rm -rf "$OUT"' EXIT; else trap 'rm -rf "$DIR" "$OUT"' EXIT; fi
DATA="$DIR/sim-$ROWS.h5"
[ -s "$DATA" ] || "$QUERN" gen sim --rows "$ROWS" --seed 1 -o "$DATA" --no-progress
cat "$DATA" >/dev/null # into the page cache
# shellcheck disable=SC2206
ARGS=(bin "$DATA" $AXES -v v -s count,mean --no-progress)
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
t() { # binary threads out -> "wall cpu"
  /usr/bin/time -f "%e %U %S" -o "$DIR/time" "$1" "${ARGS[@]}" -t "$2" -o "$3"
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$DIR/time"
}
echo "bench_lanes $(date -u '+%F %H:%M') rows $ROWS: quern ${ARGS[*]:2} -o $OUT/..."
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A wall cpu
for ((i = 0; i < N; i++)); do
  for b in new old; do
    [ $b = old ] && [ -z "${OLD:-}" ] && continue
    q=$QUERN
    [ $b = old ] && q=$OLD
    for th in 1 2; do
      read -r w c < <(t "$q" $th "$OUT/$b-t$th.h5")
      wall[$b$th]+="$w "
      cpu[$b$th]+="$c "
    done
  done
done
for b in new old; do
  [ $b = old ] && [ -z "${OLD:-}" ] && continue
  w1=$(tr ' ' '\n' <<<"${wall[${b}1]}" | grep . | med)
  w2=$(tr ' ' '\n' <<<"${wall[${b}2]}" | grep . | med)
  c1=$(tr ' ' '\n' <<<"${cpu[${b}1]}" | grep . | med)
  c2=$(tr ' ' '\n' <<<"${cpu[${b}2]}" | grep . | med)
  printf '%-4s -t 1 %7.2fs (CPU %6.2fs)  -t 2 %7.2fs (CPU %6.2fs)  scaling %.2fx   [walls t1: %s t2: %s]\n' \
    $b "$w1" "$c1" "$w2" "$c2" "$(echo "$w1 / $w2" | bc -l)" "${wall[${b}1]}" "${wall[${b}2]}"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$QUERN" "${ARGS[@]}" -t 3 -o "$OUT/new-t3.h5"
"$QUERN" "${ARGS[@]}" -t 2 -m "$LIMIT" -o "$OUT/new-m.h5"
for f in new-t2 new-t3 new-m; do
  if cmp -s "$OUT/new-t1.h5" "$OUT/$f.h5"; then echo "cmp new-t1 $f: same bytes"; else
    echo "cmp new-t1 $f: DIFFERENT"
    exit 1
  fi
done
# an older build used 2 to 15 lanes for grids of 4 MiB to 1 GiB (nominal):
# their last bits differ by design; above 1 GiB both have one lane's bits
for f in ${OLD:+old-t1 old-t2}; do
  if cmp -s "$OUT/new-t1.h5" "$OUT/$f.h5"; then echo "cmp new-t1 $f: same bytes"; else
    echo "cmp new-t1 $f: different (expected only for grids of 4 MiB to 1 GiB)"
  fi
done
