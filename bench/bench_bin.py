"""quern bin against its peers, side by side in one run (see bench_bin.sh).

Each case runs the peer (numpy / scipy on arrays loaded with h5py, or
DuckDB's SQL on a Parquet copy of the same data) and the whole `quern bin`
process on the HDF5 file, each in its own process under /usr/bin/time -v,
and prints wall times, the ratio peer / quern, quern's CPU time (user +
sys: the machine's 2 vCPUs are shared, so CPU time is the steadier figure)
and peak RSS. The peer's time is the call alone (loading the columns with
h5py, or starting node, is not counted, which favours the peer); quern's
is the whole process, reading included. Medians over BENCH_REPEAT runs
(default 3); the load average is printed before and after.
"""
import os
import re
import statistics
import subprocess
import sys
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

# (name, peer label, peer kind, peer setup, peer call, quern args, goal)
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
]


def timed(cmd):
    """Runs cmd under /usr/bin/time -v: (wall s, user + sys s, peak RSS MiB, stdout).
    The wall time is taken around the whole /usr/bin/time process (its own
    figure has 10 ms steps), so it includes that extra fork and exec."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:6])}...\n{p.stderr[-2000:]}")
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", p.stderr).group(1))
              for k in ("User", "System"))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return wall, cpu, rss, p.stdout


def peer(kind, setup, call):
    if kind == "duck":
        warm(PARQUET)  # DuckDB's time includes reading it: give it the page cache too
        _, _, rss, out = timed(["node", DUCK, THREADS, call.format(pq=PARQUET)])
        return float(out.strip().splitlines()[-1]), rss
    code = PEER_PRELUDE + setup + f"\nt = time.perf_counter()\n{call}\nprint(time.perf_counter() - t)\n"
    _, _, rss, out = timed([PY, "-c", code])
    return float(out.strip().splitlines()[-1]), rss


def warm(path):
    """Reads the file so that it is in the page cache: this machine's kernel
    evicts pages idle for a few seconds (DAMON reclaim), and a peer's run
    lasts longer than that."""
    with open(path, "rb") as f:
        while f.readinto(WARM_BUF):
            pass


WARM_BUF = bytearray(8 << 20)


def quern(args, threads=THREADS):
    out = os.path.join(os.environ.get("BENCH_OUT", "/tmp"), "bench_bin_out.json")
    warm(DATA)
    wall, cpu, rss, _ = timed([QUERN, "bin", DATA, "--no-progress", "-t", threads, "-o", out] + args)
    return wall, cpu, rss


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


print(f"data: {DATA}; quern --threads {THREADS}; medians of {REPEAT} runs; load average {loadavg()}")
print(f"{'case':38} {'peer':>9} {'quern':>8} {'ratio':>7} {'goal':>5} {'q CPU':>7}  {'peer RSS':>9} {'quern RSS':>9}")
for name, peer_name, kind, setup, call, args, goal in CASES:
    if ONLY and ONLY not in name:
        continue
    if kind == "duck" and not (PARQUET and DUCK):
        print(f"{name:38} skipped: no DuckDB (bash scripts/setup-node.sh) or no Parquet copy")
        continue
    pt, pr, qt, qc, qr = [], [], [], [], []
    for _ in range(REPEAT):
        t, r = peer(kind, setup, call)
        pt.append(t)
        pr.append(r)
        t, c, r = quern(args)
        qt.append(t)
        qc.append(c)
        qr.append(r)
    p, q = statistics.median(pt), statistics.median(qt)
    print(f"{name:38} {p:8.2f}s {q:7.3f}s {p / q:6.1f}x {goal:4d}x {statistics.median(qc):6.2f}s"
          f"  {max(pr):7.0f}M {max(qr):8.0f}M", flush=True)
    print(f"    peer: {peer_name}", flush=True)

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
print(f"load average at the end: {loadavg()}")
