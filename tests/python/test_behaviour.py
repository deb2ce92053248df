"""How quern's Python calls behave in a process: Ctrl-C, other threads,
memory.

Run by CTest (python.test_behaviour) with QUERN and PYTHONPATH set.
- SIGINT sent 0.5 s into a call that takes about 10 s (a file job over a
  1M-row file listed 1000 times, one thread) must end it with
  KeyboardInterrupt within 3 s (the module checks every 50 ms; the bound
  is loose so that a loaded machine does not fail it); the process can
  then run quern again.
- Another Python thread keeps running while quern works (the GIL is
  released): a counter thread counts during the call.
- Extra memory of a call over arrays (peak RSS minus RSS before, VmHWM
  reset through /proc/self/clear_refs) stays within 32 MiB plus the result.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import numpy as np

import quern

QUERN = os.environ["QUERN"]
TMP = tempfile.mkdtemp(prefix="qn_python_behaviour_")
FILE = os.path.join(TMP, "s.h5")
MiB = 1 << 20


def setUpModule():
    subprocess.run([QUERN, "gen", "sim", "--rows", "1000000", "-o", FILE], check=True,
                   capture_output=True)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def long_bin(copies, threads=1):
    return quern.bin([FILE] * copies, axes=["x@0,0.001,0.01,0.1,0.5,1", "y:100:0:1"], value="v",
                     stats="std", threads=threads)


class Interrupt(unittest.TestCase):
    def test_sigint_ends_a_long_call_with_keyboardinterrupt(self):
        child = textwrap.dedent(f"""
            import sys, time, quern
            files = [{FILE!r}] * 1000
            print("started", flush=True)
            t0 = time.monotonic()
            try:
                quern.bin(files, axes=["x@0,0.001,0.01,0.1,0.5,1", "y:100:0:1"], value="v",
                          stats="std", threads=1)
                print("finished", time.monotonic() - t0, flush=True)
            except KeyboardInterrupt:
                print("interrupted", time.monotonic() - t0, flush=True)
            r = quern.histogram([0.5, 1.5, 2.5], 3, range=(0, 3))
            print("after", list(r[0]), flush=True)
        """)
        p = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=os.environ)
        self.assertEqual(p.stdout.readline().strip(), "started")
        time.sleep(0.5)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            self.fail("the call did not end after SIGINT")
        took = time.monotonic() - sent
        self.assertEqual(p.returncode, 0, err)
        lines = out.split("\n")
        self.assertTrue(lines[0].startswith("interrupted"), out + err)
        self.assertLess(took, 3.0, f"ended {took:.2f} s after SIGINT")
        self.assertEqual(lines[1], "after [1, 1, 1]")


class OtherThreads(unittest.TestCase):
    def count_during(self, call):
        stop = threading.Event()
        count = [0]

        def counter():
            while not stop.is_set():
                count[0] += 1

        t = threading.Thread(target=counter)
        t.start()
        time.sleep(0.05)
        before = count[0]
        t0 = time.monotonic()
        call()
        took = time.monotonic() - t0
        during = count[0] - before
        stop.set()
        t.join()
        return during, took

    def test_a_python_thread_runs_during_a_file_job(self):
        during, took = self.count_during(lambda: long_bin(60))
        self.assertGreater(took, 0.2)
        # a held GIL would let the counter run only around the call
        self.assertGreater(during, 10000, f"{during} increments in {took:.2f} s")

    def test_a_python_thread_runs_during_an_array_call(self):
        x = np.random.default_rng(5).uniform(0, 1, 10_000_000)
        e = np.concatenate([[0], np.geomspace(1e-9, 1, 40)])
        during, took = self.count_during(
            lambda: quern.binned_statistic_dd([x, x, x], x, "std", bins=[e] * 3, threads=1))
        self.assertGreater(during, 10000, f"{during} increments in {took:.2f} s")


class Memory(unittest.TestCase):
    def test_extra_memory_within_32_mib_plus_the_result(self):
        if not os.path.exists("/proc/self/clear_refs"):
            self.skipTest("no /proc/self/clear_refs")
        child = textwrap.dedent("""
            import numpy as np, quern

            def status(key):
                for line in open("/proc/self/status"):
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024

            rng = np.random.default_rng(1)
            n = 10_000_000
            x, y, z = rng.uniform(size=n), rng.uniform(size=n), rng.normal(size=n)
            m = np.stack([x, y, z], axis=1)  # strided columns
            quern.histogram(x[:1000], 10)   # warm up: load the module's libraries
            for name, call, result in [
                ("histogram", lambda: quern.histogram(x, 100), 100 * 8),
                ("histogramdd", lambda: quern.histogramdd((x, y, z), bins=50), 50**3 * 8),
                ("histogramdd strided", lambda: quern.histogramdd(m, bins=50), 50**3 * 8),
                ("binned_statistic_2d std",
                 lambda: quern.binned_statistic_2d(x, y, z, "std", bins=100), 100**2 * 8),
            ]:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
                before = status("VmRSS:")
                r = call()
                extra = status("VmHWM:") - before
                print(name, extra, result, flush=True)
        """)
        out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                             env=os.environ, check=True).stdout
        for line in out.strip().split("\n"):
            name, extra, result = line.rsplit(" ", 2)
            self.assertLessEqual(int(extra), 32 * MiB + int(result),
                                 f"{name}: {int(extra) / MiB:.1f} MiB extra")


if __name__ == "__main__":
    unittest.main(verbosity=1, argv=[sys.argv[0]])
