#!/usr/bin/env bash
# run_fuzz_csv.sh FUZZER SECONDS [CORPUS_DIR] — runs the CSV fuzzer
# (fuzz_csv.c) for SECONDS on a seed corpus made here: small files covering
# what the reader handles (quotes with "" and newlines, CRLF, a byte-order
# mark, blank lines, nulls, int64 extremes, nan/inf spellings, strings, a
# file spanning several 64-row morsels) and what it refuses (a short row
# deep in a file, an unterminated quote, a NUL byte, Latin-1), each with the
# selector byte of fuzz_csv.c in front (0: roomy budget, 1: tight), plus
# single fields for the number parsers (selector 6). Exit 0 when no finding.
set -euo pipefail
fuzzer=$1 secs=$2
corpus=${3:-$(mktemp -d)}
trap '[ -n "${3:-}" ] || rm -rf "$corpus"' EXIT
mkdir -p "$corpus"

seed() { # seed NAME TEXT: the text as a file, once per budget selector
  printf '\x00%b' "$2" >"$corpus/$1"
  printf '\x01%b' "$2" >"$corpus/$1.tight"
}
seed ints 'a,b\n1,2\n3,4\n'
seed floats 'x,y,z\n1.5,-2e3,nan\n,inf,-Infinity\n0.1,1e-320,+7\n'
seed quotes 'k,"q ""x"""\r\n1,"multi\nline, a"\r\n2,""\r\n3,"plain"\r\n'
seed bom_blank '\xef\xbb\xbfa\n\n1\n\n2'
seed strings 'n,s\n1,abc\n2,\n3,d \xc3\xa9\n'
seed extremes 'i,j\n9223372036854775807,1\n-9223372036854775808,2\n9223372036854775808,3\n'
seed header_only 'a,b,c\n'
seed short_row 'a,b\n1,2\n3\n5,6\n'
seed unterminated 'a,b\n1,"x\n2,3\n'
seed after_quote 'a,b\n1,"x"y\n'
seed nul 'a,b\n1,2\n3\0,4\n'
seed latin1 'a,b\n1,caf\xe9\n'
# several 64-row morsels, with nulls and quoted newlines in between, and a
# copy with a short row in the third morsel
many='k,x,q\n'
for i in $(seq 0 199); do
  if [ $((i % 50)) -eq 7 ]; then many+="$i,,\"multi\\nline, $i\"\\n"; else many+="$i,$i.25,t$i\\r\\n"; fi
done
seed many "$many"
seed many_bad "${many/150,150.25,t150/150}"
for f in ' 12 ' '-0.0' '1e308' '4.9e-324' '2.2250738585072011e-308' '0x1p3' 'nan(1)' \
  'Infinity' '+inf' '9223372036854775808' '-9223372036854775809' '1_000' '  .5e-3\t' \
  '123456789012345678901234567890' '1.' '.' '+' 'e5'; do
  printf '\x06%b' "$f" >"$corpus/field_$(printf '%s' "$f" | od -An -tx1 | tr -d ' \n')"
done
"$fuzzer" -max_total_time="$secs" -max_len=16384 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="${QN_FUZZ_ARTIFACTS:-./}" "$corpus" 2>&1 | tail -25
