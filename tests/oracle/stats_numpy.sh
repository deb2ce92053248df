#!/usr/bin/env bash
# quern stats against numpy (h5py-made files of every type and layout).
set -euo pipefail
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$QN_SRC/tests/oracle/stats_numpy.py" "$QUERN" "$work"
