#!/usr/bin/env bash
# run_all.sh — every benchmark in turn, each printing its peers, quern and
# the ratios (what `make bench` runs). Needs several GiB of free memory for
# the numpy/scipy peers at the default 1e8 rows and a few minutes per script.
#   bench/run_all.sh [QUERN]        env: ROWS (1e8), REPEAT (3)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
quern=$(realpath "${1:-$here/../build/quern}")
[ -x "$quern" ] || { echo "run_all.sh: no quern at $quern; run 'make build' first" >&2; exit 1; }
rows=${ROWS:-100000000}
reps=${REPEAT:-3}
bash "$here/../scripts/setup-node.sh" || echo "run_all.sh: no DuckDB (node setup failed): its peers are skipped" >&2

failed=0
run() {
	echo "=== $*"
	"$@" || { echo "run_all.sh: '$*' failed (exit $?)" >&2; failed=1; }
}
run bash "$here/bench_stats.sh" "$quern" "$rows" "$reps"
run env QUERN="$quern" BENCH_ROWS="$rows" BENCH_REPEAT="$reps" bash "$here/bench_bin.sh"
run bash "$here/bench_parquet.sh" "$quern" "$rows" "$reps"
run env REPEAT="$reps" bash "$here/bench_monitor.sh" "$(dirname "$quern")"
if [ -d "$(dirname "$quern")/python/quern" ]; then
	run env PYTHONPATH="$(dirname "$quern")/python" /usr/bin/python3 "$here/bench_python.py" \
		--rows "$rows" --repeat "$reps"
fi
exit $failed
