#!/usr/bin/env bash
# quern stats: the variance of integer columns against exact integer
# arithmetic (Python ints), with many morsels, several files and nulls.
set -euo pipefail
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$QN_SRC/tests/oracle/stats_int_exact.py" "$QUERN" "$work"
