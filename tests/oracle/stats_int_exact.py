#!/usr/bin/python3
"""Oracle for the variance of integer columns in `quern stats`: the exact
population variance (n·Σx² - (Σx)²) / n² in Python's integers, against
quern's var, std and mean, on the data where a float computation loses it:
int64 near ±2^53 and ±2^62 with a small spread, ranges crossing each of
quern's deviation tiers (2^24, 2^48), the full int64 range, uint64 near 2^64,
narrow types at their limits; over several files of several morsels each,
per file, and with nulls (CSV, and Parquet converted from it).

The contract is 1e-12 relative (docs/cli.md); quern computes the numerator
exactly and rounds once, so var is also checked to one ulp.
usage: stats_int_exact.py QUERN WORKDIR
"""
import json, math, os, subprocess, sys
import h5py
import numpy as np

QUERN, WORK = sys.argv[1], sys.argv[2]
REL = 1e-12
failures = []


def quern(*args):
    r = subprocess.run([QUERN, *args, "--no-progress"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"quern {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def rel(a, b):
    return 0.0 if a == b else abs(a - b) / abs(b)


def check(where, got, ints):
    """got: quern's JSON of one column; ints: the present values (Python ints)."""
    n = len(ints)
    s = sum(ints)
    num = n * sum(v * v for v in ints) - s * s  # exact
    var = num / (n * n)  # Python rounds an int/int quotient correctly
    std = math.sqrt(var)
    if got["count"] != n or got["sum"] != s:
        failures.append(f"{where}: count/sum {got['count']}/{got['sum']}, exact {n}/{s}")
    for key, want in (("var", var), ("std", std), ("mean", s / n)):
        if rel(got[key], want) > REL:
            failures.append(f"{where}: {key} = {got[key]!r}, exact {want!r} "
                            f"(relative error {rel(got[key], want):.3g})")
    if abs(got["var"] - var) > math.ulp(var):
        failures.append(f"{where}: var = {got['var']!r} is more than one ulp from {var!r}")


rng = np.random.default_rng(20261207)
I64 = np.iinfo(np.int64)


def column(name, n):
    """The values of column `name` for a file of n rows."""
    u = lambda hi: rng.integers(0, hi, n, dtype=np.uint64, endpoint=True)
    i = lambda lo, hi: rng.integers(lo, hi, n, dtype=np.int64, endpoint=True)
    if name == "p53":  # the report of issue 11
        return (2**53 + u(1000)).astype(np.int64)
    if name == "m53":
        return -(2**53) - u(1000).astype(np.int64)
    if name == "p62":
        return 2**62 + u(2**20).astype(np.int64)
    if name == "m62_mid":  # a range past 2^24: the middle tier
        return -(2**62) - u(2**30).astype(np.int64)
    if name == "p62_wide":  # a range past 2^48: the wide tier, large mean
        return 2**62 + u(2**50).astype(np.int64)
    if name in ("edge24", "edge48"):  # ranges of exactly 2^24 - 1 and 2^48 - 1
        span = 2 ** int(name[4:]) - 1
        v = 2**53 + u(span).astype(np.int64)
        v[:2] = [2**53, 2**53 + span][:n]
        return v
    if name == "full":
        v = i(I64.min, I64.max)
        v[:2] = [I64.min, I64.max][:n]
        return v
    if name == "outlier":  # near 2^63 - 1 but for one value at -2^63
        v = I64.max - u(100).astype(np.int64)
        v[n // 2] = I64.min
        return v
    if name == "u64top":
        return np.uint64(2**64 - 1) - u(5000)
    if name == "u64full":
        v = u(2**64 - 1)
        v[0] = 0
        return v
    if name == "i32top":
        return (2**31 - 1 - u(7)).astype(np.int32)
    if name == "i32bot":
        return (-(2**31) + u(3)).astype(np.int32)
    if name == "u32top":
        return (2**32 - 1 - u(1)).astype(np.uint32)
    if name == "i16":
        return i(-(2**15), 2**15 - 1).astype(np.int16)
    if name == "i8top":
        return (127 - u(1)).astype(np.int8)
    raise KeyError(name)


NAMES = ["p53", "m53", "p62", "m62_mid", "p62_wide", "edge24", "edge48", "full", "outlier",
         "u64top", "u64full", "i32top", "i32bot", "u32top", "i16", "i8top"]
SIZES = [150_000, 70_000, 1]  # several morsels, a file of one row
os.makedirs(WORK, exist_ok=True)

# 1. HDF5: three files, every column, totals and per file
files, data = [], {k: [] for k in NAMES}
for fi, n in enumerate(SIZES):
    p = os.path.join(WORK, f"ints{fi}.h5")
    with h5py.File(p, "w") as f:
        for k in NAMES:
            v = column(k, n)
            f.create_dataset(k, data=v, chunks=(min(n, 40_000),) if n > 1 else None)
            data[k].append(v)
    files.append(p)
out1 = quern("stats", "-t", "1", "--per-file", *files)
out2 = quern("stats", "-t", "2", "-m", "64M", "--per-file", *files)
if out1 != out2:
    failures.append("hdf5: output differs between -t 1 and -t 2 -m 64M")
got = json.loads(out1)
for k in NAMES:
    check(f"hdf5/{k}", got["columns"][k], [int(x) for v in data[k] for x in v])
    for fi in range(len(SIZES)):
        check(f"hdf5 file {fi}/{k}", got["files"][fi]["columns"][k], [int(x) for x in data[k][fi]])

# 2. nulls: CSV (nullable int64 columns) and the same data as Parquet
n = 140_000
cols = {k: column(k, n) for k in ("p53", "m62_mid", "full", "p62_wide")}
mask = {k: rng.random(n) < 0.2 for k in cols}
csv = os.path.join(WORK, "nulls.csv")
with open(csv, "w") as f:
    f.write(",".join(cols) + "\n")
    rows = zip(*[["" if m else str(int(x)) for x, m in zip(cols[k], mask[k])] for k in cols])
    f.writelines(",".join(r) + "\n" for r in rows)
pq = os.path.join(WORK, "nulls.parquet")
quern("convert", csv, "-o", pq)
for path in (csv, pq):
    got = json.loads(quern("stats", path))
    for k in cols:
        c = got["columns"][k]
        if c["type"] != "int64" or c["null"] != int(mask[k].sum()):
            failures.append(f"{path}/{k}: type {c['type']}, null {c['null']}, want int64, "
                            f"{int(mask[k].sum())}")
        check(f"{os.path.basename(path)}/{k}", c, [int(x) for x, m in zip(cols[k], mask[k]) if not m])

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("integer variance oracle: every var, std and mean within one ulp / 1e-12 of exact")
