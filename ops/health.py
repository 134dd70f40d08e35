"""Liveness and readiness checks for load balancers and orchestrators.

Liveness says only that the process serves requests. Readiness says the
site can do its work: the database answers, the broker accepts connections
and every queue in settings.ORDERLY_QUEUES is consumed by at least one
worker that answers within the timeout. Workers are matched by the queues
they consume, never by hostname, so any naming or placement of workers works.
Beat is stale when no periodic task was sent for longer than the shortest
schedule allows (ops.schedules): without beat the outbox relay stops too.
"""

from dataclasses import dataclass, field

from celery import current_app as celery_app
from django.conf import settings
from django.db import connection

from jobs.beat import active_beat as lease_holder
from jobs.models import PausedQueue


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


def _broker_connection(broker_url: str | None):
    return celery_app.connection_for_write(
        url=broker_url, connect_timeout=settings.ORDERLY_READINESS_TIMEOUT
    )


def check_broker(broker_url: str | None = None) -> Check:
    """The broker accepts a connection within the timeout (one try, no retry loop)."""
    try:
        with _broker_connection(broker_url) as conn:
            conn.ensure_connection(
                max_retries=1,
                interval_start=0,
                interval_step=0,
                timeout=settings.ORDERLY_READINESS_TIMEOUT,
            )
    except Exception as error:  # refused, timed out, bad credentials ...
        return Check(ok=False, detail=f"{type(error).__name__}: {error}")
    return Check(ok=True, detail=conn.as_uri())  # as_uri() masks the password


def _paused_queues() -> set[str]:
    try:
        return set(PausedQueue.objects.values_list("queue", flat=True))
    except Exception:  # the database check reports a broken database
        return set()


def check_workers(broker_url: str | None = None) -> Check:
    """Every queue in ORDERLY_QUEUES has at least one worker that answered, or is paused.

    A queue an operator paused (jobs.services.queue_pausing) has no consumer on
    purpose: it is reported as "paused", not as a failure.
    """
    try:
        with _broker_connection(broker_url) as conn:
            replies = (
                celery_app.control.inspect(
                    timeout=settings.ORDERLY_READINESS_TIMEOUT, connection=conn
                ).active_queues()
                or {}
            )
    except Exception as error:
        return Check(ok=False, detail=f"{type(error).__name__}: {error}")
    consumers: dict[str, list[str]] = {queue: [] for queue in settings.ORDERLY_QUEUES}
    for worker, queues in replies.items():
        for queue in queues or []:
            if queue.get("name") in consumers:
                consumers[queue["name"]].append(worker)
    paused = _paused_queues()
    missing = sorted(
        queue for queue, workers in consumers.items() if not workers and queue not in paused
    )
    detail = f"no worker answered for queues: {', '.join(missing)}" if missing else ""
    return Check(
        ok=not missing,
        detail=detail,
        extra={
            "queues": {
                queue: "paused" if queue in paused and not workers else sorted(workers)
                for queue, workers in consumers.items()
            },
            "paused": sorted(paused),
        },
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


def readiness(*, broker_url: str | None = None) -> dict:
    """Run every readiness check; the workers are only asked once the broker answers."""
    checks = {"database": check_database(), "broker": check_broker(broker_url)}
    if checks["broker"].ok:
        checks["workers"] = check_workers(broker_url)
    else:
        checks["workers"] = Check(ok=False, detail="not checked: the broker is unreachable")
    checks["beat"] = check_beat()
    failed = [name for name, check in checks.items() if not check.ok]
    return {
        "status": "ready" if not failed else "not ready",
        "failed": failed,
        "checks": {name: check.as_dict() for name, check in checks.items()},
        "beat": active_beat(),
    }
