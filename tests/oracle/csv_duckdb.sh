#!/usr/bin/env bash
# quern stats on CSV files written by DuckDB against DuckDB's own read_csv
# count/min/max/sum/avg/stddev_pop (see csv_duckdb.mjs).
set -euo pipefail
: "${QN_SRC:?}" "${QUERN:?}"
bash "$QN_SRC/scripts/setup-node.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
node "$QN_SRC/tests/oracle/csv_duckdb.mjs" "$QUERN" "$work"
