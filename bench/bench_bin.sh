#!/bin/bash
# bench_bin.sh — quern bin against numpy / scipy on BENCH_ROWS rows (default
# 1e8) of `quern gen sim` data in an HDF5 file in the page cache.
#   QUERN=build/quern bench/bench_bin.sh
# Environment: BENCH_ROWS, BENCH_DIR (default /tmp/quern-bench), BENCH_THREADS
# (2), BENCH_REPEAT (3), BENCH_ONLY (substring of a case name).
# The peers need Debian's python3-numpy, python3-scipy and python3-h5py and,
# at 1e8 rows, several GiB of memory.
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
cat "$DATA" > /dev/null # into the page cache
QUERN=$QUERN BENCH_DATA=$DATA BENCH_OUT=$DIR exec /usr/bin/python3 "$HERE/bench_bin.py"
