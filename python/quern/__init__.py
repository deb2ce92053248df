"""quern for Python: numpy's and scipy's histograms, fast and frugal.

Drop-ins with numpy's and scipy's signatures and results::

    import quern                                 # or: from quern import histogramdd
    H, edges = quern.histogramdd((x, y, z), bins=50)
    res = quern.binned_statistic_2d(x, y, v, "std", bins=100)

and the file jobs of the ``quern`` tool::

    quern.stats(["a.h5", "b.h5"])                # the dict of `quern stats` JSON
    quern.bin("sim.h5", axes=["x:100:0:1"], value="v", stats="mean,std")
    quern.group("m.parquet", key="probe", out="by_probe")
    quern.info("sim.h5")

Every function takes ``threads=`` (default: every core) and
``memory_limit=`` (bytes, or a string such as "256M"; it counts quern's own
allocations, not the arrays you already hold). The GIL is released while
quern works; Ctrl-C interrupts a call (KeyboardInterrupt). Results are
identical for any thread count. Errors raise ``ValueError`` (bad
arguments), ``FileNotFoundError``, ``quern.MemoryLimitError`` and
``quern.FormatError`` with quern's message.

The one difference from scipy: ``binned_statistic*`` return
``binnumber=None`` unless asked with ``binnumber=True`` (or
``expand_binnumbers=True``), because it is one integer per sample.
See docs/python.md for the other, documented, differences.
"""

import builtins
import collections
import json
import operator
import os
import shutil
import tempfile

import numpy as _np

from . import _quern
from ._quern import Error, FormatError, MemoryLimitError

__all__ = [
    "histogram", "histogram2d", "histogramdd", "binned_statistic",
    "binned_statistic_2d", "binned_statistic_dd", "stats", "bin", "group", "info",
    "Error", "MemoryLimitError", "FormatError", "BinnedStatisticResult",
    "BinnedStatistic2dResult", "BinnedStatisticddResult", "BinResult",
]

__version__ = _quern.libquern_version

BinnedStatisticResult = collections.namedtuple(
    "BinnedStatisticResult", ("statistic", "bin_edges", "binnumber"))
BinnedStatistic2dResult = collections.namedtuple(
    "BinnedStatistic2dResult", ("statistic", "x_edge", "y_edge", "binnumber"))
BinnedStatisticddResult = collections.namedtuple(
    "BinnedStatisticddResult", ("statistic", "bin_edges", "binnumber"))

_STATISTICS = ("count", "sum", "mean", "std", "min", "max")
_MAX_AXES = 8


# ----- arrays as quern columns ---------------------------------------------

def _column(a, what):
    """A 1-D array quern reads in place: ints and floats as they are (a
    strided view stays a view), bools as uint8, float16 as float32; other
    byte orders and unaligned arrays are converted (a copy)."""
    a = _np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {a.shape}")
    k = a.dtype.kind
    if k == "b":
        a = a.view(_np.uint8)
    elif k == "f" and a.dtype.itemsize == 2:
        a = a.astype(_np.float32)
    elif k not in "iuf" or a.dtype.itemsize > 8:
        raise TypeError(f"{what}: quern bins integer and float arrays, not {a.dtype}")
    if not a.dtype.isnative or not a.flags.aligned:
        a = a.astype(a.dtype.newbyteorder("="))
    if a.strides[0] < 0 or (a.strides[0] == 0 and a.shape[0] > 1):
        a = _np.ascontiguousarray(a)  # reversed or broadcast: quern reads forward strides
    return a


def _sample_columns(sample, what="sample"):
    """numpy's two forms of a sample: an (N, D) array (its columns, as
    strided views) or a sequence of D 1-D arrays of one length."""
    if isinstance(sample, _np.ndarray) and sample.ndim == 2:
        cols = [sample[:, i] for i in range(sample.shape[1])]
    elif isinstance(sample, _np.ndarray) and sample.ndim == 1:
        cols = [sample]
    else:
        cols = [_np.asarray(c) for c in sample]
        if cols and cols[0].ndim == 0:  # a flat list of numbers: one axis
            cols = [_np.asarray(sample)]
    if not 1 <= len(cols) <= _MAX_AXES:
        raise ValueError(f"{what}: quern bins 1 to {_MAX_AXES} dimensions, got {len(cols)}")
    n = cols[0].shape[0] if cols[0].ndim else 0
    for i, c in enumerate(cols):
        if c.ndim != 1 or c.shape[0] != n:
            raise ValueError(f"{what}: every dimension must be a 1-D array of {n} values; "
                             f"dimension {i} has shape {c.shape}")
    return cols


def _run(columns, axes, value=None, weight=None, stats="count", threads=None,
         memory_limit=None):
    """One bin job over arrays: axes are (i, bins, lo, hi) (lo, hi None: the
    data's range) or (i, edges) for column i."""
    inputs = {f"x{i}": _column(c, f"dimension {i}") for i, c in enumerate(columns)}
    spec = [(f"x{a[0]}",) + tuple(a[1:]) for a in axes]
    if value is not None:
        inputs["v"] = _column(value, "values")
    if weight is not None:
        inputs["w"] = _column(weight, "weights")
    return _quern.run_bin(inputs, spec, "v" if value is not None else None,
                          "w" if weight is not None else None, stats, threads, memory_limit)


def _range_pair(r, i):
    try:
        lo, hi = r
    except (TypeError, ValueError):
        raise ValueError(f"range of dimension {i} must be a (lo, hi) pair, got {r!r}") from None
    lo, hi = float(lo), float(hi)
    if lo > hi:
        raise ValueError(f"range of dimension {i}: max must be larger than min, got "
                         f"({lo!r}, {hi!r})")
    if not (_np.isfinite(lo) and _np.isfinite(hi)):
        raise ValueError(f"range of dimension {i}: supplied range of [{lo}, {hi}] is not finite")
    return lo, hi


def _count_bins(b, i):
    try:
        n = operator.index(b)
    except TypeError:
        raise TypeError(f"bins[{i}] must be an integer, when a scalar") from None
    if n < 1:
        raise ValueError(f"bins[{i}] must be positive, when an integer, got {n}")
    return n


def _edge_array(b, i, dtype=None):
    e = _np.asarray(b) if dtype is None else _np.asarray(b, dtype)
    if e.ndim != 1:
        raise ValueError(f"bins[{i}] must be a scalar or 1d array")
    if e.shape[0] < 2:
        raise ValueError(f"bins[{i}] must have at least 2 edges, got {e.shape[0]}")
    if _np.any(e[:-1] > e[1:]):
        raise ValueError(f"bins[{i}] must be monotonically increasing, when an array")
    if _np.isnan(e).any():
        raise ValueError(f"bins[{i}] holds NaN")
    return e


def _axis_bins(bins, d):
    """numpy's rule: an int (for all), or one entry per dimension."""
    try:
        m = len(bins)
    except TypeError:
        return [bins] * d
    if m != d:
        raise ValueError(f"the dimension of bins ({len(bins)}) must be equal to the dimension "
                         f"of the sample ({d})")
    return list(bins)


def _axis_ranges(rng, d):
    if rng is None:
        return [None] * d
    if len(rng) != d:
        raise ValueError(f"range given for {len(rng)} dimensions; {d} required")
    return list(rng)


def _specs(cols, bins, rng, edges_dtype=None):
    """Per axis the quern spec, and the edges as the reference tool types
    them (None: take quern's float64 linspace edges, which are numpy's). With
    edges_dtype (scipy with float32 data) regular edges are made by
    numpy.linspace in that type and binned as given edges."""
    specs, typed = [], []
    for i, (b, r) in enumerate(zip(_axis_bins(bins, len(cols)), _axis_ranges(rng, len(cols)))):
        if _np.ndim(b) == 0:
            n = _count_bins(b, i)
            lo, hi = (None, None) if r is None else _range_pair(r, i)
            if edges_dtype is None:
                specs.append((i, n, lo, hi))
                typed.append(None)
                continue
            if lo is None:
                c = cols[i]
                lo, hi = (float(c.min()), float(c.max())) if c.size else (0.0, 1.0)
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            e = _np.linspace(lo, hi, n + 1, dtype=edges_dtype)
        else:
            e = _edge_array(b, i, edges_dtype)
        specs.append((i, e.astype(_np.float64)))
        typed.append(e)
    return specs, typed


def _edges_out(res, typed):
    return [res["edges"][i] if t is None else t for i, t in enumerate(typed)]


# ----- numpy drop-ins ------------------------------------------------------

def histogram(a, bins=10, range=None, density=None, weights=None, *, threads=None,
              memory_limit=None):
    """Compute the histogram of a dataset: ``numpy.histogram``'s signature and
    results (counts as int64, or in the weights' dtype; edges as numpy makes
    them: float32 for float32 data).

    bins: an int (equal bins over ``range``, or the data's min and max), a
    sequence of increasing edges, or a numpy estimator name ("auto", ...).
    Values on an edge go to the bin on its right; the last bin is closed.
    NaN, and values outside the range, are not counted.

    Differences: with range=None, NaN and ±inf are left out of the range
    (numpy raises ValueError).

    threads, memory_limit: see help(quern).
    """
    a = _np.asarray(a)
    if weights is not None:
        weights = _np.asarray(weights)
        if weights.shape != a.shape:
            raise ValueError("weights should have the same shape as a.")
        weights = weights.ravel()
    a = a.ravel()
    col = _column(a, "a")
    if isinstance(bins, str) or (_np.ndim(bins) == 0 and col.dtype.kind == "f"
                                 and col.dtype.itemsize < 8):
        # numpy's own edges (its estimators; float32 edges for float32 data)
        edges = _np.histogram_bin_edges(a, bins, range, weights)
        spec = [(0, edges.astype(_np.float64))]
    elif _np.ndim(bins) == 0:
        n = _count_bins(bins, 0)
        lo, hi = (None, None) if range is None else _range_pair(range, 0)
        spec, edges = [(0, n, lo, hi)], None
    else:
        edges = _edge_array(bins, 0)
        if edges.dtype.kind not in "iuf":
            edges = edges.astype(_np.float64)
        spec = [(0, edges.astype(_np.float64))]
    res = _run([col], spec, weight=weights, threads=threads, memory_limit=memory_limit)
    if edges is None:
        edges = res["edges"][0]
    n = res["count"]
    n = n.astype(_np.intp if weights is None else weights.dtype)
    if density:
        db = _np.diff(edges).astype(float)
        return n / db / n.sum(), edges
    return n, edges


def histogramdd(sample, bins=10, range=None, density=None, weights=None, *, threads=None,
                memory_limit=None):
    """Compute the multidimensional histogram of some data:
    ``numpy.histogramdd``'s signature and results (a float64 array of shape
    (n0, n1, ...) and the list of edge arrays).

    sample: an (N, D) array or a sequence of D 1-D arrays (read in place,
    strided columns too). bins: an int, or per dimension an int or an
    increasing edge array. range: per dimension (lo, hi) or None (the
    data's finite min and max; numpy raises on NaN or ±inf there).

    threads, memory_limit: see help(quern).
    """
    cols = _sample_columns(sample)
    d = len(cols)
    if weights is not None:
        weights = _np.asarray(weights)
        if weights.shape != (cols[0].shape[0],):
            raise ValueError(f"weights must have shape ({cols[0].shape[0]},), "
                             f"got {weights.shape}")
    specs, typed = _specs(cols, bins, range)
    res = _run(cols, specs, weight=weights, threads=threads, memory_limit=memory_limit)
    edges = _edges_out(res, typed)
    hist = res["count"]
    if density:
        s = hist.sum()
        for i in builtins.range(d):
            shape = _np.ones(d, int)
            shape[i] = len(edges[i]) - 1
            hist = hist / _np.diff(edges[i]).reshape(shape)
        hist /= s
    return hist, edges



def histogram2d(x, y, bins=10, range=None, density=None, weights=None, *, threads=None,
                memory_limit=None):
    """Compute the bi-dimensional histogram of two data samples:
    ``numpy.histogram2d``'s signature and results (H, xedges, yedges).

    bins: an int, [int, int], one edge array for both, or [edges, edges]
    (or an int and an edge array). threads, memory_limit: see help(quern).
    """
    try:
        n = len(bins)
    except TypeError:
        n = 1
    if n != 1 and n != 2:
        bins = [_np.asarray(bins), _np.asarray(bins)]
    hist, edges = histogramdd([x, y], bins, range, density, weights, threads=threads,
                              memory_limit=memory_limit)
    return hist, edges[0], edges[1]


# ----- scipy drop-ins ------------------------------------------------------

def _binnumbers(cols, edges, expand):
    """scipy's binnumber (with its outlier bins), by numpy's edge rule."""
    nbin = [len(e) + 1 for e in edges]
    idx = []
    for c, e in zip(cols, edges):
        i = _np.searchsorted(e, c, side="right")
        i[c == e[-1]] -= 1
        idx.append(i)
    if expand and len(cols) > 1:
        return _np.asarray(idx)
    return _np.ravel_multi_index(idx, nbin)


def binned_statistic_dd(sample, values, statistic="mean", bins=10, range=None,
                        expand_binnumbers=False, binned_statistic_result=None, *,
                        binnumber=False, threads=None, memory_limit=None):
    """Compute a multidimensional binned statistic:
    ``scipy.stats.binned_statistic_dd``'s signature and results
    (BinnedStatisticddResult(statistic, bin_edges, binnumber)).

    statistic: 'count', 'sum', 'mean', 'std' (population, ddof 0), 'min'
    or 'max'. Empty bins: 0 for count and sum, NaN otherwise. A NaN value
    makes its bin's sum, mean, std, min and max NaN. values: one array of
    N, or a (V, N) array (one result per row), or None for 'count'.

    The one difference: binnumber is None unless binnumber=True or
    expand_binnumbers=True (it is one integer per sample). Other
    documented differences (docs/python.md): values just above the last
    edge are out of range (as in numpy; scipy rounds them in); scipy's
    'min' skips NaN values (quern: NaN); non-finite samples are binned
    (NaN: in no bin) where scipy raises.

    threads, memory_limit: see help(quern).
    """
    if statistic not in _STATISTICS:
        raise ValueError(f"invalid statistic {statistic!r}: quern computes "
                         f"{', '.join(_STATISTICS)}")
    if binned_statistic_result is not None:
        bins = binned_statistic_result.bin_edges
        range = None
    cols = _sample_columns(sample)
    nrows = cols[0].shape[0]
    if values is None:
        if statistic != "count":
            raise ValueError(f"statistic {statistic!r} needs values")
        vals, vshape = [None], []
    else:
        v = _np.asarray(values)
        if v.ndim == 0 or v.ndim > 2:
            raise ValueError(f"values must be 1-D or 2-D, got shape {v.shape}")
        vshape = list(v.shape[:-1])
        vals = [v] if v.ndim == 1 else list(v)
        if v.shape[-1] != nrows:
            raise ValueError(f"the number of values ({v.shape[-1]}) must match the length of "
                             f"each sample dimension ({nrows})")
    dt = _np.result_type(*cols) if cols else _np.dtype(float)
    edges_dtype = dt if dt.kind == "f" else _np.dtype(_np.float64)
    if edges_dtype == _np.float64:
        edges_dtype = None
    specs, typed = _specs(cols, bins, range, edges_dtype)
    if edges_dtype is None:  # scipy makes float64 edges of given bins
        specs = [s if len(s) == 4 else (s[0], s[1]) for s in specs]
        typed = [t if t is None else _np.asarray(t, _np.float64) for t in typed]
    results, edges = [], None
    for v in vals:
        if statistic == "count" or v is None:
            res = _run(cols, specs, threads=threads, memory_limit=memory_limit)
        else:
            res = _run(cols, specs, value=v, stats=statistic, threads=threads,
                       memory_limit=memory_limit)
        results.append(res[statistic])
        edges = _edges_out(res, typed)
    stat = results[0] if not vshape else _np.stack(results).reshape(
        vshape + list(results[0].shape))
    bn = None
    if binnumber or expand_binnumbers:
        bn = _binnumbers(cols, edges, expand_binnumbers)
    return BinnedStatisticddResult(stat, edges, bn)


def binned_statistic(x, values, statistic="mean", bins=10, range=None, *, binnumber=False,
                     threads=None, memory_limit=None):
    """Compute a binned statistic for one or more sets of data:
    ``scipy.stats.binned_statistic``'s signature and results
    (BinnedStatisticResult(statistic, bin_edges, binnumber)).

    See binned_statistic_dd for statistics, binnumber and differences.
    """
    try:
        n = len(bins)
    except TypeError:
        n = 1
    if n != 1:
        bins = [_np.asarray(bins, float)]
    if range is not None and len(range) == 2:
        range = [range]
    r = binned_statistic_dd([x], values, statistic, bins, range, binnumber=binnumber,
                            threads=threads, memory_limit=memory_limit)
    return BinnedStatisticResult(r.statistic, r.bin_edges[0], r.binnumber)


def binned_statistic_2d(x, y, values, statistic="mean", bins=10, range=None,
                        expand_binnumbers=False, *, binnumber=False, threads=None,
                        memory_limit=None):
    """Compute a bidimensional binned statistic for one or more sets of
    data: ``scipy.stats.binned_statistic_2d``'s signature and results
    (BinnedStatistic2dResult(statistic, x_edge, y_edge, binnumber)).

    See binned_statistic_dd for statistics, binnumber and differences.
    """
    try:
        n = len(bins)
    except TypeError:
        n = 1
    if n != 1 and n != 2:
        e = _np.asarray(bins, float)
        bins = [e, e]
    r = binned_statistic_dd([x, y], values, statistic, bins, range, expand_binnumbers,
                            binnumber=binnumber, threads=threads, memory_limit=memory_limit)
    return BinnedStatistic2dResult(r.statistic, r.bin_edges[0], r.bin_edges[1], r.binnumber)


# ----- file jobs -----------------------------------------------------------

def _paths(paths):
    """Files (a path or a list of paths and globs), or a table of arrays
    (a dict of column name -> 1-D array, read in place)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        return [paths]
    if isinstance(paths, dict):
        return {str(k): _column(v, f"column {k!r}") for k, v in paths.items()}
    return list(paths)


def stats(paths, columns=None, per_file=False, *, threads=None, memory_limit=None):
    """Per-column statistics of one table made of many files (HDF5, Parquet,
    CSV; globs allowed) or of a dict of 1-D arrays: the document ``quern
    stats`` prints, as a dict (count, nan, null, min, max, sum, mean, var,
    std per column; NaN as None).

    columns: names (default: every numeric column). per_file: also one
    entry per file. threads, memory_limit: see help(quern).
    """
    tmp = tempfile.mkdtemp(prefix="quern-py-")
    try:
        path = os.path.join(tmp, "stats.json")
        _quern.run_stats(_paths(paths), path, columns, bool(per_file), threads, memory_limit)
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


BinResult = collections.namedtuple("BinResult", ("stats", "edges", "axes", "rows",
                                                 "out_of_range"))


def bin(paths, axes, value=None, weight=None, stats="count", *, threads=None,
        memory_limit=None):
    """N-d binned statistics over files (or a dict of 1-D arrays, a table
    whose columns the axes name), as ``quern bin``: returns
    BinResult(stats, edges, axes, rows, out_of_range) where stats maps
    each statistic to a float64 array of shape (n0, n1, ...), edges is the
    list of edge arrays and axes the column names.

    axes: a list of ``quern bin --axis`` specs ("x:100:0:1", "x:100",
    "x@0,0.5,1"), or of tuples (column, bins, lo, hi) / (column, bins) /
    (column, edges). value: the column of sum/mean/std/min/max. weight: the
    column whose per-bin sum is count. stats: "count,mean,std" or a list.
    threads, memory_limit: see help(quern).
    """
    if isinstance(axes, (str, tuple)):
        axes = [axes]
    spec = []
    for a in axes:
        if isinstance(a, tuple) and len(a) == 2 and _np.ndim(a[1]) == 0:
            a = (a[0], a[1], None, None)
        spec.append(a)
    if not isinstance(stats, str):
        stats = ",".join(stats)
    r = _quern.run_bin(_paths(paths), spec, value, weight, stats, threads, memory_limit)
    got = {k: r[k] for k in _STATISTICS if k in r}
    return BinResult(got, r["edges"], r["axes"], r["rows"], r["out_of_range"])


def group(paths, key, out, order=None, columns=None, split=None, seed=0, shards=1,
          format=None, codec=None, force=False, *, threads=None, memory_limit=None):
    """One row per distinct key, as ``quern group``: writes the directory
    `out` (Parquet files per split and shard, manifest.json) and returns the
    manifest as a dict.

    split: {"train": 0.9, "test": 0.1} or "train=0.9,test=0.1" (default:
    one split "all"). order: the column that orders each key's rows.
    columns: the list columns (default: all but the key). force: replace an
    existing quern output directory. threads, memory_limit: see help(quern).
    """
    splits = None
    if isinstance(split, str):
        splits = []
        for part in split.split(","):
            name, _, frac = part.partition("=")
            try:
                splits.append((name, float(frac)))
            except ValueError:
                raise ValueError(f"split {part!r} is not NAME=FRACTION") from None
    elif split is not None:
        splits = [(str(k), float(v)) for k, v in dict(split).items()]
    _quern.run_group(_paths(paths), key, out, order, columns, splits, int(seed), int(shards),
                     format, codec, bool(force), threads, memory_limit)
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def info(path, *, threads=None, memory_limit=None):
    """What is in one file (format, columns, types, rows, layout): the
    document of ``quern info --json`` as a dict."""
    return json.loads(_quern.run_info(path, threads, memory_limit))
