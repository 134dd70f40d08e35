"""Redis Sentinel: the master is SIGKILLed under a load of orders, and nothing is lost for good.

Real processes throughout: a master, a replica and three Sentinels (tests/sentinel.py),
a payments worker and a worker for the other queues, two beats (one active, one
standing by), the sandbox gateway over HTTP; every one of them reaches Redis only
through the Sentinels. Replication is asynchronous, so the test makes the loss
certain instead of hoping for it: the replica is cut off (its replication user
disabled) while orders are placed, so the master acknowledges charge messages,
a job lock and lease renewals the replica never receives; then the master is
killed and the Sentinels promote the replica without them. The test proves from
the promoted node that messages acknowledged to the publisher are gone.

With the overdue sweep (beat's "Republish overdue pipeline steps"), every order
still ends paid once, with one e-mail and one invoice. Without it, the orders
whose messages were lost stay stranded past the point where the sweep had
recovered them: the sweep is what covers asynchronous replication.

Figures (failover, pipeline moving again, beat takeover, recovery of the lost
orders) are printed and written to the test's record (`record_property`).
"""

import contextlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from jobs import locks
from jobs.beat import LEASE
from jobs.services.overdue import overdue_after, republish_overdue_steps
from notifications.models import EmailLog
from orders.models import Order, Payment
from project.celery import app as celery_app
from reports.models import Invoice
from tests.chaos.conftest import use_broker
from tests.chaos.test_crashes import assert_done_exactly_once, place_order
from tests.helpers import wait_for
from tests.processes import WorkerProcess
from tests.sentinel import (
    CHAOS_OUTBOX_GRACE_SECONDS,
    MASTER_NAME,
    overdue_bound,
    redis_sentinels,  # noqa: F401 (the fixture)
)

pytestmark = pytest.mark.worker

SWEEP = "Republish overdue pipeline steps"
# How often beat runs the sweep here (30 s shipped). Not a racing timer: the sweep
# checks the bound itself; this is only how soon after it a lost step is noticed.
SWEEP_EVERY_SECONDS = 2
SLOW_CARD = "4000000000000259"  # the sandbox gateway takes 1 s (SANDBOX_SLOW_CARD_SECONDS)
ACTIVE = re.compile(r"beat (\S+) is the active beat")


@pytest.fixture
def sentinel_chaos(chaos, redis_sentinels, settings):  # noqa: F811 (the fixture above)
    """The chaos fixture's workers and beat, and this process, reaching Redis through Sentinel."""
    cluster = redis_sentinels
    sentinel_env = cluster.env()
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "master_name": MASTER_NAME,
        "sentinel_kwargs": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
    # This process publishes (checkout, the outbox) and takes locks as a web process would.
    settings.REDIS_SENTINELS = cluster.nodes
    settings.REDIS_SENTINEL_MASTER = MASTER_NAME
    settings.ORDERLY_LOCK_REDIS_URL = sentinel_env["ORDERLY_LOCK_REDIS_URL"]
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options  # tests.processes.control_app reads it
    previous_options = celery_app.conf.broker_transport_options
    celery_app.conf.broker_transport_options = options
    previous_url = celery_app.conf.broker_url
    use_broker(cluster.broker_url())
    plain_env = chaos.env
    chaos.env = lambda **extra: plain_env(**{**sentinel_env, **extra})
    chaos.sentinels = cluster
    yield chaos
    celery_app.conf.broker_transport_options = previous_options
    use_broker(previous_url)


def start_worker(chaos, tmp_path, queues, concurrency) -> WorkerProcess:
    """A worker for some queues only (chaos.worker consumes all), stopped with the others."""
    (tmp_path / "mail").mkdir(exist_ok=True)
    worker = WorkerProcess(
        env={**chaos.env(), "EMAIL_FILE_PATH": str(tmp_path / "mail")},
        log_path=tmp_path / f"worker-{queues[0]}.log",
        mail_dir=tmp_path / "mail",
        queues=queues,
        concurrency=concurrency,
    )
    chaos.processes.append(worker)
    return worker.start()


def waiting_charges(node) -> dict[str, int]:
    """Task id -> order pk of every charge message waiting in `node`'s payments queue."""
    waiting = {}
    for raw in node.client().lrange("payments", 0, -1):
        headers = json.loads(raw)["headers"]
        waiting[headers["id"]] = int(headers["argsrepr"].strip("(),"))
    return waiting


def messages_on(node) -> set[str]:
    """Task ids of every message `node` holds: waiting in a queue or unacknowledged."""
    client = node.client()
    ids = set()
    for key in client.keys("*"):
        kind = client.type(key)
        if kind == b"list":
            raws = client.lrange(key, 0, -1)
        elif kind == b"hash" and key == b"unacked":
            raws = [json.dumps(json.loads(value)[0]) for value in client.hvals(key)]
        else:
            continue
        for raw in raws:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                ids.add(json.loads(raw)["headers"]["id"])
    return ids


def activations(beats) -> list[tuple[float, str]]:
    """(log position, beat id) of every "is the active beat" line, in both beats' logs."""
    found = []
    for beat in beats:
        text = beat.log_path.read_text(errors="replace")
        found += [(match.start(), match[1]) for match in ACTIVE.finditer(text)]
    return found


def done(order: Order) -> bool:
    return (
        Invoice.objects.filter(order=order).exists()
        and EmailLog.objects.filter(order=order, kind=EmailLog.Kind.ORDER_CONFIRMATION).exists()
    )


def first_step_after(moment: datetime) -> datetime | None:
    """When the first charge, e-mail or invoice after `moment` was recorded (None: none yet)."""
    times = [
        Payment.objects.filter(last_attempt_at__gt=moment).order_by("last_attempt_at")
        .values_list("last_attempt_at", flat=True).first(),
        EmailLog.objects.filter(sent_at__gt=moment).order_by("sent_at")
        .values_list("sent_at", flat=True).first(),
        Invoice.objects.filter(created_at__gt=moment).order_by("created_at")
        .values_list("created_at", flat=True).first(),
    ]  # fmt: skip
    times = [moment for moment in times if moment]
    return min(times) if times else None


@pytest.mark.parametrize("sweep", [True, False], ids=["with-the-sweep", "without-the-sweep"])
def test_master_killed_under_load_every_order_finishes_once_and_the_sweep_recovers_what_was_lost(
    sentinel_chaos, client, sweep, record_property, tmp_path
):
    chaos, cluster = sentinel_chaos, sentinel_chaos.sentinels
    call_command("setup_periodic_tasks")
    every, _ = IntervalSchedule.objects.get_or_create(
        every=SWEEP_EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.filter(name=SWEEP).update(interval=every, enabled=sweep)
    bound = overdue_bound(chaos.timer_scale, CHAOS_OUTBOX_GRACE_SECONDS)
    layout = [(["payments"], 1), (["default", "emails", "reports", "webhooks"], 2)]
    with ThreadPoolExecutor(2) as pool:  # the two workers start side by side
        list(pool.map(lambda args: start_worker(chaos, tmp_path, *args), layout))
    beats = [chaos.beat(), chaos.beat()]
    wait_for(lambda: activations(beats), what="a beat to take the lease", diagnostics=chaos.logs)
    started = f"Redis through Sentinel, master '{MASTER_NAME}' at {cluster.master.address}"
    wait_for(  # start-up logs say where the Sentinels put the master, and which were tried
        lambda: all(started in process.log_path.read_text() for process in chaos.processes),
        what="every worker and beat to log the Sentinels it tried", diagnostics=chaos.logs,
    )  # fmt: skip

    # A load of orders, and a job lock, before anything goes wrong.
    orders = [place_order(client) for _ in range(3)]
    assert locks.acquire("chaos:before-failover", owner="run-1", timeout=120)
    cluster.master.client().execute_command("WAIT", 1, 5000)  # on the replica too

    # The replica is cut off: from here the master acknowledges what it will never receive.
    cluster.hold_replication()
    assert locks.acquire("chaos:during-hold", owner="run-2", timeout=120)
    doomed = [place_order(client, card=SLOW_CARD) for _ in range(8)]
    orders += doomed
    waiting = waiting_charges(cluster.master)
    before_kill = len(activations(beats))
    cluster.master.kill()
    killed, killed_at = time.monotonic(), timezone.now()

    # While the Sentinels fail over, shoppers keep checking out.
    probe = place_order(client)
    orders.append(probe)
    failover_seconds = cluster.wait_for_failover()
    assert cluster.master_address() == cluster.replica.address

    # Proof of loss: charge messages the master had acknowledged (their outbox rows are
    # marked sent) are not on the promoted replica, nor is the lock taken meanwhile.
    lost = {task_id: pk for task_id, pk in waiting.items() if task_id not in messages_on(
        cluster.replica)}  # fmt: skip
    assert lost, f"no message was lost: {len(waiting)} waited at the kill, all on the replica"
    lost_orders = [order for order in doomed if order.pk in lost.values()]
    assert locks.holder("chaos:during-hold") is None  # acknowledged, never replicated
    # What was replicated moved with the failover: the lock is still held, by its owner.
    assert locks.holder("chaos:before-failover") == "run-1"
    assert not locks.acquire("chaos:before-failover", owner="run-3", timeout=120)
    assert locks.release("chaos:before-failover", owner="run-1")

    # Measured from the kill, side by side: the first charge, e-mail or invoice through the
    # new master, and a beat holding the lease there (it logs taking it again).
    promoted_at = killed_at + timedelta(seconds=failover_seconds)
    seen: dict[str, float] = {}

    def moved_and_beat_back():
        chaos.supervise()  # a worker may exit when its broker connection drops mid-ack
        if "pipeline" not in seen and (step := first_step_after(promoted_at)):
            seen["pipeline"] = (step - killed_at).total_seconds()
        if "beat" not in seen and len(activations(beats)) > before_kill:
            seen["beat"] = time.monotonic() - killed
        return len(seen) == 2

    wait_for(moved_and_beat_back, timeout=60, what="the pipeline and beat to move again",
             diagnostics=chaos.logs)  # fmt: skip
    pipeline_seconds, beat_seconds = seen["pipeline"], seen["beat"]
    # The lease now lives on the new master, held by a beat that said it took it.
    assert locks.holder(LEASE) in {beat_id for _, beat_id in activations(beats)}
    after = place_order(client)  # placed once the new master serves
    orders.append(after)

    if sweep:

        def all_done():
            chaos.supervise()
            return all(done(order) for order in orders)

        wait_for(all_done, timeout=bound + 45, what="every order to finish",
                 diagnostics=chaos.logs)  # fmt: skip
        recovered_seconds = time.monotonic() - killed
    else:
        # Past the moment the sweep would have published them again, and past the
        # visibility timeout: nothing else brings the lost orders back.
        deadline = max(order.created_at for order in lost_orders).timestamp() + bound + 4 * (
            SWEEP_EVERY_SECONDS)  # fmt: skip

        def deadline_passed():
            chaos.supervise()
            return time.time() >= deadline

        wait_for(deadline_passed, timeout=bound + 45, what="the sweep's bound to pass")
        stranded = [
            order for order in lost_orders
            if not Payment.objects.filter(order=order, last_attempt_at__isnull=False).exists()
        ]  # fmt: skip
        assert stranded, "without the sweep, no order was left stranded"
        assert all(Order.objects.get(pk=o.pk).status == Order.Status.PENDING_PAYMENT
                   for o in stranded)  # fmt: skip
        # The sweep is all that was missing: run once by hand (with the workers' bound,
        # not this process's unscaled one), it brings them back.
        now = timezone.now() + overdue_after() - timedelta(seconds=bound)
        assert republish_overdue_steps(now=now).get("published again", 0) >= len(stranded)
        wait_for(lambda: chaos.supervise() or all(done(order) for order in orders), timeout=60,
                 what="the stranded orders to finish", diagnostics=chaos.logs)  # fmt: skip
        recovered_seconds = None

    for order in orders:
        assert_done_exactly_once(order)

    figures = {
        "failover_s": round(failover_seconds, 1),
        "pipeline_moves_again_s": round(pipeline_seconds, 1),
        "beat_lease_on_new_master_s": round(beat_seconds, 1),
        "orders": len(orders),
        "charges_lost": len(lost),
        "lost_orders_recovered_s": recovered_seconds and round(recovered_seconds, 1),
        "overdue_bound_s": bound,
        "sweep": sweep,
    }
    record_property("sentinel_failover", figures)
    print(f"\nSentinel failover figures: {figures}")
