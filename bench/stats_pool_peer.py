#!/usr/bin/python3
"""A peer of `mpirun -np 2 quern stats` at equal cores, without mpi4py: the
seeds' pattern, multiprocessing.Pool(N) over (column, chunk range) tasks,
each worker reading its chunks with h5py and summarising them with numpy
(count, min, max, mean, std) chunk by chunk as stats_peer.py does; the parent merges the parts in order (Chan's
formula). Prints elapsed seconds.
usage: stats_pool_peer.py FILE.h5 [PROCESSES]"""
import sys, time
from multiprocessing import Pool

import h5py
import numpy as np


_buf = {}


def part(task):
    """One chunk of one column, read into this worker's reused buffer (a
    fresh array per task costs its page faults again: 15x slower here)."""
    path, name, a, b = task
    with h5py.File(path, "r") as f:
        d = f[name]
        buf = _buf.get(d.dtype)
        if buf is None or buf.size < b - a:
            buf = _buf[d.dtype] = np.empty(b - a, dtype=d.dtype)
        x = buf[: b - a]
        d.read_direct(x, np.s_[a:b])
    return name, x.size, x.min(), x.max(), x.mean(), x.std()


def main():
    path = sys.argv[1]
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        tasks = []
        for name in sorted(f.keys()):
            d = f[name]
            step = d.chunks[0] if d.chunks else 1 << 20
            tasks += [(path, name, a, min(a + step, d.shape[0])) for a in range(0, d.shape[0], step)]
    with Pool(procs) as pool:
        parts = pool.map(part, tasks, chunksize=1)
    out = {}
    for name in sorted({p[0] for p in parts}):
        ps = [p for p in parts if p[0] == name]
        n = np.array([p[1] for p in ps], dtype=np.float64)
        m = np.array([p[4] for p in ps]); v = np.array([p[5] for p in ps]) ** 2
        total = n.sum(); mean = (n * m).sum() / total
        std = np.sqrt((n * (v + (m - mean) ** 2)).sum() / total)
        out[name] = (int(total), min(p[2] for p in ps), max(p[3] for p in ps), mean, std)
    print(f"{time.perf_counter() - t0:.4f}")


if __name__ == "__main__":
    main()
