#!/usr/bin/python3
"""Oracle for `quern stats`: builds HDF5 files with h5py covering every
integer and float type, NaN, ±inf, several files, groups, a compound
dataset, a 2-D dataset, an empty dataset and a single value, runs quern and
compares each reported value with numpy's nan-functions (or exact Python
integers where numpy would round).

count, nan, min, max: exact. sum, mean, std, var: within 1e-12 relative.
usage: stats_numpy.py QUERN WORKDIR
"""
import json, math, os, subprocess, sys
import h5py
import numpy as np

QUERN, WORK = sys.argv[1], sys.argv[2]
REL = 1e-12
failures = []


def quern_stats(*args):
    r = subprocess.run([QUERN, "stats", "--no-progress", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"quern stats {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout)


def as_num(v):
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    return v


def close(a, b):
    if b is None:
        return a is None
    if a is None:  # JSON has no NaN: quern writes null
        a = math.nan
    a, b = float(as_num(a)), float(b)
    if math.isnan(b):
        return math.isnan(a)
    if math.isinf(b) or math.isinf(a):
        return a == b
    return a == b or abs(a - b) <= REL * max(abs(a), abs(b))


def expect(where, key, got, want, exact):
    ok = (got == want) if exact else close(got, want)
    if not ok:
        failures.append(f"{where}: {key} = {got!r}, numpy says {want!r}")


def check_column(where, got, values):
    """values: numpy array of the column (all files concatenated)."""
    a = np.asarray(values)
    isint = a.dtype.kind in "iu"
    if isint:
        ints = [int(v) for v in a]
        n = len(ints)
        expect(where, "count", got["count"], n, True)
        expect(where, "nan", got["nan"], 0, True)
        if n == 0:
            for k in ("min", "max", "mean", "std", "var"):
                expect(where, k, got[k], None, True)
            expect(where, "sum", got["sum"], 0, True)
            return
        s = sum(ints)
        expect(where, "min", got["min"], min(ints), True)
        expect(where, "max", got["max"], max(ints), True)
        expect(where, "sum", got["sum"], s, True)  # exact, even past 2^53
        from fractions import Fraction
        mean = Fraction(s, n)
        var = sum((Fraction(v) - mean) ** 2 for v in ints) / n
        expect(where, "mean", got["mean"], float(mean), False)
        expect(where, "var", got["var"], float(var), False)
        expect(where, "std", got["std"], math.sqrt(float(var)), False)
        return
    x = a.astype(np.float64)  # quern accumulates float32 in double
    nan = int(np.isnan(x).sum())
    n = x.size - nan
    expect(where, "count", got["count"], n, True)
    expect(where, "nan", got["nan"], nan, True)
    if n == 0:
        for k in ("min", "max", "mean", "std", "var"):
            expect(where, k, got[k], None, True)
        expect(where, "sum", as_num(got["sum"]), 0, False)
        return
    expect(where, "min", as_num(got["min"]), float(np.nanmin(x)), True)
    expect(where, "max", as_num(got["max"]), float(np.nanmax(x)), True)
    finite = x[~np.isnan(x)]
    if np.isinf(finite).any():
        want_sum = float(np.nansum(x))
    else:
        want_sum = math.fsum(finite)  # numpy's pairwise sum is within 1e-12 of this
        expect(where, "sum(vs numpy)", as_num(got["sum"]), float(np.nansum(x)), False)
    with np.errstate(invalid="ignore"):
        expect(where, "sum", as_num(got["sum"]), want_sum, False)
        expect(where, "mean", as_num(got["mean"]), float(np.nanmean(x)), False)
        expect(where, "var", as_num(got["var"]), float(np.nanvar(x)), False)
        expect(where, "std", as_num(got["std"]), float(np.nanstd(x)), False)


rng = np.random.default_rng(20261121)
N = 300_000  # several morsels per file
os.makedirs(WORK, exist_ok=True)

# 1. every type, NaN and ±inf, three files of different sizes
types = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]
files, cols = [], {t: [] for t in types}
for fi, n in enumerate([N, 70_000, 1]):
    p = os.path.join(WORK, f"types{fi}.h5")
    with h5py.File(p, "w") as f:
        for t in types:
            info = np.iinfo(t) if t[0] in "iu" else None
            if info is not None:
                v = rng.integers(info.min, info.max, size=n, dtype=t, endpoint=True)
            else:
                v = (1e6 + rng.normal(size=n)).astype(t)  # large mean, unit spread
                if n > 10:
                    v[rng.integers(0, n, 50)] = np.nan
            f.create_dataset(t, data=v, chunks=(min(n, 50_000),) if n > 1 else None)
            cols[t].append(v)
    files.append(p)
got = quern_stats(*files)
for t in types:
    check_column(f"types/{t}", got["columns"][t], np.concatenate(cols[t]))
    if got["columns"][t]["type"] != t:
        failures.append(f"types/{t}: type reported as {got['columns'][t]['type']}")
if got["rows"] != N + 70_000 + 1:
    failures.append(f"types: rows = {got['rows']}")

# per-file results equal numpy per file
got = quern_stats(*files, "--per-file", "-c", "float64,int64")
for fi, fobj in enumerate(got["files"]):
    for t in ("float64", "int64"):
        check_column(f"per-file {fi}/{t}", fobj["columns"][t], cols[t][fi])

# 2. infinities, all-NaN, empty, single value, big int64 and uint64 sums
p = os.path.join(WORK, "edge.h5")
with h5py.File(p, "w") as f:
    a = rng.normal(size=1000); a[3] = np.inf; a[7] = -np.inf
    f["both_inf"] = a
    b = rng.normal(size=1000); b[5] = np.inf
    f["pos_inf"] = b
    f["all_nan"] = np.full(1000, np.nan)
    f["big_i64"] = np.full(1000, 2**62 + 12345, dtype=np.int64)
    f["big_u64"] = np.full(1000, 2**64 - 3, dtype=np.uint64)
    f["near53"] = (2**53 + np.arange(1000)).astype(np.int64)
got = quern_stats(p)
for k in ("both_inf", "pos_inf", "all_nan", "big_i64", "big_u64", "near53"):
    with h5py.File(p) as f:
        check_column(f"edge/{k}", got["columns"][k], f[k][:])

p = os.path.join(WORK, "empty.h5")
with h5py.File(p, "w") as f:
    f.create_dataset("e", shape=(0,), dtype="f8")
got = quern_stats(p)
check_column("empty/e", got["columns"]["e"], np.zeros(0))

p = os.path.join(WORK, "one.h5")
with h5py.File(p, "w") as f:
    f["x"] = np.array([3.25])
got = quern_stats(p)
check_column("one/x", got["columns"]["x"], np.array([3.25]))

# 3. groups, compound, 2-D, gzip-filtered and big-endian data
p = os.path.join(WORK, "layout.h5")
g1 = rng.normal(size=N)
m = rng.normal(size=(N, 3))
rec = np.zeros(N, dtype=[("id", "<i4"), ("energy", "<f8"), ("name", "S4"), ("w", "<f4")])
rec["id"] = rng.integers(0, 1000, N); rec["energy"] = rng.exponential(size=N); rec["w"] = rng.random(N)
be = rng.normal(size=N).astype(">f8")
gz = rng.normal(size=N)
with h5py.File(p, "w") as f:
    f.create_group("run1")["energy"] = g1
    f["m"] = m
    f["table"] = rec
    f["be"] = be
    f.create_dataset("gz", data=gz, chunks=(40_000,), compression="gzip", shuffle=True)
    f.create_dataset("names", data=np.array([b"a", b"b"] * (N // 2)))
got = quern_stats(f"{p}:/run1")
check_column("group run1/energy", got["columns"]["energy"], g1)
got = quern_stats(f"{p}:/table")
for fld in ("id", "energy", "w"):
    check_column(f"compound/{fld}", got["columns"][fld], rec[fld])
if "name" in got["columns"]:
    failures.append("compound: string field 'name' reported as numeric")
got = quern_stats(p, "-c", "m[0],m[1],m[2],be,gz")
for j in range(3):
    check_column(f"2-D/m[{j}]", got["columns"][f"m[{j}]"], m[:, j])
check_column("big-endian/be", got["columns"]["be"], be)
check_column("gzip/gz", got["columns"]["gz"], gz)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("stats oracle: all values agree with numpy")
