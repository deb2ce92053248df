#!/usr/bin/env bash
# demo.sh — the main jobs on a built-in sample: generate 10M rows, describe
# them, summarise them, bin them (2-D mean heatmap, 1-D histogram), all under
# `quern monitor`, and leave the results in demo-out/.
set -euo pipefail
quern=${1:-build/quern}
out=${2:-demo-out}
mkdir -p "$out"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }

step "generate 10M rows of sample data (x, y, z uniform; v normal)" \
  quern gen sim --rows 10M -o "$out/sim.h5"
"$quern" gen sim --rows 10M -o "$out/sim.h5"

step "what is in the file" quern info "$out/sim.h5"
"$quern" info "$out/sim.h5" | tee "$out/info.txt"

step "per-column statistics, under the memory monitor" \
  quern monitor --interval 10 -o "$out/stats-memory.csv" --plot "$out/stats-memory.png" -- quern stats "$out/sim.h5" -o "$out/stats.json"
"$quern" monitor --interval 10 -o "$out/stats-memory.csv" --plot "$out/stats-memory.png" -- \
  "$quern" stats "$out/sim.h5" -o "$out/stats.json"
head -24 "$out/stats.json"

step "2-D binned mean of v over (x, y), 100x100, as a heatmap" \
  quern bin "$out/sim.h5" --axis x:100:0:1 --axis y:100:0:1 --value v --stat count,mean,std -o "$out/bin2d.json" --plot "$out/bin2d-mean.png"
"$quern" monitor -o "$out/bin-memory.csv" --plot "$out/bin-memory.png" -- \
  "$quern" bin "$out/sim.h5" --axis x:100:0:1 --axis y:100:0:1 --value v \
  --stat mean,count,std -o "$out/bin2d.json" --plot "$out/bin2d-mean.png"

step "1-D histogram of v, 60 bins over its range" \
  quern bin "$out/sim.h5" --axis v:60 -o "$out/hist-v.csv" --plot "$out/hist-v.png"
"$quern" bin "$out/sim.h5" --axis v:60 -o "$out/hist-v.csv" --plot "$out/hist-v.png"
head -4 "$out/hist-v.csv"

printf '\nResults in %s/:\n' "$out"
ls -1 "$out" | sed 's/^/  /'
