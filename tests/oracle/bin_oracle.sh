#!/bin/bash
# quern bin against numpy.histogramdd, np.histogram and scipy's
# binned_statistic_dd (see bin_oracle.py). Needs Debian's python3-numpy,
# python3-scipy and python3-h5py under /usr/bin/python3.
set -euo pipefail
: "${QUERN:?QUERN must point to the quern binary}" "${QN_SRC:?QN_SRC must point to the source tree}"
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy, scipy, h5py' 2>/dev/null; then
  echo "bin_oracle: $PY lacks numpy/scipy/h5py (apt-get install python3-numpy python3-scipy python3-h5py)" >&2
  exit 1
fi
export QUERN
exec "$PY" "$QN_SRC/tests/oracle/bin_oracle.py"
