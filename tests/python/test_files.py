"""quern.stats, quern.bin, quern.group and quern.info against the quern tool.

Run by CTest (python.test_files) with QUERN (the built tool) and PYTHONPATH
set. Files are made with `quern gen` in a temporary directory removed at the
end. The module's results must be the CLI's JSON documents: the same dicts
(stats, info, group's manifest), the same arrays and edges (bin; the JSON
prints 17 significant digits, an exact round trip).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import quern

QUERN = os.environ["QUERN"]
TMP = tempfile.mkdtemp(prefix="qn_python_files_")


def cli(*args):
    r = subprocess.run([QUERN, *args], cwd=TMP, capture_output=True, text=True, check=True)
    return r.stdout


def setUpModule():
    cli("gen", "sim", "--rows", "300000", "-o", "sim.h5", "--seed", "7")
    cli("gen", "sim", "--rows", "100000", "-o", "sim2.parquet", "--seed", "8")
    cli("gen", "measurements", "--rows", "40000", "--keys", "300", "-o", "m.parquet")


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def grid(j):
    """A JSON grid (nested lists; null = NaN, "inf"/"-inf") as float64."""
    def conv(v):
        if isinstance(v, list):
            return [conv(u) for u in v]
        return {None: np.nan, "inf": np.inf, "-inf": -np.inf}.get(v, v)
    return np.array(conv(j), dtype=np.float64)


class Files(unittest.TestCase):
    def setUp(self):
        self.cwd = os.getcwd()
        os.chdir(TMP)

    def tearDown(self):
        os.chdir(self.cwd)

    def test_stats_equals_cli_json(self):
        self.assertEqual(quern.stats("sim.h5"), json.loads(cli("stats", "sim.h5")))
        self.assertEqual(quern.stats(["sim.h5"], columns=["v", "x"], per_file=True, threads=1),
                         json.loads(cli("stats", "sim.h5", "-c", "v,x", "--per-file")))
        self.assertEqual(quern.stats("m.parquet", memory_limit="64M"),
                         json.loads(cli("stats", "m.parquet")))

    def test_bin_equals_cli_json(self):
        cases = [
            (["x:50:0:1"], None, "count", ["-a", "x:50:0:1"]),
            (["x:20", "y:10:0:1"], "v", "count,mean,std,min,max,sum",
             ["-a", "x:20", "-a", "y:10:0:1", "-v", "v", "-s", "count,mean,std,min,max,sum"]),
            ([("x", 8, 0.0, 1.0), ("v", [-3, -1, 0, 0.5, 3])], "z", ["mean", "std"],
             ["-a", "x:8:0:1", "-a", "v@-3,-1,0,0.5,3", "-v", "z", "-s", "mean,std"]),
        ]
        for axes, value, stats, args in cases:
            got = quern.bin("sim.h5", axes=axes, value=value, stats=stats, threads=2)
            want = json.loads(cli("bin", "sim.h5", *args))
            self.assertEqual(got.rows, want["rows"])
            self.assertEqual(got.out_of_range, want["out_of_range"])
            self.assertEqual(got.axes, [a["name"] for a in want["axes"]])
            for e, a in zip(got.edges, want["axes"]):
                np.testing.assert_array_equal(e, np.array(a["edges"]))
            self.assertEqual(sorted(got.stats), sorted(want["stats"]))
            for k, v in want["stats"].items():
                np.testing.assert_array_equal(got.stats[k], grid(v), err_msg=f"{args} {k}")

    def test_bin_many_files_and_weight(self):
        got = quern.bin(["sim2.parquet", "sim.h5"], axes="x:10:0:1", weight="y")
        want = json.loads(cli("bin", "sim2.parquet", "sim.h5", "-a", "x:10:0:1", "--weight", "y"))
        np.testing.assert_array_equal(got.stats["count"], grid(want["stats"]["count"]))

    def test_a_dict_of_arrays_is_a_table(self):
        rng = np.random.default_rng(3)
        x = rng.uniform(size=70000)
        v = np.arange(70000, dtype=np.int32)
        s = quern.stats({"x": x, "v": v})
        self.assertEqual(s["rows"], 70000)
        self.assertEqual(s["columns"]["v"]["sum"], int(v.astype(np.int64).sum()))
        self.assertEqual(s["columns"]["x"]["max"], float(x.max()))
        self.assertAlmostEqual(s["columns"]["x"]["mean"], float(x.mean()), delta=1e-12)
        b = quern.bin({"x": x, "v": v}, axes=[("x", 10, 0.0, 1.0)], value="v", stats=["sum"])
        np.testing.assert_array_equal(
            b.stats["sum"], np.histogram(x, 10, (0, 1), weights=v.astype(float))[0])

    def test_info_equals_cli_json(self):
        for f in ("sim.h5", "m.parquet"):
            self.assertEqual(quern.info(f), json.loads(cli("info", f, "--json")))

    def test_group_manifest_equals_cli(self):
        m = quern.group("m.parquet", key="probe_id", order="ts", out="g_py",
                        split={"train": 0.8, "test": 0.2}, threads=2)
        cli("group", "m.parquet", "--key", "probe_id", "--order", "ts", "-o", "g_cli",
            "--split", "train=0.8,test=0.2")
        with open(os.path.join("g_cli", "manifest.json"), encoding="utf-8") as f:
            want = json.load(f)
        self.assertEqual(m, want)
        self.assertEqual(m["groups"], 300)
        self.assertEqual(m["rows"], 40000)
        with self.assertRaises(ValueError):  # the directory exists now
            quern.group("m.parquet", key="probe_id", out="g_py")

    def test_errors(self):
        with self.assertRaises(FileNotFoundError):
            quern.stats(["sim.h5", "missing.h5"])
        with self.assertRaises(FileNotFoundError) as cm:
            quern.bin("sim.h5", axes=["nosuch:10:0:1"])
        self.assertIn("nosuch", str(cm.exception))
        with self.assertRaises(ValueError):
            quern.bin("sim.h5", axes=["x:0:0:1"])
        with self.assertRaises(ValueError):
            quern.bin("sim.h5", axes=["x:10:0:1"], stats="median")
        with open("bad.parquet", "wb") as f:
            f.write(b"PAR1" + b"\x00" * 64 + b"PAR1")
        with self.assertRaises(quern.FormatError):
            quern.stats("bad.parquet")
        with self.assertRaises(quern.MemoryLimitError):
            quern.bin("sim.h5", axes=["x:3000", "y:3000"], value="v", stats="std",
                      memory_limit="32M")


if __name__ == "__main__":
    unittest.main(verbosity=1, argv=[sys.argv[0]])
