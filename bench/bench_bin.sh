#!/bin/bash
# bench_bin.sh — quern bin against numpy / scipy on BENCH_ROWS rows (default
# 1e8) of `quern gen sim` data in an HDF5 file in the page cache.
#   QUERN=build/quern bench/bench_bin.sh
# Environment: BENCH_ROWS, BENCH_DIR (default /tmp/quern-bench), BENCH_THREADS
# (2), BENCH_REPEAT (3), BENCH_ONLY (substring of a case name, or "scaling";
# "auto range" runs the cases where quern and the peers find the range).
# The peers need Debian's python3-numpy, python3-scipy and python3-h5py and,
# at 1e8 rows, several GiB of memory; the DuckDB peer needs node and
# `bash scripts/setup-node.sh` (skipped otherwise) and reads a Parquet copy
# of the same values (`quern gen sim`, same seed), rewritten once by DuckDB.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
QUERN=${QUERN:-$HERE/../build/quern}
ROWS=${BENCH_ROWS:-100000000}
DIR=${BENCH_DIR:-/tmp/quern-bench}
mkdir -p "$DIR"
DATA="$DIR/sim-$ROWS.h5"
if [ ! -s "$DATA" ]; then
  echo "generating $ROWS rows into $DATA" >&2
  "$QUERN" gen sim --rows "$ROWS" --seed 1 -o "$DATA"
fi
PARQUET= DUCK=
if command -v node >/dev/null && [ -d "$HERE/../tests/node/node_modules/@duckdb/node-api" ]; then
  PARQUET="$DIR/sim-$ROWS.parquet"
  DUCK="$HERE/../tests/node/bench_duck.mjs"
  if [ ! -s "$PARQUET" ]; then
    # quern gen sim writes the same values as the HDF5 file (same seed);
    # DuckDB rewrites them in its own layout (row groups, codec), its best case.
    echo "generating the Parquet copy $PARQUET" >&2
    "$QUERN" gen sim --rows "$ROWS" --seed 1 -o "$DIR/sim-$ROWS.quern.parquet" --no-progress
    node "$DUCK" 2 "setup:COPY (SELECT * FROM read_parquet('$DIR/sim-$ROWS.quern.parquet')) TO '$PARQUET' (FORMAT parquet)"
    rm -f "$DIR/sim-$ROWS.quern.parquet"
  fi
  cat "$PARQUET" > /dev/null
fi
cat "$DATA" > /dev/null # into the page cache
MEMBW=
if command -v cc >/dev/null && cc -O2 -pthread "$HERE/membw.c" -o "$DIR/membw"; then
  MEMBW="$DIR/membw" # the machine's own 1 -> 2 thread read scaling, next to quern's
fi
BENCH_MEMBW=$MEMBW QUERN=$QUERN BENCH_DATA=$DATA BENCH_OUT=$DIR BENCH_PARQUET=$PARQUET BENCH_DUCK=$DUCK \
  exec /usr/bin/python3 "$HERE/bench_bin.py"
