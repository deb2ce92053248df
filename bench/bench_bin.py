"""quern bin against its peers, side by side in one run (see bench_bin.sh).

Each case runs the peer (numpy / scipy on arrays loaded with h5py, or
DuckDB's SQL on a Parquet copy of the same data) and the whole `quern bin`
process on the HDF5 file (on the Parquet copy where the case says so),
each in its own process, and prints wall times,
the ratio peer / quern, quern's CPU time (user + sys: the machine's 2
vCPUs are shared, so CPU time is the steadier figure) and peak RSS (from
/usr/bin/time -v; quern's from a second run of the same command). The
peer's time is the call alone (loading the columns with h5py, or starting
node, is not counted, which favours the peer); quern's is the whole
process, start and reading included. Medians over BENCH_REPEAT runs
(default 3); the load average and how the page cache holds the data file
(4 KiB pages or large folios, which moves quern's reading time) are
printed before and after.
"""
import mmap
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

QUERN = os.environ["QUERN"]
DATA = os.environ["BENCH_DATA"]
THREADS = os.environ.get("BENCH_THREADS", "2")
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
ONLY = os.environ.get("BENCH_ONLY", "")
PY = "/usr/bin/python3"
PARQUET = os.environ.get("BENCH_PARQUET", "")   # DuckDB's copy; "" skips DuckDB
DUCK = os.environ.get("BENCH_DUCK", "")         # tests/node/bench_duck.mjs

# irregular edges: 101 sorted values, fixed seed (same for peer and quern)
EDGES_CODE = ("import numpy as np; E = np.sort(np.r_[0.0, 1.0, "
              "np.random.default_rng(1).random(99)])")
ns = {}
exec(EDGES_CODE, ns)
EDGES = ",".join(repr(float(v)) for v in ns["E"])

PEER_PRELUDE = f"""
import time, h5py, numpy as np
f = h5py.File({DATA!r}, 'r')
def col(n): return f[n][...]
{EDGES_CODE}
"""

# (name, peer label, peer kind, peer setup, peer call, quern args, goal[, auto])
# A case with `auto` = (explicit-range args, input) gives quern and its peer
# only bin counts, so both find the range in the data (numpy and scipy do
# with bins=N and no range); quern also runs the same case with the range
# given (interleaved), and the ratio auto / explicit is printed (goal
# <= 1.25). The input is "h5" (the HDF5 file) or "pq" (DuckDB's Parquet
# copy, whose column chunk statistics give quern the range unread).
AUTO_2D_DUCK = (
    "WITH r AS (SELECT min(x) AS x0, max(x) AS x1, min(y) AS y0, max(y) AS y1 "
    "FROM read_parquet('{pq}')) "
    "SELECT least(floor((x - x0) / (x1 - x0) * 100), 99) AS i, "
    "least(floor((y - y0) / (y1 - y0) * 100), 99) AS j, count(*), avg(v), stddev_pop(v) "
    "FROM read_parquet('{pq}'), r GROUP BY 1, 2")
CASES = [
    ("1-D 100 regular bins, count", "np.histogram(x, 100, range=(0, 1))", "py",
     "x = col('x')", "np.histogram(x, 100, range=(0.0, 1.0))",
     ["-a", "x:100:0:1"], 10),
    ("1-D 100 irregular bins, count", "np.histogram(x, bins=edges)", "py",
     "x = col('x')", "np.histogram(x, bins=E)",
     ["-a", "x@" + EDGES], 20),
    ("2-D 100x100, count+mean+std of v", "scipy binned_statistic_2d x3", "py",
     "x, y, v = col('x'), col('y'), col('v'); from scipy.stats import binned_statistic_2d as b",
     "[b(x, y, v, s, bins=100, range=[[0, 1], [0, 1]]) for s in ('count', 'mean', 'std')]",
     ["-a", "x:100:0:1", "-a", "y:100:0:1", "-v", "v", "-s", "count,mean,std"], 40),
    ("2-D 100x100, count+mean+std (DuckDB)",
     "DuckDB GROUP BY floor(x*100), floor(y*100) on Parquet", "duck", None,
     "SELECT floor(x * 100) AS i, floor(y * 100) AS j, count(*), avg(v), stddev_pop(v) "
     "FROM read_parquet('{pq}') GROUP BY 1, 2",
     ["-a", "x:100:0:1", "-a", "y:100:0:1", "-v", "v", "-s", "count,mean,std"], 5),
    ("3-D 50^3, count", "np.histogramdd((x, y, z), 50)", "py",
     "x, y, z = col('x'), col('y'), col('z')",
     "np.histogramdd((x, y, z), bins=50, range=[(0, 1)] * 3)",
     ["-a", "x:50:0:1", "-a", "y:50:0:1", "-a", "z:50:0:1"], 50),
    ("1-D 100 regular, count, auto range", "np.histogram(x, 100)", "py",
     "x = col('x')", "np.histogram(x, 100)",
     ["-a", "x:100"], 10, (["-a", "x:100:0:1"], "h5")),
    ("2-D 100x100, count+mean+std, auto range", "scipy binned_statistic_2d x3, bins=100", "py",
     "x, y, v = col('x'), col('y'), col('v'); from scipy.stats import binned_statistic_2d as b",
     "[b(x, y, v, s, bins=100) for s in ('count', 'mean', 'std')]",
     ["-a", "x:100", "-a", "y:100", "-v", "v", "-s", "count,mean,std"], 40,
     (["-a", "x:100:0:1", "-a", "y:100:0:1", "-v", "v", "-s", "count,mean,std"], "h5")),
    ("2-D 100x100, auto range, Parquet (DuckDB)",
     "DuckDB min/max, then GROUP BY the bins, both on Parquet", "duck", None, AUTO_2D_DUCK,
     ["-a", "x:100", "-a", "y:100", "-v", "v", "-s", "count,mean,std"], None,
     (["-a", "x:100:0:1", "-a", "y:100:0:1", "-v", "v", "-s", "count,mean,std"], "pq")),
    ("3-D 50^3, count, auto range", "np.histogramdd((x, y, z), bins=50)", "py",
     "x, y, z = col('x'), col('y'), col('z')",
     "np.histogramdd((x, y, z), bins=50)",
     ["-a", "x:50", "-a", "y:50", "-a", "z:50"], 50,
     (["-a", "x:50:0:1", "-a", "y:50:0:1", "-a", "z:50:0:1"], "h5")),
]


def timed(cmd):
    """Runs cmd as a child: (wall s, user + sys s, stdout). The wall time is
    taken around the fork, exec and wait, the CPU time is the kernel's
    accounting of the child (wait4). No /usr/bin/time in between: it adds
    a fork and an exec, about 1.4 ms here."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:6])}...\n{stderr[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, stdout


def peak_rss(cmd):
    """Runs cmd under /usr/bin/time -v: (peak RSS MiB, stdout). A child of
    this Python process would inherit its resident set in the kernel's
    figure (the fork shares its memory until exec); /usr/bin/time's own
    fork starts from a small process."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:6])}...\n{p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return rss, p.stdout


def cache_state(path):
    """How the page cache holds `path`: the share of 256 sampled pages that
    sit in large folios (from /proc/kpageflags; needs root). pread copies
    from 4 KiB pages about a third slower than from 2 MiB folios, and which
    one a file gets depends on how it entered the cache (written in large
    writes: large folios; read back after the kernel paged it out: mostly
    4 KiB pages)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f, open("/proc/self/pagemap", "rb") as pm, \
                open("/proc/kpageflags", "rb") as kf:
            m = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ)
            base = None  # where the mapping starts, from /proc/self/maps
            for line in open("/proc/self/maps"):
                a, b = line.split()[0].split("-")
                if int(b, 16) - int(a, 16) >= size and line.rstrip().endswith(os.path.realpath(path)):
                    base = int(a, 16)
            if base is None:
                return "unknown (mapping not found)"
            large = present = 0
            for k in range(256):
                page = (size // 4096) * k // 256
                m[page * 4096]  # present in the mapping (the file is cached: no I/O)
                pm.seek((base // 4096 + page) * 8)
                entry = int.from_bytes(pm.read(8), "little")
                pfn = entry & ((1 << 55) - 1)
                if not entry >> 63 or pfn == 0:
                    continue
                kf.seek(pfn * 8)
                flags = int.from_bytes(kf.read(8), "little")
                present += 1
                large += (flags >> 15 & 1) | (flags >> 16 & 1)  # compound head or tail
            m.close()
        if not present:  # without root, pagemap hides the frame numbers
            return "unknown (needs root)"
        return f"{100 * large / present:.0f}% of sampled pages in large folios"
    except (OSError, ValueError) as e:
        return f"unknown ({e})"


def peer(kind, setup, call):
    if kind == "duck":
        warm(PARQUET)  # DuckDB's time includes reading it: give it the page cache too
        rss, out = peak_rss(["node", DUCK, THREADS, call.format(pq=PARQUET)])
        return float(out.strip().splitlines()[-1]), rss
    code = PEER_PRELUDE + setup + f"\nt = time.perf_counter()\n{call}\nprint(time.perf_counter() - t)\n"
    rss, out = peak_rss([PY, "-c", code])
    return float(out.strip().splitlines()[-1]), rss


def warm(path):
    """Reads the file so that it is in the page cache: this machine's kernel
    pages out file pages idle for about a minute (a DAMON pageout scheme),
    and a peer's run can last longer than that."""
    with open(path, "rb") as f:
        while f.readinto(WARM_BUF):
            pass


WARM_BUF = bytearray(8 << 20)


def quern(args, threads=THREADS, data=None):
    data = data or DATA
    out = os.path.join(os.environ.get("BENCH_OUT", "/tmp"), "bench_bin_out.json")
    cmd = [QUERN, "bin", data, "--no-progress", "-t", threads, "-o", out] + args
    warm(data)
    wall, cpu, _ = timed(cmd)
    rss, _ = peak_rss(cmd)  # a second run, for the peak RSS only
    return wall, cpu, rss


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


print(f"data: {DATA}; quern --threads {THREADS}; medians of {REPEAT} runs; load average {loadavg()}")
print(f"page cache of the data: {cache_state(DATA)}", flush=True)
print(f"{'case':42} {'peer':>9} {'quern':>8} {'ratio':>7} {'goal':>5} {'q CPU':>7}  {'peer RSS':>9} {'quern RSS':>9}")
for name, peer_name, kind, setup, call, args, goal, *auto in CASES:
    if ONLY and ONLY not in name:
        continue
    explicit, data = auto[0] if auto else (None, "h5")
    if (kind == "duck" or data == "pq") and not (PARQUET and DUCK):
        print(f"{name:42} skipped: no DuckDB (bash scripts/setup-node.sh) or no Parquet copy")
        continue
    path = PARQUET if data == "pq" else DATA
    pt, pr, qt, qc, qr, et, ec = [], [], [], [], [], [], []
    for _ in range(REPEAT):
        t, r = peer(kind, setup, call)
        pt.append(t)
        pr.append(r)
        t, c, r = quern(args, data=path)
        qt.append(t)
        qc.append(c)
        qr.append(r)
        if explicit:
            t, c, _ = quern(explicit, data=path)
            et.append(t)
            ec.append(c)
    p, q = statistics.median(pt), statistics.median(qt)
    goal = f"{goal:4d}x" if goal else "    -"
    print(f"{name:42} {p:8.2f}s {q:7.3f}s {p / q:6.1f}x {goal} {statistics.median(qc):6.2f}s"
          f"  {max(pr):7.0f}M {max(qr):8.0f}M", flush=True)
    print(f"    peer: {peer_name}", flush=True)
    if explicit:
        e = statistics.median(et)
        print(f"    quern with the range given ({' '.join(explicit)}) on {os.path.basename(path)}: "
              f"{e:.3f}s (CPU {statistics.median(ec):.2f}s); auto / given {q / e:.2f}x (goal 1.25x), "
              f"CPU {statistics.median(qc) / statistics.median(ec):.2f}x", flush=True)

SCALING = [("2-D mean/std", ["-a", "x:100:0:1", "-a", "y:100:0:1", "-v", "v", "-s", "count,mean,std"]),
           ("3-D 50^3 count", ["-a", "x:50:0:1", "-a", "y:50:0:1", "-a", "z:50:0:1"])]


def membw():
    """The machine's 1 -> 2 thread memory-read scaling right now (bench/membw.c)."""
    if os.environ.get("BENCH_MEMBW"):
        p = subprocess.run([os.environ["BENCH_MEMBW"]], capture_output=True, text=True)
        print(p.stdout.strip(), flush=True)


if not ONLY or "scaling" in ONLY:
    membw()
    for label, args in SCALING:
        r1, r2 = [], []
        for _ in range(REPEAT):  # interleaved, so that drifting load hits both alike
            r1.append(quern(args, "1"))
            r2.append(quern(args, "2"))
        t1 = statistics.median(r[0] for r in r1)
        t2 = statistics.median(r[0] for r in r2)
        c1 = statistics.median(r[1] for r in r1)
        c2 = statistics.median(r[1] for r in r2)
        print(f"thread scaling ({label}): 1 thread {t1:.3f}s (CPU {c1:.2f}s), 2 threads {t2:.3f}s "
              f"(CPU {c2:.2f}s): {t1 / t2:.2f}x (goal 1.7x)", flush=True)
    membw()
print(f"page cache of the data at the end: {cache_state(DATA)}")
print(f"load average at the end: {loadavg()}")
