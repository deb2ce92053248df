#!/bin/bash
# ab_quern.sh — quern alone, two builds alternating (OLD=..., NEW=build/quern),
# medians of N (5): stats and bin on the bench files in BENCH_DIR
# (/tmp/quern-bench: sim-100000000.h5 from `quern gen sim --rows 1e8`,
# meas-20000000-760000.parquet from `quern gen measurements`).
old=${OLD:?OLD=path of the old quern} new=${NEW:-build/quern} N=${N:-5}
d=${BENCH_DIR:-/tmp/quern-bench}
h5=$d/sim-100000000.h5 meas=$d/meas-20000000-760000.parquet
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
run() { # name args...
  local name=$1; shift
  local to="" tn="" co="" cn=""
  for ((i=0;i<N;i++)); do
    for b in old new; do
      eval q=\$$b
      /usr/bin/time -f "%e %U %S" -o /tmp/ab.t $q "$@" --no-progress >/dev/null 2>&1
      read w u s < /tmp/ab.t
      if [ $b = old ]; then to+="$w "; co+="$(echo "$u + $s" | bc) "; else tn+="$w "; cn+="$(echo "$u + $s" | bc) "; fi
    done
  done
  printf '%-48s old %6.3fs new %6.3fs (%.2fx)  CPU old %6.3fs new %6.3fs (%.2fx)\n' "$name" \
    $(tr ' ' '\n' <<<"$to" | grep . | med) $(tr ' ' '\n' <<<"$tn" | grep . | med) \
    $(echo "$(tr ' ' '\n' <<<"$tn" | grep . | med) / $(tr ' ' '\n' <<<"$to" | grep . | med)" | bc -l) \
    $(tr ' ' '\n' <<<"$co" | grep . | med) $(tr ' ' '\n' <<<"$cn" | grep . | med) \
    $(echo "$(tr ' ' '\n' <<<"$cn" | grep . | med) / $(tr ' ' '\n' <<<"$co" | grep . | med)" | bc -l)
}
cat $h5 > /dev/null; cat $meas > /dev/null
echo "A/B $(date -u '+%F %H:%M') load $(cut -d' ' -f1-3 /proc/loadavg), -t 2, medians of $N (ratio new/old)"
run "stats 1e8 x 4 HDF5" stats $h5 -t 2 -o /dev/null
run "stats 20M measurements Parquet" stats $meas -t 2 -o /dev/null
run "bin 2-D 100x100 count,mean,std HDF5" bin $h5 -a x:100:0:1 -a y:100:0:1 -v v --stat count,mean,std -t 2 -o /tmp/ab.json
run "bin 3-D 50^3 count HDF5" bin $h5 -a x:50:0:1 -a y:50:0:1 -a z:50:0:1 -t 2 -o /tmp/ab.json
run "bin 1-D 100 count HDF5" bin $h5 -a x:100:0:1 -t 2 -o /tmp/ab.json
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
