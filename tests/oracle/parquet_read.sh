#!/usr/bin/env bash
# parquet_read.sh — quern reads what others write: Parquet files generated
# by DuckDB (V1/V2 x every codec x small/large row groups, all types, nulls,
# dictionary and plain) and by hyparquet-writer (every encoding it has) must
# give DuckDB's own count/min/max/sum/avg/stddev_pop per column, and random
# ranges read from several threads must equal one sequential read.
# Env: QN_SRC (source tree), QN_BUILD (build tree).
set -euo pipefail
: "${QN_SRC:?}" "${QN_BUILD:?}"
DUMP="$QN_BUILD/tests/test_parquet_dump"
[ -x "$DUMP" ] || { echo "missing $DUMP"; exit 1; }
bash "$QN_SRC/scripts/setup-node.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$QN_SRC/tests/node"
node pq_read_matrix.mjs "$tmp" "$DUMP"
