"""Liveness and readiness checks for load balancers and orchestrators.

Liveness says only that the process serves requests. Readiness says the
site can do its work: the database answers, the broker accepts connections
and every queue in settings.ORDERLY_QUEUES is consumed by at least one
worker that answered the last time this process asked (ops.worker_facts asks
in the background, so a probe never waits for the workers' replies; the
answer says how old that is). Workers are matched by the queues they
consume, never by hostname, so any naming or placement of workers works.
Beat is stale when no periodic task was sent for longer than the shortest
schedule allows (ops.schedules): without beat the outbox relay stops too.
With Redis Sentinel (settings.REDIS_SENTINELS) every Sentinel must answer
and name the master; the ones that do not are named.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection

from jobs import redis_clients
from jobs.beat import active_beat as lease_holder
from jobs.models import PausedQueue, QueueEvent

from . import broker_nodes, worker_facts
from .worker_facts import WorkerFacts, broker_connection


@dataclass
class Check:
    ok: bool
    detail: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, **self.extra}


def check_database() -> Check:
    """The default database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means "not reachable"
        return Check(ok=False, detail=f"{type(error).__name__}: {error}")
    return Check(ok=True, detail=connection.vendor)


def check_broker(broker_url: str | None = None) -> Check:
    """The broker accepts a connection within the timeout (one try, no retry loop).

    A URL listing several nodes (a cluster, kombu's failover) needs every
    node to answer: the failed ones are named (ops.broker_nodes).
    """
    if broker_nodes.has_several_nodes(broker_url or broker_nodes.configured_broker_url()):
        return check_broker_nodes(broker_url or broker_nodes.configured_broker_url())
    try:
        with broker_connection(broker_url) as conn:
            conn.ensure_connection(
                max_retries=1,
                interval_start=0,
                interval_step=0,
                timeout=settings.ORDERLY_READINESS_TIMEOUT,
            )
    except Exception as error:  # refused, timed out, bad credentials ...
        return Check(ok=False, detail=f"{type(error).__name__}: {error}")
    return Check(ok=True, detail=conn.as_uri())  # as_uri() masks the password


def check_broker_nodes(broker_url: str) -> Check:
    """Every node of a failover list answers; the detail names those that do not."""
    answers = broker_nodes.ask_nodes(broker_url)
    silent = [answer for answer in answers if not answer.ok]
    nodes = {answer.node: "answered" if answer.ok else answer.error for answer in answers}
    detail = (
        "broker nodes not answering: "
        + "; ".join(f"{answer.node} ({answer.error})" for answer in silent)
        if silent
        else f"{len(answers)} nodes answered"
    )
    return Check(ok=not silent, detail=detail, extra={"nodes": nodes})


def _paused_queues() -> dict[str, float]:
    """Each paused queue and when it was paused (Unix time)."""
    try:
        rows = PausedQueue.objects.values_list("queue", "paused_at")
        return {queue: paused_at.timestamp() for queue, paused_at in rows}
    except Exception:  # the database check reports a broken database
        return {}


def _resumed_since(moment: float) -> set[str]:
    """Queues an operator resumed after `moment` (Unix time)."""
    try:
        return set(
            QueueEvent.objects.filter(
                action=QueueEvent.Action.RESUMED,
                at__gt=datetime.fromtimestamp(moment, tz=UTC),
            ).values_list("queue", flat=True)
        )
    except Exception:
        return set()


def check_workers(broker_url: str | None = None, *, facts: WorkerFacts | None = None) -> Check:
    """Every queue in ORDERLY_QUEUES has at least one worker that answered, or is paused.

    `facts` default to the last answer this process has (ops.worker_facts:
    never waits, except once per process), labelled with their age. A queue
    an operator paused (jobs.services.queue_pausing) has no consumer on
    purpose: it is "paused", as is a queue paused after the facts were
    gathered. One resumed after them is not yet failed for having no consumer.
    """
    facts = facts or worker_facts.cache.current(broker_url)
    asked = {
        "asked_at": datetime.fromtimestamp(facts.gathered_at, tz=UTC).isoformat(),
        "age_seconds": round(facts.age_seconds(), 3),
    }
    if facts.error:
        return Check(ok=False, detail=facts.error, extra=asked)
    paused = _paused_queues()
    resumed = _resumed_since(facts.gathered_at)
    states: dict[str, str | list[str]] = {}
    missing = []
    for queue in settings.ORDERLY_QUEUES:
        workers = facts.consumers.get(queue, [])
        if queue in paused and (not workers or paused[queue] > facts.gathered_at):
            states[queue] = "paused"
        elif not workers and queue in resumed:
            states[queue] = "resumed, not asked since"
        else:
            states[queue] = workers
            if not workers:
                missing.append(queue)
    detail = ""
    if missing:
        detail = (
            f"no worker answered for queues: {', '.join(missing)} "
            f"(asked {asked['age_seconds']:.1f} s ago)"
        )
    return Check(
        ok=not missing,
        detail=detail,
        extra={"queues": states, "paused": sorted(paused), **asked},
    )


def active_beat() -> dict:
    """Which beat holds the lease (jobs.beat); shown, never a reason to be unready.

    A web process can serve without beat; a missing beat shows here as null.
    """
    try:
        return {"active": lease_holder()}
    except Exception as error:  # informational: never fail readiness over it
        return {"active": None, "detail": f"{type(error).__name__}: {error}"}


def check_beat() -> Check:
    """Beat sent a periodic task within the shortest schedule's interval (plus grace)."""
    from .schedules import beat_staleness

    try:
        stale, detail = beat_staleness()
    except Exception as error:
        return Check(ok=False, detail=f"{type(error).__name__}: {error}")
    return Check(ok=not stale, detail=f"stale: {detail}" if stale else detail)


def check_redis_sentinels() -> Check:
    """Every configured Sentinel answers, and one of them names a master that is up.

    A node that does not answer is named: a failover needs a quorum of them,
    and a wrong address in REDIS_SENTINELS is found here before that day.
    """
    answers = redis_clients.ask_sentinels(timeout=settings.ORDERLY_READINESS_TIMEOUT)
    silent = [answer.node for answer in answers if not answer.answered]
    masters = sorted({answer.master for answer in answers if answer.master})
    problems = []
    if silent:
        problems.append(f"Sentinel {', '.join(silent)} did not answer")
    if not masters:
        problems.append(f"no Sentinel knows the master {settings.REDIS_SENTINEL_MASTER!r}")
    return Check(
        ok=not problems,
        detail="; ".join(problems) or f"master at {', '.join(masters)}",
        extra={
            "master": masters[0] if len(masters) == 1 else masters or None,
            "nodes": {a.node: f"master at {a.master}" if a.master else a.problem for a in answers},
        },
    )


def readiness(*, broker_url: str | None = None) -> dict:
    """Run every readiness check; the workers are only asked once the broker answers."""
    checks = {"database": check_database(), "broker": check_broker(broker_url)}
    if checks["broker"].ok:
        checks["workers"] = check_workers(broker_url)
    else:
        checks["workers"] = Check(ok=False, detail="not checked: the broker is unreachable")
    checks["beat"] = check_beat()
    if settings.REDIS_SENTINELS:
        checks["redis_sentinels"] = check_redis_sentinels()
    failed = [name for name, check in checks.items() if not check.ok]
    return {
        "status": "ready" if not failed else "not ready",
        "failed": failed,
        "checks": {name: check.as_dict() for name, check in checks.items()},
        "beat": active_beat(),
    }
