#!/usr/bin/env bash
# quern stats on CSV files written by numpy against np.loadtxt + numpy's
# nan-functions (exact Python integers for int64 columns).
set -euo pipefail
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$QN_SRC/tests/oracle/csv_numpy.py" "$QUERN" "$work"
