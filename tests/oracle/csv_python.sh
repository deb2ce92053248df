#!/usr/bin/env bash
# The CSV reader against Python's csv module on random awkward files.
set -euo pipefail
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$QN_SRC/tests/oracle/csv_python.py" "$QUERN" "$work"
