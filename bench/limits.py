"""What limits the stack at a rate: sampled during a load run's steady window, then judged.

`Sampler` records, twice a second, each queue's depth in the broker and how
many of the bench database's PostgreSQL backends wait on a lock
(pg_stat_activity), and reports them over the run's steady window. After the run, `pool_busy` adds up the order tasks'
TaskAttempt rows (start and duration) that overlap the window: the average
number of each pool's slots busy. `limiting_resource` turns these figures, and
the machine's busy cores, into one statement naming the resource.
"""

import statistics
import threading
import time

QUEUES = ("payments", "emails", "reports", "default", "webhooks")
CPU_BUSY = 0.9  # of the machine's cores: the CPU is the limit
POOL_BUSY = 0.9  # of a pool's slots, while its queue grows: that pool's concurrency is
LOCK_WAITERS = 0.5  # backends waiting on a lock, on average


class Sampler:
    def __init__(self, broker_url, database_url, interval=0.5):
        self.broker_url, self.database_url, self.interval = broker_url, database_url, interval
        self.depths: dict[str, list[tuple[float, int]]] = {queue: [] for queue in QUEUES}
        self.lock_waits: list[tuple[float, int]] = []
        self.backends: dict[int, list[tuple[float, float]]] = {}  # pid: [(time, CPU s)]
        self._stop = threading.Event()

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self, since=None, until=None) -> dict:
        """The figures; this database's backends' CPU over the window [since, until]."""
        self._stop.set()
        self._thread.join(5)
        since = since.timestamp() if since else 0.0
        until = until.timestamp() if until else float("inf")
        depths = {q: [depth for at, depth in samples if since <= at <= until]
                  for q, samples in self.depths.items()}  # fmt: skip
        waits = [count for at, count in self.lock_waits if since <= at <= until]
        return {
            "queue_depth": {
                q: {"first": d[0], "last": d[-1], "max": max(d)} for q, d in depths.items() if d
            },
            "lock_waiters_mean": statistics.fmean(waits) if waits else 0.0,
            "lock_waiters_max": max(waits, default=0),
            # CPU of this database's backends alone (the server may serve others): those seen
            # at the start count from then, later ones from their birth; a backend that lives
            # and dies between two samples is missed, so this is a lower bound.
            "our_backends_cpu_s": sum(
                _window_cpu(samples, since, until) for samples in self.backends.values()
            ),
        }

    def _run(self):
        import psycopg
        import redis

        client = redis.Redis.from_url(self.broker_url)
        name = self.database_url.rsplit("/", 1)[1]
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self._stop.is_set():
                with client.pipeline() as pipe:
                    for queue in QUEUES:
                        pipe.llen(queue)
                    now = time.time()
                    for queue, depth in zip(QUEUES, pipe.execute(), strict=True):
                        self.depths[queue].append((now, depth))
                rows = connection.execute(
                    "SELECT pid, wait_event_type = 'Lock' FROM pg_stat_activity "
                    "WHERE datname = %s", [name]).fetchall()  # fmt: skip
                self.lock_waits.append((time.time(), sum(1 for _, waiting in rows if waiting)))
                for pid, _ in rows:
                    self._backend(pid)
                self._stop.wait(self.interval)

    def _backend(self, pid):
        import psutil

        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return
        self.backends.setdefault(pid, []).append((time.time(), times.user + times.system))


def _window_cpu(samples, since, until) -> float:
    """A backend's CPU within [since, until] from its samples: from its last sample before
    the window (or from 0, born inside it) to its last sample inside it."""
    inside = [cpu for at, cpu in samples if since <= at <= until]
    if not inside:
        return 0.0
    before = [cpu for at, cpu in samples if at < since]
    return inside[-1] - (before[-1] if before else 0.0)


def pool_busy(since, until) -> dict[str, float]:
    """{queue: average slots busy with order tasks over [since, until]} from TaskAttempt rows."""
    import datetime as dt

    from jobs.models import TaskAttempt

    seconds = (until - since).total_seconds()
    busy: dict[str, float] = {}
    rows = TaskAttempt.objects.filter(started_at__lte=until,
                                      started_at__gte=since - dt.timedelta(seconds=120))  # fmt: skip
    for queue, started, duration_ms in rows.values_list("queue", "started_at", "duration_ms"):
        ended = started + dt.timedelta(milliseconds=duration_ms)
        overlap = (min(ended, until) - max(started, since)).total_seconds()
        if overlap > 0:
            busy[queue] = busy.get(queue, 0.0) + overlap
    return {queue: value / seconds for queue, value in sorted(busy.items())}


def limiting_resource(point: dict, *, cores: int, pools: dict[str, tuple[str, int]]) -> str:
    """One sentence naming what limits the stack at this rate, from the figures it cites.

    In order: the CPU (the machine's cores ≥ 90% busy); a pool's concurrency (a
    queue that grew during the window while ≥ 90% of its pool's slots were
    busy); PostgreSQL locks (≥ 0.5 backends waiting on a lock on average); a
    queue that grew with its pool not full (its workers' CPU or prefetch, not
    their number); else the web processes, if the checkout itself is slow.
    """
    facts = point.get("limits") or {}
    machine = facts.get("machine_cores") or 0.0
    growing = {q: d for q, d in facts.get("queue_depth", {}).items() if d["last"] - d["first"] >= 5}
    busy = facts.get("pool_busy", {})
    if machine >= CPU_BUSY * cores:
        return (f"CPU: the machine's {cores} cores were {machine / cores:.0%} busy "
                f"({machine:.2f} cores, /proc/stat)")  # fmt: skip
    for queue, depth in sorted(growing.items(), key=lambda kv: kv[1]["first"] - kv[1]["last"]):
        pool, slots = pools.get(queue, ("?", 0))
        if slots and busy.get(queue, 0.0) >= POOL_BUSY * slots:
            return (f"the {queue} pool's concurrency ({pool} -c {slots}): {busy[queue]:.2f} of "
                    f"{slots} slots busy on average while its queue grew from {depth['first']} "
                    f"to {depth['last']}; the machine was {machine / cores:.0%} busy")  # fmt: skip
    if facts.get("lock_waiters_mean", 0.0) >= LOCK_WAITERS:
        return (f"PostgreSQL locks: {facts['lock_waiters_mean']:.1f} backends waiting on a lock "
                f"on average (max {facts['lock_waiters_max']}, pg_stat_activity)")  # fmt: skip
    if growing:
        queue, depth = max(growing.items(), key=lambda kv: kv[1]["last"] - kv[1]["first"])
        pool, slots = pools.get(queue, ("?", 0))
        return (f"the {queue} workers: its queue grew from {depth['first']} to {depth['last']} "
                f"with {busy.get(queue, 0.0):.2f} of {slots} slots busy ({pool}), so not their "
                f"number; the machine was {machine / cores:.0%} busy")  # fmt: skip
    checkout = point.get("checkout_p95_ms") or {}
    return (f"not identified: no queue grew, the machine was {machine / cores:.0%} busy, "
            f"{facts.get('lock_waiters_mean', 0.0):.1f} backends waited on locks; "
            f"checkout p95 {checkout.get('median') or 0:.0f} ms (the web processes?)")  # fmt: skip
