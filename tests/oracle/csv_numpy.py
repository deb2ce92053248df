#!/usr/bin/python3
"""Oracle for the CSV reader: CSV files written with numpy (np.savetxt in
several formats, plus hand-placed nan/inf spellings, int64 extremes, CRLF,
quoted numbers, a late float in an integer column, no final newline) are
read by `quern stats` and by np.loadtxt; every reported value must match
numpy's nan-functions on what np.loadtxt parsed (exact Python integers for
int64 columns).

count, nan, min, max: exact (the parsed doubles are bit-identical, so the
extremes are too). sum, mean, std, var: within 1e-12 relative.
usage: csv_numpy.py QUERN WORKDIR
"""
import glob, io, json, math, os, subprocess, sys
import numpy as np

QUERN, WORK = sys.argv[1], sys.argv[2]
REL = 1e-12
failures = []
rng = np.random.default_rng(20240607)


def quern_stats(*args):
    r = subprocess.run([QUERN, "stats", "--no-progress", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"quern stats {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout)


def num(v):
    return {"inf": math.inf, "-inf": -math.inf}.get(v, v) if isinstance(v, str) else v


def check(where, key, got, want, exact):
    got = math.nan if got is None else float(num(got))
    want = float(want)
    if math.isnan(want) and math.isnan(got):
        return
    ok = got == want if exact else (got == want or abs(got - want) <= REL * max(abs(got), abs(want)))
    if not ok:
        failures.append(f"{where} {key}: quern {got!r} numpy {want!r}")


def compare_float(where, q, x):
    finite = x[~np.isnan(x)]
    if q["type"] != "float64":
        failures.append(f"{where}: type {q['type']}, expected float64")
    if q["count"] != finite.size or q["nan"] != int(np.isnan(x).sum()):
        failures.append(f"{where}: count/nan {q['count']}/{q['nan']} vs {finite.size}/{np.isnan(x).sum()}")
        return
    if finite.size == 0:
        return
    check(where, "min", q["min"], np.nanmin(x), True)
    check(where, "max", q["max"], np.nanmax(x), True)
    if np.isinf(finite).any():
        return  # sum/mean/std of ±inf: inf or nan, checked by the kernel's tests
    check(where, "sum", q["sum"], math.fsum(finite), False)
    check(where, "mean", q["mean"], math.fsum(finite) / finite.size, False)
    check(where, "std", q["std"], np.nanstd(x), False)
    check(where, "var", q["var"], np.nanvar(x), False)


def compare_int(where, q, values):
    if q["type"] != "int64":
        failures.append(f"{where}: type {q['type']}, expected int64")
    exact = [int(v) for v in values]
    if q["count"] != len(exact):
        failures.append(f"{where}: count {q['count']} vs {len(exact)}")
        return
    for key, want in (("min", min(exact)), ("max", max(exact)), ("sum", sum(exact))):
        if q[key] != want:
            failures.append(f"{where} {key}: quern {q[key]!r} exact {want!r}")
    x = np.array(values, dtype=np.float64)
    check(where, "std", q["std"], np.std(x), False)


def loadtxt(path):
    with open(path, newline="") as f:
        head = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2, encoding="utf-8",
                      quotechar='"')
    return head, data


# 1. floats in several formats, one file each, one column per distribution
n = 200_003
cols = {
    "near_1e6": 1e6 + rng.standard_normal(n),
    "tiny": rng.standard_normal(n) * 1e-300,
    "wide": rng.standard_normal(n) * 10.0 ** rng.integers(-150, 150, n),
    "uniform": rng.random(n),
    "neg": -rng.exponential(3.0, n),
}
names = list(cols)
arr = np.column_stack([cols[k] for k in names])
for tag, fmt in (("g17", "%.17g"), ("e18", "%.18e"), ("f6", "%.6f"), ("e3", "%.3e")):
    path = os.path.join(WORK, f"floats_{tag}.csv")
    np.savetxt(path, arr, fmt=fmt, delimiter=",", header=",".join(names), comments="")
    head, data = loadtxt(path)
    res = quern_stats(path)
    if res["rows"] != n:
        failures.append(f"{tag}: rows {res['rows']} != {n}")
    for j, name in enumerate(head):
        compare_float(f"{tag}:{name}", res["columns"][name], data[:, j])

# 2. special spellings, CRLF, quoted numbers, no final newline
special = ["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "+inf", "1e308", "-1e-308",
           "4.9e-324", "0.1", "-0.0", ".5", "5.", "1E5", "2.5e-3"]
lines = ["x,y"] + [f"{s},\"{i}.25\"" for i, s in enumerate(special * 50)]
path = os.path.join(WORK, "special.csv")
with open(path, "w", newline="") as f:
    f.write("\r\n".join(lines))
x = np.array([float(s) for s in special * 50])
y = np.array([i + 0.25 for i in range(len(special) * 50)])
res = quern_stats(path)
compare_float("special:x", res["columns"]["x"], x)
compare_float("special:y", res["columns"]["y"], y)

# 3. int64: extremes, random, a late float makes float64
ints = rng.integers(-2**62, 2**62, 100_000).tolist() + [-2**63, 2**63 - 1, 0, -1]
late = list(range(300_000))
path = os.path.join(WORK, "ints.csv")
with open(path, "w") as f:
    f.write("big,late\n")
    for i in range(len(late)):
        b = ints[i] if i < len(ints) else 7
        f.write(f"{b},{late[i] if i < len(late) - 1 else '1.5'}\n")
res = quern_stats(path)
compare_int("ints:big", res["columns"]["big"], ints + [7] * (len(late) - len(ints)))
compare_float("ints:late", res["columns"]["late"], np.array(late[:-1] + [1.5], dtype=np.float64))

# 4. several files as one table (a glob, sorted by name) equal their concatenation
parts = []
for k in range(4):
    m = 70_000 + 1_111 * k
    a = np.column_stack([1e3 + rng.standard_normal(m), rng.integers(-10**9, 10**9, m)])
    parts.append(a)
    with open(os.path.join(WORK, f"part{k}.csv"), "w") as f:
        f.write("v,k\n")
        for v, kk in a:
            f.write(f"{v!r},{int(kk)}\n")
res = quern_stats(os.path.join(WORK, "part*.csv"))
allv = np.concatenate([p[:, 0] for p in parts])
allk = np.concatenate([p[:, 1] for p in parts]).astype(np.int64).tolist()
if res["rows"] != allv.size:
    failures.append(f"glob: rows {res['rows']} != {allv.size}")
compare_float("glob:v", res["columns"]["v"], allv)
compare_int("glob:k", res["columns"]["k"], allk)

if failures:
    print("\n".join(failures[:40]))
    print(f"{len(failures)} mismatch(es)")
    sys.exit(1)
print("csv numpy oracle: all values match")
