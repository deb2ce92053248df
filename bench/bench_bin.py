"""quern bin against its peers, side by side in one run (see bench_bin.sh).

Each case runs the peer (numpy / scipy on arrays loaded with h5py) and the
whole `quern bin` process on the same HDF5 file, each in its own process
under /usr/bin/time -v, and prints wall times, the ratio peer / quern and
peak RSS. The peer's time is the call alone (loading the columns with h5py
is not counted, which favours the peer); quern's is the whole process,
reading included. Medians over BENCH_REPEAT runs (default 3).
"""
import os
import re
import statistics
import subprocess
import sys

QUERN = os.environ["QUERN"]
DATA = os.environ["BENCH_DATA"]
THREADS = os.environ.get("BENCH_THREADS", "2")
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
ONLY = os.environ.get("BENCH_ONLY", "")
PY = "/usr/bin/python3"

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

CASES = [
    ("1-D 100 regular bins, count", "np.histogram(x, 100, range=(0, 1))",
     "x = col('x')", "np.histogram(x, 100, range=(0.0, 1.0))",
     ["-a", "x:100:0:1"], 10),
    ("1-D 100 irregular bins, count", "np.histogram(x, bins=edges)",
     "x = col('x')", "np.histogram(x, bins=E)",
     ["-a", "x@" + EDGES], 20),
    ("2-D 100x100, count+mean+std of v", "scipy binned_statistic_2d x3",
     "x, y, v = col('x'), col('y'), col('v'); from scipy.stats import binned_statistic_2d as b",
     "[b(x, y, v, s, bins=100, range=[[0, 1], [0, 1]]) for s in ('count', 'mean', 'std')]",
     ["-a", "x:100:0:1", "-a", "y:100:0:1", "-v", "v", "-s", "count,mean,std"], 40),
    ("3-D 50^3, count", "np.histogramdd((x, y, z), 50)",
     "x, y, z = col('x'), col('y'), col('z')",
     "np.histogramdd((x, y, z), bins=50, range=[(0, 1)] * 3)",
     ["-a", "x:50:0:1", "-a", "y:50:0:1", "-a", "z:50:0:1"], 50),
]


def timed(cmd):
    """Runs cmd under /usr/bin/time -v: (wall seconds, peak RSS MiB, stdout)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:6])}...\n{p.stderr[-2000:]}")
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)",
                  p.stderr)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return wall, rss, p.stdout


def peer(setup, call):
    code = PEER_PRELUDE + setup + f"\nt = time.perf_counter()\n{call}\nprint(time.perf_counter() - t)\n"
    wall, rss, out = timed([PY, "-c", code])
    return float(out.strip().splitlines()[-1]), rss


def quern(args):
    out = os.path.join(os.environ.get("BENCH_OUT", "/tmp"), "bench_bin_out.json")
    wall, rss, _ = timed([QUERN, "bin", DATA, "--no-progress", "-t", THREADS, "-o", out] + args)
    return wall, rss


print(f"data: {DATA}; quern --threads {THREADS}; medians of {REPEAT} runs")
print(f"{'case':36} {'peer':>9} {'quern':>8} {'ratio':>7} {'goal':>5}  {'peer RSS':>9} {'quern RSS':>9}")
for name, peer_name, setup, call, args, goal in CASES:
    if ONLY and ONLY not in name:
        continue
    pt, pr, qt, qr = [], [], [], []
    for _ in range(REPEAT):
        t, r = peer(setup, call)
        pt.append(t)
        pr.append(r)
        t, r = quern(args)
        qt.append(t)
        qr.append(r)
    p, q = statistics.median(pt), statistics.median(qt)
    print(f"{name:36} {p:8.2f}s {q:7.3f}s {p / q:6.1f}x {goal:4d}x  {max(pr):7.0f}M {max(qr):8.0f}M",
          flush=True)
    print(f"    peer: {peer_name}", flush=True)

if not ONLY or "scaling" in ONLY:
    args = ["-a", "x:100:0:1", "-a", "y:100:0:1", "-v", "v", "-s", "count,mean,std"]
    t1 = statistics.median(timed([QUERN, "bin", DATA, "--no-progress", "-t", "1", "-o",
                                  "/tmp/bench_bin_t1.json"] + args)[0] for _ in range(REPEAT))
    t2 = statistics.median(timed([QUERN, "bin", DATA, "--no-progress", "-t", "2", "-o",
                                  "/tmp/bench_bin_t2.json"] + args)[0] for _ in range(REPEAT))
    print(f"thread scaling (2-D mean/std): 1 thread {t1:.3f}s, 2 threads {t2:.3f}s, "
          f"{t1 / t2:.2f}x (goal 1.7x)")
