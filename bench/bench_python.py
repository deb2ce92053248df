"""The quern Python module against numpy and scipy, side by side in one run.

    /usr/bin/python3 bench/bench_python.py [--rows 1e8] [--threads 2]
        [--repeat 5] [--peer-repeat 1]

(PYTHONPATH must reach the built module: build/python.) 1e8 float64
values per column already in numpy arrays (x, y uniform, z and v normal):

  quern.histogram(x, 100)                      vs np.histogram       (goal >= 10x)
  quern.histogramdd((x, y, z), bins=50)        vs np.histogramdd     (goal >= 30x)
  quern.binned_statistic_2d(x, y, v, 'std', bins=100)
                                               vs scipy's            (goal >= 30x)

Times are medians of --repeat runs for quern and --peer-repeat for the
peers (each peer call takes tens of seconds). Extra memory of a call is
its peak RSS minus the RSS before it: VmHWM reset by writing 5 to
/proc/self/clear_refs before the call, read after it. The results are
also checked equal (counts identical, std within 1e-12 relative) so that
the timing compares the same work.
"""
import argparse
import statistics
import sys
import time

import numpy as np
import scipy.stats

import quern

MiB = 1 << 20


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def measure(call, repeat):
    times, extra, result = [], 0, None
    for _ in range(repeat):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS:")
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
        extra = max(extra, status("VmHWM:") - before)
    return statistics.median(times), extra, result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--peer-repeat", type=int, default=1)
    a = ap.parse_args()
    n = int(a.rows)
    rng = np.random.default_rng(42)
    x, y = rng.uniform(size=n), rng.uniform(size=n)
    z, v = rng.normal(size=n), rng.normal(size=n)
    t = a.threads
    quern.histogram(x[:1000], 10, threads=t)  # load the module's libraries
    cases = [
        ("histogram(x, 100)", 10,
         lambda: quern.histogram(x, 100, threads=t), lambda: np.histogram(x, 100),
         lambda q, p: np.array_equal(q[0], p[0]) and np.array_equal(q[1], p[1])),
        ("histogramdd((x, y, z), bins=50)", 30,
         lambda: quern.histogramdd((x, y, z), bins=50, threads=t),
         lambda: np.histogramdd((x, y, z), bins=50),
         lambda q, p: np.array_equal(q[0], p[0])),
        ("binned_statistic_2d(x, y, v, 'std', bins=100)", 30,
         lambda: quern.binned_statistic_2d(x, y, v, "std", bins=100, threads=t),
         lambda: scipy.stats.binned_statistic_2d(x, y, v, "std", bins=100),
         lambda q, p: np.allclose(q.statistic, p.statistic, rtol=1e-12, atol=0, equal_nan=True)),
    ]
    print(f"rows {n:.3g}, threads {t}, quern {quern.__version__}, numpy {np.__version__}, "
          f"scipy {scipy.__version__}; medians of {a.repeat} (quern) and {a.peer_repeat} (peer)")
    print(f"{'call':48s} {'peer s':>8s} {'quern s':>8s} {'ratio':>7s} {'goal':>5s} "
          f"{'peer extra':>11s} {'quern extra':>12s} same")
    ok = True
    for name, goal, qcall, pcall, same in cases:
        qt, qm, qr = measure(qcall, a.repeat)
        pt, pm, pr = measure(pcall, a.peer_repeat)
        eq = bool(same(qr, pr))
        ratio = pt / qt
        ok &= eq and ratio >= goal
        print(f"{name:48s} {pt:8.3f} {qt:8.3f} {ratio:6.1f}x {goal:4d}x "
              f"{pm / MiB:8.0f} MiB {qm / MiB:9.1f} MiB {'yes' if eq else 'NO'}", flush=True)
        del qr, pr
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
