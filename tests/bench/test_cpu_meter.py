"""The bench's CPU meter counts whole process trees, children that already ended included."""

import subprocess
import sys

from bench.cpu import machine_busy, proc_table, tree_cpu

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3:\n    pass\n"
# Waits for a line, runs a child that burns 0.3 s of CPU and ends (reaped), says so, waits.
PARENT = (
    "import subprocess, sys\n"
    "sys.stdin.readline()\n"
    f"subprocess.run([sys.executable, '-c', {BURN!r}], check=True)\n"
    "print('done', flush=True)\n"
    "sys.stdin.readline()\n"
)


def test_a_child_that_started_and_ended_between_two_samples_is_counted_in_its_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        before = tree_cpu(parent.pid)
        parent.stdin.write("go\n")
        parent.stdin.flush()
        assert parent.stdout.readline().strip() == "done"
        after = tree_cpu(parent.pid)
    finally:
        parent.stdin.close()
        parent.wait(timeout=30)
    # The child is gone (reaped): only the parent's cutime+cstime can hold its 0.3 s.
    assert after - before >= 0.25


def test_a_tree_counts_its_live_descendants_and_a_gone_process_counts_nothing():
    child = subprocess.Popen([sys.executable, "-c", BURN + "import time\ntime.sleep(30)\n"])
    try:
        deadline_table = None
        for _ in range(200):  # until the child has burnt its 0.3 s
            deadline_table = proc_table()
            if deadline_table[child.pid][1] >= 0.25:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        # This test process's tree holds the live child's time.
        import os

        assert tree_cpu(os.getpid(), deadline_table) >= deadline_table[child.pid][1] >= 0.25
    finally:
        child.kill()
        child.wait()
    assert tree_cpu(child.pid) == 0.0
    assert machine_busy() > 0
