#!/usr/bin/env bash
# bench_monitor.sh — what sampling costs: CPU time of `quern monitor` over a
# `sleep` of DURATION seconds at 50 ms and 10 ms, side by side with the
# peer from the seed (a shell loop calling `ps -o rss=` every interval, as
# monitor_python_memory.sh does). CPU is measured from outside, as the
# rusage of everything the sampler and its command ran, so both sides are
# counted the same way; each side's baseline (the same run sampling once:
# process start-up, the sleep itself) is subtracted, leaving the cost of
# sampling. quern's own figure (its getrusage over the sampling loop,
# printed in the summary) is shown too.
#
#   bench/bench_monitor.sh [BUILD_DIR]    env: DURATION=10 REPEAT=3
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
QUERN=$build/quern
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
[ -x "$QUERN" ] || { echo "no $QUERN; build first" >&2; exit 1; }

# cpu_of CMD...: CPU seconds (user + system) of CMD and all it waited for.
cpu_of() {
  python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.4f" % (r.ru_utime + r.ru_stime))' "$@"
}

peer_script='sleep "$1" & pid=$!
while kill -0 $pid 2>/dev/null; do ps -o rss= -p $pid >/dev/null; sleep "$2"; done'

median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# sample_cost INTERVAL_MS: cpu of quern and of the peer, baselines removed.
run_quern() { cpu_of "$QUERN" monitor -q --interval "$1" -- sleep "$DURATION"; }
run_peer() { cpu_of bash -c "$peer_script" peer "$DURATION" "$1"; }
own_share() {
  "$QUERN" monitor --interval "$1" -- sleep "$DURATION" 2>&1 >/dev/null |
    sed -n 's/.*sampling used \([0-9.]*\)%.*/\1/p'
}

echo "# sampling cost over sleep $DURATION, median of $REPEAT runs ($(nproc) cores)"
qb=$(for _ in $(seq "$REPEAT"); do run_quern 3600000; done | median)
pb=$(for _ in $(seq "$REPEAT"); do run_peer "$((DURATION + 1))"; done | median)
echo "# baselines (one sample, start-up and sleep): quern ${qb} s, peer ${pb} s"
printf "%-9s %-26s %10s %14s\n" interval sampler "cpu (s)" "% of one core"
for ms in 50 10; do
  s=$(awk -v m=$ms 'BEGIN{printf "%.3f", m/1000}')
  q=$(for _ in $(seq "$REPEAT"); do run_quern "$ms"; done | median)
  p=$(for _ in $(seq "$REPEAT"); do run_peer "$s"; done | median)
  own=$(for _ in $(seq "$REPEAT"); do own_share "$ms"; done | median)
  q=$(awk -v a="$q" -v b="$qb" 'BEGIN{d=a-b; if (d<0.001) d=0.001; printf "%.4f", d}')
  p=$(awk -v a="$p" -v b="$pb" 'BEGIN{printf "%.4f", a-b}')
  for row in "quern monitor:$q" "shell loop + ps (seed):$p"; do
    name=${row%%:*}; cpu=${row##*:}
    printf "%-9s %-26s %10s %13.2f%%\n" "${ms} ms" "$name" "$cpu" \
      "$(awk -v c="$cpu" -v d="$DURATION" 'BEGIN{print 100*c/d}')"
  done
  printf "%-9s %-26s %10s %13.2f%%\n" "${ms} ms" "quern, own getrusage" "" "$own"
  awk -v q="$q" -v p="$p" -v m="$ms" 'BEGIN{printf "%-9s ratio peer / quern: %.0fx\n", m " ms", p/q}'
done
