#!/usr/bin/python3
"""The peer of `quern stats`: h5py chunked reads plus numpy count, min, max,
mean and std per column (what process_data.py users write), or, with
--read-only, the bare chunked read. Prints elapsed seconds."""
import sys, time
import h5py, numpy as np

path = sys.argv[1]
read_only = "--read-only" in sys.argv
t0 = time.perf_counter()
with h5py.File(path, "r") as f:
    for name in sorted(f.keys()):
        d = f[name]
        step = d.chunks[0] if d.chunks else 1 << 20
        buf = np.empty(step, dtype=d.dtype)
        parts = []
        for a in range(0, d.shape[0], step):
            b = min(a + step, d.shape[0])
            x = buf[: b - a]
            d.read_direct(x, np.s_[a:b])
            if read_only:
                continue
            # per chunk: count, min, max, mean, std (numpy's two-pass std)
            parts.append((x.size, x.min(), x.max(), x.mean(), x.std()))
        if parts:  # merge the chunks (Chan's formula)
            n = np.array([p[0] for p in parts], dtype=np.float64)
            m = np.array([p[3] for p in parts]); v = np.array([p[4] for p in parts]) ** 2
            total = n.sum(); mean = (n * m).sum() / total
            std = np.sqrt(((n * (v + (m - mean) ** 2)).sum()) / total)
            lo = min(p[1] for p in parts); hi = max(p[2] for p in parts)
print(f"{time.perf_counter() - t0:.4f}")
