#!/usr/bin/env bash
# --memory-limit is a hard budget for the whole process: the peak resident
# set (the kernel's high-water mark, from /usr/bin/time) of quern stats and
# quern bin stays within the limit, and the output is the one of the
# default budget. With the default budget stats stays within 64 MiB.
source "$(dirname "$0")/lib.bash"
cd "$work"
"$QUERN" gen sim --rows 8000000 --seed 3 -o a.h5 -q # 256 MB

peak_mib() { # peak_mib ARGS...: runs quern, prints its peak RSS in MiB
  /usr/bin/time -f %M -o rss.txt "$QUERN" "$@" --no-progress >/dev/null 2>"$err" || {
    echo "FAIL: quern $* exited $?"; sed 's/^/  stderr: /' "$err" | head -3; fails=$((fails + 1))
  }
  echo $(($(tail -1 rss.txt) / 1024))
}
within() { # within WHAT MIB LIMIT
  if [ "$2" -gt "$3" ]; then echo "FAIL: $1: peak RSS $2 MiB over $3 MiB"; fails=$((fails + 1)); fi
}

BIN=(-a x:100:0:1 -a y:100:0:1 -v v -s count,mean,std)
for t in 1 2; do
  within "stats -t $t, default budget" "$(peak_mib stats a.h5 -t $t -o s_def.json)" 64
  peak_mib bin a.h5 "${BIN[@]}" -t $t -o b_def.json >/dev/null
  for lim in 24 32 48; do
    within "stats -t $t -m ${lim}M" "$(peak_mib stats a.h5 -t $t -m ${lim}M -o s.json)" $lim
    check "stats -t $t -m ${lim}M: same output" cmp s.json s_def.json
    [ $lim = 24 ] && continue # the bin grids (16 lanes) do not fit beside the process in 24M
    within "bin -t $t -m ${lim}M" "$(peak_mib bin a.h5 "${BIN[@]}" -t $t -m ${lim}M -o b.json)" $lim
    check "bin -t $t -m ${lim}M: same output" cmp b.json b_def.json
  done
done
finish
