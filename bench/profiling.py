"""Where the time goes at one rate of the capacity curve: py-spy on each process, PostgreSQL's view.

While a load run is under way, `Profile.start()` launches `py-spy record`
(sampling, from outside; the processes run unchanged) on every process of
the stack, and a thread samples pg_stat_activity. `Profile.report()` turns
that into text: per process, the share of samples in each leaf frame and in
the project's own functions; for PostgreSQL, how many backends were busy and
on what (a backend "idle in transaction" waits for its client).

py-spy runs at a low rate (50 Hz) so that it costs little of the two cores
it shares with what it measures.
"""

import collections
import subprocess
import threading
import time
from pathlib import Path

import psutil

from .stack import PYTHON, ROOT

SAMPLES_PER_SECOND = 50
PROJECT_PACKAGES = ("jobs/", "orders/", "notifications/", "reports/", "inventory/", "storefront/",
                    "sandbox/", "ops/", "accounts/", "console/")  # fmt: skip


class Profile:
    def __init__(self, stack, workdir: Path, *, seconds: int, database_url: str):
        self.stack, self.seconds, self.database_url = stack, seconds, database_url
        self.directory = workdir / "profile"
        self.directory.mkdir(exist_ok=True)
        self.recorders: list[subprocess.Popen] = []
        self.outputs: dict[str, Path] = {}
        self.activity: collections.Counter = collections.Counter()
        self.activity_samples = 0

    def start(self, delay: float = 3.0):
        """Begin sampling after `delay` seconds (let the load reach its rate)."""
        threading.Thread(target=self._run, args=(delay,), daemon=True).start()

    def _run(self, delay):
        time.sleep(delay)
        py_spy = str(Path(PYTHON).parent / "py-spy")
        for kind, pids in self.stack.kinds().items():
            for pid in _python_processes(pids[0]):
                output = self.directory / f"{kind}-{pid}.txt"
                self.outputs[f"{kind} (pid {pid})"] = output
                self.recorders.append(subprocess.Popen(
                    [py_spy, "record", "--pid", str(pid), "--duration", str(self.seconds),
                     "--rate", str(SAMPLES_PER_SECOND), "--format", "raw", "--nonblocking",
                     "--output", str(output)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                ))  # fmt: skip
        self._sample_postgres()

    def _sample_postgres(self):
        import psycopg

        database = self.database_url.rsplit("/", 1)[1]
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            end = time.monotonic() + self.seconds
            while time.monotonic() < end:
                rows = connection.execute(
                    "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU'), "
                    "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND state <> 'idle'",
                    (database,),
                ).fetchall()
                self.activity_samples += 1
                self.activity.update(rows)
                time.sleep(0.05)

    def report(self) -> str:
        for recorder in self.recorders:
            recorder.wait(self.seconds + 30)
        lines = [f"py-spy at {SAMPLES_PER_SECOND} Hz for {self.seconds} s, active threads only: "
                 "where each process spent its CPU. Waiting shows in PostgreSQL's view below."]  # fmt: skip
        for name, path in sorted(self.outputs.items()):
            if path.exists():
                lines += ["", f"## {name}", *summarize(path)]
        samples = max(self.activity_samples, 1)
        busy = sum(self.activity.values()) / samples
        lines += ["", f"## PostgreSQL: {busy:.2f} backends busy on average "
                  f"({self.activity_samples} samples of pg_stat_activity)"]  # fmt: skip
        for (state, wait, query), count in self.activity.most_common(12):
            lines.append(f"  {count / samples:5.2f}  {state:<20} {wait:<24} {query}")
        return "\n".join(lines) + "\n"


def summarize(path: Path, top: int = 8) -> list[str]:
    """Shares of the samples in py-spy's collapsed stacks: leaf frames, then project functions."""
    leaves, project, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        count, frames = int(count), stack.split(";")
        total += count
        leaves[_short(frames[-1])] += count
        for frame in {_short(f) for f in frames if _is_project(f)}:
            project[frame] += count
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples. Leaf frames:"]
    lines += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in leaves.most_common(top)]
    lines.append("  Project functions (inclusive):")
    lines += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in project.most_common(top)]
    return lines


def _is_project(frame: str) -> bool:
    return "site-packages" not in frame and any(f"({p}" in frame for p in PROJECT_PACKAGES)


def _short(frame: str) -> str:
    return frame.split(" (/")[0] if " (/" in frame else frame


def _python_processes(pid: int) -> list[int]:
    """The process and its children that run Python (gunicorn's workers, prefork's pool)."""
    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    return [p.pid for p in processes if "python" in (p.name() + " ".join(p.cmdline()[:1]))]
