#!/usr/bin/env bash
# Writing Parquet, HDF5 and CSV in a small budget (issue 11, item 4): gen
# measurements of 2M rows and converting them run in 64 MiB (peak RSS from
# /usr/bin/time within the limit), and the files are the ones the default
# budget writes: no layout decision depends on --memory-limit (gen sim of
# 3M rows once wrote 6 or 2 row groups by the limit).
source "$(dirname "$0")/lib.bash"
cd "$work"
peak() { # peak ARGS...: runs quern, prints its peak RSS in MiB
  /usr/bin/time -f %M -o rss.txt "$QUERN" "$@" --no-progress >/dev/null 2>"$err" || {
    echo "FAIL: quern $* exited $?"; sed 's/^/  stderr: /' "$err" | head -3; fails=$((fails + 1))
  }
  echo $(($(tail -1 rss.txt) / 1024))
}
within() { if [ "$2" -gt "$3" ]; then echo "FAIL: $1: peak RSS $2 MiB over $3 MiB"; fails=$((fails + 1)); fi; }

run_quern 0 gen measurements --rows 2000000 --keys 80000 -o m_def.parquet
within "gen measurements -m 64M" "$(peak gen measurements --rows 2000000 --keys 80000 -o m.parquet -m 64M)" 64
check "gen measurements: same bytes at -m 64M" cmp m.parquet m_def.parquet
for t in 1 2; do
  for out in c.parquet c.h5 c.csv; do
    run_quern 0 convert m.parquet -o "def_$out" -t $t
    within "convert to $out -t $t -m 64M" "$(peak convert m.parquet -o "$out" -t $t -m 64M)" 64
    check "convert to $out -t $t: same bytes at -m 64M" cmp "$out" "def_$out"
  done
done
run_quern 0 gen sim --rows 3000000 -o s_def.parquet
for lim in 48M 64M 256M; do
  run_quern 0 gen sim --rows 3000000 -o s.parquet -m $lim
  check "gen sim: same bytes at -m $lim" cmp s.parquet s_def.parquet
done
finish
