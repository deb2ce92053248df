#!/usr/bin/env bash
# demo.sh — the main jobs on built-in samples: generate 10M rows and a run of
# 12 Parquet files, describe them, summarise the 12 files under
# `quern monitor` (the memory plot stays in one band from the first file to
# the last), bin them (2-D mean heatmap, 1-D histogram), group 2M
# measurements into one row per probe (train/test split) and verify them,
# and leave the results in demo-out/. About 25 s after the build on 2 cores;
# 1.1 GB of disk.
set -euo pipefail
quern=${1:-build/quern}
out=${2:-demo-out}
mkdir -p "$out" "$out/runs"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }

step "generate 10M rows of sample data (x, y, z uniform; v normal)" \
  quern gen sim --rows 10M -o "$out/sim.h5"
"$quern" gen sim --rows 10M -o "$out/sim.h5"

step "what is in the file" quern info "$out/sim.h5"
"$quern" info "$out/sim.h5" | tee "$out/info.txt"

step "a run of 12 Parquet files, 2M rows each (zstd), one seed per file" \
  'for i in 01 .. 12; do quern gen sim --rows 2M --seed $i --codec zstd -o '"$out"'/runs/run_$i.parquet; done'
for i in $(seq -w 1 12); do
  "$quern" gen sim --rows 2M --seed "$i" --codec zstd -o "$out/runs/run_$i.parquet" -q
done
ls "$out/runs" | sed 's/^/  /' | head -3
echo "  ... ($(ls "$out/runs" | wc -l) files, $(du -sh "$out/runs" | cut -f1))"

step "per-column statistics of the 12 files as one table, under the memory monitor" \
  quern monitor --interval 10 -o "$out/stats-memory.csv" --plot "$out/stats-memory.png" -- \
  quern stats "'$out/runs/run_*.parquet'" --per-file -o "$out/stats.json"
"$quern" monitor --interval 10 -o "$out/stats-memory.csv" --plot "$out/stats-memory.png" \
  --title "quern stats over 12 Parquet files (24M rows): one band of memory, file after file" -- \
  "$quern" stats "$out/runs/run_*.parquet" --per-file -o "$out/stats.json" --no-progress
head -24 "$out/stats.json"
echo "  ... (then one summary per file under \"files\")"
echo "The memory profile: $out/stats-memory.png (one tooth per file, back down between files)"

step "2-D binned mean of v over (x, y), 100x100, as a heatmap" \
  quern bin "$out/sim.h5" --axis x:100:0:1 --axis y:100:0:1 --value v --stat count,mean,std -o "$out/bin2d.json" --plot "$out/bin2d-mean.png"
"$quern" monitor --interval 5 -o "$out/bin-memory.csv" --plot "$out/bin-memory.png" \
  --title "quern bin: 100 x 100 grid of mean, count, std of v over (x, y), 10M rows" -- \
  "$quern" bin "$out/sim.h5" --axis x:100:0:1 --axis y:100:0:1 --value v \
  --stat mean,count,std -o "$out/bin2d.json" --plot "$out/bin2d-mean.png"

step "1-D histogram of v, 60 bins over its range" \
  quern bin "$out/sim.h5" --axis v:60 -o "$out/hist-v.csv" --plot "$out/hist-v.png"
"$quern" bin "$out/sim.h5" --axis v:60 -o "$out/hist-v.csv" --plot "$out/hist-v.png"
head -4 "$out/hist-v.csv"

step "one row per probe for ML training: 2M unsorted measurements of 80K probes, grouped by probe, ordered by time, split train/test, in 128 MiB" \
  quern gen measurements --rows 2M --keys 80K -o "$out/meas.parquet" '&&' \
  quern group "$out/meas.parquet" --key probe_id --order ts --split train=0.9,test=0.1 -m 128M -o "$out/probes" --force
"$quern" gen measurements --rows 2M --keys 80K -o "$out/meas.parquet" -q
"$quern" group "$out/meas.parquet" --key probe_id --order ts --split train=0.9,test=0.1 \
  -m 128M -o "$out/probes" --force --no-progress
ls -l "$out/probes" | tail -n +2 | sed 's/^/  /'
step "check what was written: sizes, checksums, footers, row totals" quern verify "$out/probes"
"$quern" verify "$out/probes"

printf '\nResults in %s/:\n' "$out"
ls -1 "$out" | sed 's/^/  /'
