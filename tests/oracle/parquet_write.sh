#!/usr/bin/env bash
# parquet_write.sh — DuckDB reads what quern writes: for each codec, a
# table of every type (nulls, NaN, ±inf, many row groups and pages) written
# by quern's Parquet writer is read by DuckDB, and each value must equal the
# same formula evaluated by DuckDB; types, statistics and created_by too.
# Env: QN_SRC (source tree), QN_BUILD (build tree).
set -euo pipefail
: "${QN_SRC:?}" "${QN_BUILD:?}"
DUMP="$QN_BUILD/tests/test_parquet_dump"
[ -x "$DUMP" ] || { echo "missing $DUMP"; exit 1; }
bash "$QN_SRC/scripts/setup-node.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$QN_SRC/tests/node"
node pq_write_check.mjs "$tmp" "$DUMP"
