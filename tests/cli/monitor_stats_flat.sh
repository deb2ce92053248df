#!/usr/bin/env bash
# quern monitor on quern itself: `quern stats` over 40 files (2.6 GB of
# float64 in all) holds a flat line: the mean memory of the second half of
# the run is no higher than that of the first half (no growth from file to
# file), and the peak stays far below the data size. Means, not maxima:
# single samples jump as buffers and library caches come and go, while a
# leak of even half a MiB per file moves the second half's mean by 10 MiB.
set -u
QUERN=${QUERN:?path to quern}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
MiB=1048576

"$QUERN" gen sim --rows 2000000 -o "$tmp/base.h5" --seed 7 -q || fail "quern gen failed"
# Forty files: links to one, so the test costs 64 MB of disk, not 2.6 GB.
for i in $(seq -w 1 40); do ln -s base.h5 "$tmp/f_$i.h5"; done

for threads in 1 2; do
  csv=$tmp/mem_$threads.csv
  "$QUERN" monitor -q --interval 2 -o "$csv" -- \
    "$QUERN" stats --threads $threads "$tmp/f_*.h5" -o "$tmp/stats.json" --no-progress \
    || fail "quern stats under monitor exited $? (threads $threads)"
  grep -q '"rows": 80000000' "$tmp/stats.json" || fail "stats did not read all 40 files"
  n=$(($(wc -l <"$csv") - 1))
  [ "$n" -ge 40 ] || fail "only $n samples (threads $threads)"
  read -r first second peak < <(awk -F, -v n="$n" 'NR>1 {
      i = NR - 2
      if (i >= n/10 && i < n/2) { a += $2; na++ }
      if (i >= n/2) { b += $2; nb++ }
      if ($2 > p) p = $2
    } END { printf "%d %d %d\n", a / na, b / nb, p }' "$csv")
  echo "threads $threads: $n samples, mean first half $((first / MiB)) MiB," \
       "second half $((second / MiB)) MiB, peak $((peak / MiB)) MiB"
  [ "$second" -le $((first + first / 10 + MiB)) ] \
    || fail "memory grows from file to file: $((first / MiB)) MiB then $((second / MiB)) MiB (threads $threads)"
  [ "$peak" -lt $((128 * MiB)) ] || fail "peak $((peak / MiB)) MiB for a streaming scan (threads $threads)"
done
echo "ok monitor_stats_flat"
