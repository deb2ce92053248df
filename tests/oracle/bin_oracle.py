"""quern bin against numpy.histogramdd / np.histogram / scipy binned_statistic_dd.

Run by bin_oracle.sh with Debian's /usr/bin/python3 (numpy, scipy, h5py).
Inputs are HDF5 files written here with h5py: random data plus the nasty
values (every edge, one ULP either side, the last edge, NaN, +-inf, values
beyond both ends), int32 and float32 columns, repeated edges, 1-D to 4-D.

Counts, min and max must be identical; sum, mean and std within 1e-12
relative. scipy is given numpy's bin numbers (binned_statistic_result=...)
because scipy's own binning differs from numpy's on purpose in two places
(it rounds values near the last edge into the last bin and uses float32
edges for float32 data); quern follows numpy.histogramdd (docs/bin.md).
scipy's builtin 'min' skips NaN; quern (like np.min) returns NaN for a bin
holding a NaN, so those bins are checked against NaN.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from scipy.stats import binned_statistic_dd
from scipy.stats._binned_statistic import BinnedStatisticddResult

QUERN = os.environ["QUERN"]
TMP = tempfile.mkdtemp(prefix="qn_bin_oracle_")
atexit.register(shutil.rmtree, TMP, ignore_errors=True)  # also when a check fails
rng = np.random.default_rng(20240607)
failures = []
checks = 0


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, file=sys.stderr)


def quern(args, out_ext=".json"):
    out = os.path.join(TMP, "out" + out_ext)
    cmd = [QUERN, "bin", "--no-progress", "-o", out] + args
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"quern failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    if out_ext == ".json":
        with open(out) as f:
            return json.load(f)
    return out


def write_h5(name, cols):
    path = os.path.join(TMP, name)
    with h5py.File(path, "w") as f:
        for k, v in cols.items():
            f[k] = v
    return path


def nasty(edges, n, lo_pad=0.1):
    """Every edge, one ULP either side, specials, then random values."""
    e = np.asarray(edges, dtype=np.float64)
    parts = [e, np.nextafter(e, -np.inf), np.nextafter(e, np.inf),
             np.array([np.nan, np.inf, -np.inf, -0.0, 0.0])]
    head = np.concatenate(parts)
    span = e[-1] - e[0] if np.isfinite(e[-1] - e[0]) else 10.0
    lo = e[0] if np.isfinite(e[0]) else -5.0
    body = lo - lo_pad * span + (1 + 2 * lo_pad) * span * rng.random(n - head.size)
    body[rng.random(body.size) < 0.05] = rng.choice(e[np.isfinite(e)], size=None)
    x = np.concatenate([head, body])
    rng.shuffle(x)
    return x


def as_float(v):
    if v is None:
        return np.nan
    if isinstance(v, str):
        return float(v)  # "inf", "-inf"
    return float(v)


def stat_array(js, name):
    return np.vectorize(as_float, otypes=[np.float64])(np.array(js["stats"][name], dtype=object))


def same_exact(tag, got, want):
    global checks
    checks += 1
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return fail(f"{tag}: shape {got.shape} != {want.shape}")
    ok = (got == want) | (np.isnan(got) & np.isnan(want))
    if not ok.all():
        i = np.argwhere(~ok)[0]
        fail(f"{tag}: {ok.size - ok.sum()} bins differ, first {tuple(i)}: "
             f"{got[tuple(i)]!r} != {want[tuple(i)]!r}")


def same_rel(tag, got, want, rel=1e-12):
    global checks
    checks += 1
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return fail(f"{tag}: shape {got.shape} != {want.shape}")
    both_nan = np.isnan(got) & np.isnan(want)
    with np.errstate(invalid="ignore"):
        close = (got == want) | (np.abs(got - want) <= rel * np.maximum(np.abs(got), np.abs(want)))
    ok = both_nan | close
    if not ok.all():
        i = tuple(np.argwhere(~ok)[0])
        fail(f"{tag}: {ok.size - ok.sum()} bins off by more than {rel} relative, first {i}: "
             f"{got[i]!r} vs {want[i]!r}")


def numpy_binnumbers(sample, edges):
    """Bin numbers as numpy.histogramdd assigns them, in scipy's layout."""
    nbin = np.array([len(e) + 1 for e in edges])
    ncount = []
    for x, e in zip(sample, edges):
        c = np.searchsorted(e, x, side="right")
        c[x == e[-1]] -= 1
        ncount.append(c)
    return np.ravel_multi_index(ncount, nbin)


def scipy_stat(sample, values, edges, stat):
    # scipy 1.10 refuses non-finite samples; those rows are in no bin anyway
    keep = np.all([np.isfinite(x) for x in sample], axis=0)
    sample = [x[keep] for x in sample]
    values = values[keep]
    res = BinnedStatisticddResult(None, [np.asarray(e) for e in edges],
                                  numpy_binnumbers(sample, edges))
    with np.errstate(invalid="ignore", divide="ignore"):
        return binned_statistic_dd(sample, values, statistic=stat,
                                   binned_statistic_result=res).statistic


def check_axes(tag, js, edges):
    for k, e in enumerate(edges):
        got = np.array([as_float(v) for v in js["axes"][k]["edges"]])
        same_exact(f"{tag} edges[{k}]", got, e)


def check_counts(tag, js, sample, edges, n):
    h, _ = np.histogramdd(np.stack(sample, axis=1), bins=[np.asarray(e) for e in edges])
    same_exact(f"{tag} count", stat_array(js, "count"), h)
    global checks
    checks += 1
    if js["rows"] != n or js["out_of_range"] != n - int(h.sum()):
        fail(f"{tag}: rows {js['rows']} out_of_range {js['out_of_range']}, want {n} and "
             f"{n - int(h.sum())}")


def check_value_stats(tag, js, sample, values, edges):
    cnt = np.histogramdd(np.stack(sample, axis=1), bins=[np.asarray(e) for e in edges])[0]
    nan_bins = np.histogramdd(np.stack(sample, axis=1), bins=[np.asarray(e) for e in edges],
                              weights=np.isnan(values).astype(float))[0] > 0
    for st in ("sum", "mean", "std"):
        same_rel(f"{tag} {st}", stat_array(js, st), scipy_stat(sample, values, edges, st))
    for st in ("min", "max"):
        want = scipy_stat(sample, values, edges, st)
        want[nan_bins] = np.nan  # quern: a NaN value makes min and max NaN
        want[cnt == 0] = np.nan
        same_exact(f"{tag} {st}", stat_array(js, st), want)


# ----- 1-D regular, count: np.histogram(x, bins, range) and histogramdd ----
def test_1d_regular():
    for (lo, hi, bins) in [(0.0, 1.0, 100), (-3.3, 7.1, 7), (0.1, 0.7, 3), (-1e-300, 1e-300, 5),
                           (1e16, 1.0000000000000004e16, 4), (2.0, 2.0, 4)]:
        n = 200_000
        l2, h2 = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
        e = np.linspace(l2, h2, bins + 1)
        x = nasty(e, n)
        path = write_h5("r1.h5", {"x": x})
        js = quern([path, "--axis", f"x:{bins}:{lo!r}:{hi!r}"])
        tag = f"1-D regular [{lo!r}, {hi!r}] x {bins}"
        check_axes(tag, js, [e])
        check_counts(tag, js, [x], [e], n)
        h, _ = np.histogram(x[np.isfinite(x)], bins, range=(lo, hi))
        same_exact(tag + " vs np.histogram", stat_array(js, "count"), h)


# ----- 1-D irregular, repeated edges, weights ------------------------------
def test_1d_irregular_weights():
    edges = np.array([-1.0, 0.0, 0.0, 0.25, 0.5, 0.5, 0.9, 1.0, 1.0])
    n = 250_000
    x = nasty(edges, n)
    w = rng.random(n) + 0.5
    path = write_h5("i1.h5", {"x": x, "w": w})
    spec = "x@" + ",".join(repr(v) for v in edges)
    js = quern([path, "--axis", spec])
    check_axes("1-D irregular", js, [edges])
    check_counts("1-D irregular", js, [x], [edges], n)
    h, _ = np.histogram(x[np.isfinite(x)], bins=edges)
    same_exact("1-D irregular vs np.histogram", stat_array(js, "count"), h)
    # weights= : count becomes the per-bin sum of w
    js = quern([path, "--axis", spec, "--weight", "w"])
    hw, _ = np.histogramdd(x[:, None], bins=[edges], weights=w)
    same_rel("1-D irregular weighted vs np.histogramdd(weights=)", stat_array(js, "count"), hw)
    # np.histogram(weights=) with edges differences cumulative sums of the
    # sorted weights, so its own error is ~eps * total weight, not relative
    # to the bin: compare at that scale.
    hw2, _ = np.histogram(x, bins=edges, weights=w)
    global checks
    checks += 1
    err = np.abs(stat_array(js, "count") - hw2).max()
    if not err <= 8 * np.finfo(float).eps * np.abs(w).sum():
        fail(f"1-D irregular weighted vs np.histogram(weights=): max error {err}")
    # edges from a file, with a comment and blank lines
    ef = os.path.join(TMP, "edges.txt")
    with open(ef, "w") as f:
        f.write("# edges\n" + "\n".join(repr(v) for v in edges) + "\n\n")
    js2 = quern([path, "--axis", "x@" + ef, "--weight", "w"])
    same_exact("edges from a file", stat_array(js2, "count"), stat_array(js, "count"))


# ----- 2-D stats vs scipy, values like 1e6 + N(0,1) with NaN and inf -------
def test_2d_stats():
    n = 300_000
    ex = np.linspace(0.0, 1.0, 21)
    ey = np.array([0.0, 0.1, 0.3, 0.3, 0.6, 1.0])
    x = nasty(ex, n)
    y = nasty(ey, n)
    v = 1e6 + rng.standard_normal(n)
    v[rng.integers(0, n, 5)] = np.nan
    v[rng.integers(0, n, 3)] = np.inf
    v[rng.integers(0, n, 2)] = -np.inf
    path = write_h5("s2.h5", {"x": x, "y": y, "v": v})
    js = quern([path, "-a", "x:20:0:1", "-a", "y@" + ",".join(repr(t) for t in ey), "-v", "v",
                "-s", "count,sum,mean,std,min,max"])
    check_axes("2-D", js, [ex, ey])
    check_counts("2-D", js, [x, y], [ex, ey], n)
    check_value_stats("2-D", js, [x, y], v, [ex, ey])
    # HDF5 output holds the same numbers, readable by h5py
    out = quern([path, "-a", "x:20:0:1", "-a", "y@" + ",".join(repr(t) for t in ey), "-v", "v",
                 "-s", "count,sum,mean,std,min,max"], ".h5")
    with h5py.File(out, "r") as f:
        global checks
        checks += 1
        if f["count"].dtype != np.int64 or f["count"].shape != (20, 5):
            fail(f"h5 count dtype/shape {f['count'].dtype} {f['count'].shape}")
        for st in ("count", "sum", "mean", "std", "min", "max"):
            same_exact(f"h5 {st}", f[st][...], stat_array(js, st))
        same_exact("h5 edges/x", f["edges/x"][...], ex)
        same_exact("h5 edges/y", f["edges/y"][...], ey)
        if int(f.attrs["rows"]) != n or int(f.attrs["out_of_range"]) != js["out_of_range"]:
            fail("h5 attributes rows / out_of_range")
        if list(f.attrs["axes"]) != ["x", "y"] or f.attrs["value"] != "v":
            fail(f"h5 attributes axes/value: {f.attrs['axes']!r} {f.attrs['value']!r}")
    # CSV output: one row per bin, x-major
    out = quern([path, "-a", "x:20:0:1", "-a", "y@" + ",".join(repr(t) for t in ey), "-v", "v",
                 "-s", "mean,count"], ".csv")
    rows = open(out).read().splitlines()
    checks += 1
    if rows[0] != "x_lo,x_hi,y_lo,y_hi,mean,count" or len(rows) != 1 + 20 * 5:
        fail(f"csv header/rows: {rows[0]!r}, {len(rows)}")
    else:
        last = rows[1 + 3 * 5 + 2].split(",")
        if float(last[0]) != ex[3] or float(last[3]) != ey[3] or \
                int(last[5]) != int(stat_array(js, "count")[3, 2]):
            fail(f"csv row for bin (3, 2): {last}")
        m = float(last[4])
        want = stat_array(js, "mean")[3, 2]
        if not (m == want or (np.isnan(m) and np.isnan(want))):
            fail(f"csv mean (3, 2) {m!r} != {want!r}")


# ----- 3-D / 4-D, int32 and float32 columns, auto range --------------------
def test_nd_types():
    n = 200_000
    a = rng.integers(-50, 50, n).astype(np.int32)
    b = (rng.random(n) * 2).astype(np.float32)
    b[:5] = [np.float32(0.1), np.float32(0.5), np.nan, np.inf, np.float32(2.0)]
    c = rng.standard_normal(n)
    d = rng.integers(0, 4, n).astype(np.int64)
    v = (rng.random(n) * 1000).astype(np.float32)
    path = write_h5("nd.h5", {"a": a, "b": b, "c": c, "d": d, "v": v})
    # auto range on int32 and float32 (finite values only), irregular on c
    js = quern([path, "-a", "a:10", "-a", "b:7", "-a", "c@-3,-1,0,0.5,3", "-v", "v",
                "-s", "count,mean,std,sum,min,max"])
    bf = b[np.isfinite(b)].astype(np.float64)
    ea = np.histogramdd(a.astype(np.float64), bins=10)[1][0]
    eb = np.linspace(bf.min(), bf.max(), 8)
    ec = np.array([-3, -1, 0, 0.5, 3.0])
    check_axes("3-D auto range", js, [ea, eb, ec])
    sample = [a.astype(np.float64), b.astype(np.float64), c]
    check_counts("3-D int32/float32", js, sample, [ea, eb, ec], n)
    check_value_stats("3-D int32/float32", js, sample, v.astype(np.float64), [ea, eb, ec])
    # 4-D counts, the int64 axis with a constant-width range and LO == HI
    js = quern([path, "-a", "a:5:-20:20", "-a", "b:3:0:1", "-a", "c:4:-2:2", "-a", "d:4:0:4",
                "-v", "c", "-s", "mean,count"])
    edges = [np.linspace(-20, 20, 6), np.linspace(0, 1, 4), np.linspace(-2, 2, 5),
             np.linspace(0, 4, 5)]
    sample4 = sample + [d.astype(np.float64)]
    check_counts("4-D", js, sample4, edges, n)
    same_rel("4-D mean", stat_array(js, "mean"), scipy_stat(sample4, c, edges, "mean"))
    js = quern([path, "-a", "d:4:2:2"])
    check_axes("LO == HI widens", js, [np.linspace(1.5, 2.5, 5)])


# ----- a grid above 128 MiB with a value: sliced (one grid, every worker) --
def h5_result(path, names):
    with h5py.File(path, "r") as f:
        return {"rows": int(f.attrs["rows"]), "out_of_range": int(f.attrs["out_of_range"]),
                "stats": {st: f[st][...].astype(np.float64) for st in names},
                "axes": [{"edges": f["edges/" + a][...]} for a in f.attrs["axes"]]}


def test_sliced_grid():
    n = 400_000
    ex = np.linspace(0.0, 1.0, 201)
    ey = np.array([-2.0, -1.0, -0.5, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0])
    ez = np.linspace(-1.0, 1.0, 1501)
    x, y, z = nasty(ex, n), nasty(ey, n), nasty(ez, n)
    # Few rows per bin: with values near 1e6 two rows can lie 1e-5
    # apart, where scipy's own std (deviations from a rounded mean) is off
    # by 1e-11; the 1e6 + N(0,1) case is test_2d_stats, with full bins.
    v = 5 + 3 * rng.standard_normal(n)
    v[rng.integers(0, n, 5)] = np.nan
    v[rng.integers(0, n, 3)] = np.inf
    w = rng.random(n) + 0.5
    path = write_h5("sliced.h5", {"x": x, "y": y, "z": z, "v": v, "w": w})
    names = ("count", "sum", "mean", "std", "min", "max")
    args = [path, "-a", "x:200:0:1", "-a", "y@" + ",".join(repr(t) for t in ey),
            "-a", "z:1500:-1:1", "-v", "v", "-s", ",".join(names)]
    # 200 x 9 x 1500 = 2.7M cells, 151 MB nominal: above 128 MiB
    outs = []
    for extra in (["-t", "1"], ["-t", "2"], ["-t", "3"], ["-t", "2", "-m", "400M"]):
        out = quern(args + extra, ".h5")
        outs.append(open(out, "rb").read())
        os.remove(out)
    global checks
    checks += 1
    if any(o != outs[0] for o in outs[1:]):
        fail("sliced grid: output bytes differ between -t 1, 2, 3 and -m 400M")
    out = os.path.join(TMP, "sliced-out.h5")
    with open(out, "wb") as f:
        f.write(outs[0])
    js = h5_result(out, names)
    edges = [ex, ey, ez]
    check_axes("sliced 3-D", js, edges)
    check_counts("sliced 3-D", js, [x, y, z], edges, n)
    check_value_stats("sliced 3-D", js, [x, y, z], v, edges)
    # with a weight too: count is the weight sum (np.histogramdd(weights=))
    out = quern(args[:-2] + ["-w", "w", "-s", "count,mean"], ".h5")
    js = h5_result(out, ("count", "mean"))
    hw = np.histogramdd(np.stack([x, y, z], axis=1), bins=edges, weights=w)[0]
    same_rel("sliced 3-D weighted count", stat_array(js, "count"), hw)
    same_rel("sliced 3-D mean (weighted run)", stat_array(js, "mean"),
             scipy_stat([x, y, z], v, edges, "mean"))


def test_empty_bins_and_one_row():
    path = write_h5("one.h5", {"x": np.array([3.0]), "v": np.array([42.5])})
    js = quern([path, "-a", "x:3:0:3", "-v", "v", "-s", "count,sum,mean,std,min,max"])
    global checks
    checks += 1
    want = {"count": [0, 0, 1], "sum": [0.0, 0.0, 42.5], "mean": [None, None, 42.5],
            "std": [None, None, 0.0], "min": [None, None, 42.5], "max": [None, None, 42.5]}
    if js["stats"] != want:
        fail(f"one row on the last edge: {js['stats']} != {want}")


for t in (test_1d_regular, test_1d_irregular_weights, test_2d_stats, test_nd_types,
          test_sliced_grid, test_empty_bins_and_one_row):
    t()
print(f"{checks} checks, {len(failures)} failures")
sys.exit(1 if failures else 0)
