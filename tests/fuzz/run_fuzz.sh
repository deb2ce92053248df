#!/usr/bin/env bash
# run_fuzz.sh FUZZER DUMP SECONDS [CORPUS_DIR] — runs the Parquet fuzzer for
# SECONDS on a seed corpus made here: small files written by quern's writer
# (every codec), each also cut into footer-only and page-header inputs
# (the selector byte of fuzz_parquet.c in front). Exit 0 when no finding.
set -euo pipefail
fuzzer=$1 dump=$2 secs=$3
corpus=${4:-$(mktemp -d)}
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"; [ -n "${4:-}" ] || rm -rf "$corpus"' EXIT
mkdir -p "$corpus"
for codec in none snappy zstd gzip lz4 brotli; do
  "$dump" write "$seeds/$codec.parquet" 300 "$codec" 4096 512
  f="$seeds/$codec.parquet"
  size=$(stat -c %s "$f")
  flen=$(od -An -tu4 -j $((size - 8)) -N4 "$f" | tr -d ' ')
  { printf '\x00'; cat "$f"; } > "$corpus/file_$codec"
  { printf '\x04'; dd if="$f" iflag=skip_bytes,count_bytes skip=$((size - 8 - flen)) count="$flen" status=none; } > "$corpus/footer_$codec"
  { printf '\x05'; dd if="$f" iflag=skip_bytes,count_bytes skip=4 count=64 status=none; } > "$corpus/page_$codec"
done
printf '\x07\x03\x03\x88\xc6\xfa\x0a\x06' > "$corpus/rle"
printf '\x07\x80\x01\x04\x08\x0e\x03\x02\x00\x00\x00\xc0\x3f\x00\x00\x00\x00\x00\x00' > "$corpus/delta"
printf '\x06\x08\x05\x10\x01\x03\x88\xc6\xfa' > "$corpus/dict"
"$fuzzer" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="${QN_FUZZ_ARTIFACTS:-./}" "$corpus" 2>&1 | tail -25
