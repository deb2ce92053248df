#!/usr/bin/env bash
# quern bin -o FILE.csv: one row per cell (last axis fastest), each axis's
# lower and upper edge, then the statistics; the same numbers as the JSON
# output, read back by Python's csv module; a column name holding a comma
# or a quote is quoted (RFC 4180).
source "$(dirname "$0")/lib.bash"
cd "$work"
/usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(5)
with open("in.csv", "w") as f:
    f.write('"a,b",y\n')  # the first column's name is a,b
    for x, y in zip(rng.random(5000), rng.normal(size=5000)):
        f.write(f"{x!r},{y!r}\n")
PY
run_quern 0 bin in.csv -a 'a,b:7' -a y:5:-2:2 -v y -s count,mean,min -o out.csv --no-progress
run_quern 0 bin in.csv -a 'a,b:7' -a y:5:-2:2 -v y -s count,mean,min -o out.json --no-progress
check "CSV and JSON agree" /usr/bin/python3 - <<'PY'
import csv, json, math
rows = list(csv.reader(open("out.csv", newline="")))
assert rows[0] == ["a,b_lo", "a,b_hi", "y_lo", "y_hi", "count", "mean", "min"], rows[0]
d = json.load(open("out.json"))
ea, ey = d["axes"][0]["edges"], d["axes"][1]["edges"]
assert len(rows) == 1 + 7 * 5, len(rows)
for c, r in enumerate(rows[1:]):
    i, j = divmod(c, 5)
    assert [float(v) for v in r[:4]] == [ea[i], ea[i + 1], ey[j], ey[j + 1]], (c, r)
    assert int(r[4]) == d["stats"]["count"][i][j], (c, r)
    for k, s in ((5, "mean"), (6, "min")):
        want = d["stats"][s][i][j]
        got = float(r[k])
        assert (want is None and math.isnan(got)) or got == want, (c, s, r[k], want)
assert sum(int(r[4]) for r in rows[1:]) + d["out_of_range"] == 5000
PY
finish
