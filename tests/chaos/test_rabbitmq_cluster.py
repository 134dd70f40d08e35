"""A node of a three-node RabbitMQ cluster lost, with quorum queues: nothing lost or done twice.

One cluster for the module (tests/rabbitmq_cluster.py, about 15 s to start);
real workers and beat reach it through kombu's failover URL, the shop (this
process's live server) publishes to it. A node is SIGKILLed (a machine
lost): the queues it led elect a leader on another node, the clients that
were connected to it reconnect to the next node of the URL, and messages
they held unacknowledged are delivered again. Each test prints how long the
pipeline paused (and records it as a property of the test's report).

With ORDERLY_RABBITMQ_QUEUE_TYPE=classic instead (QUEUE_TYPE below), the
queues live on the first node only: killing it leaves the orders stuck, and
both tests fail (docs/failure-and-recovery.md).
"""

import json
import statistics
import threading
import time

import pytest
import requests
from django.conf import settings
from django.core.management import call_command

from jobs.models import DeadLetter, OutboxMessage
from jobs.rabbitmq import task_queues
from orders.models import Order, Payment
from project.celery import app as celery_app
from sandbox import gateway as sandbox_gateway
from sandbox.models import GatewayRequest
from tests.chaos.conftest import use_broker
from tests.chaos.test_crashes import assert_done_exactly_once
from tests.factories import ProductFactory
from tests.helpers import checkout_form, wait_for
from tests.processes import WorkerProcess
from tests.rabbitmq_cluster import RabbitCluster, available

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not available(), reason="needs rabbitmq-server to run a cluster"),
]

QUEUE_TYPE = "quorum"
ORDERS = 12


@pytest.fixture(scope="module")
def rabbitmq_cluster(tmp_path_factory):
    cluster = RabbitCluster(tmp_path_factory.mktemp("rabbitmq-cluster")).start()
    print(f"\nthree-node RabbitMQ cluster started in {cluster.start_seconds:.1f} s")
    yield cluster
    cluster.stop()


def use_queue_type(queue_type: str | None) -> None:
    """This process's Celery app declares and publishes as a worker on this queue type does."""
    if queue_type == "quorum":
        celery_app.conf.task_queues = task_queues(settings.ORDERLY_QUEUES, "quorum")
        celery_app.conf.task_default_exchange = "orderly"
        celery_app.conf.task_default_exchange_type = "topic"
    else:
        celery_app.conf.task_queues = settings.CELERY_TASK_QUEUES
        celery_app.conf.task_default_exchange = None
        celery_app.conf.task_default_exchange_type = "direct"
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    if queue_type:
        options["confirm_publish"] = True
    celery_app.conf.broker_transport_options = options
    celery_app.__dict__.pop("amqp", None)  # rebuilt from the configuration above


class ClusterChaos:
    """The chaos fixture's workers and beat, pointed at the cluster."""

    def __init__(self, chaos, cluster: RabbitCluster):
        self.chaos = chaos
        self.cluster = cluster

    def broker_env(self, **extra) -> dict:
        return {
            "CELERY_BROKER_URL": self.cluster.url,
            "ORDERLY_RABBITMQ_QUEUE_TYPE": QUEUE_TYPE,
            **extra,
        }

    def worker(self, **extra) -> WorkerProcess:
        worker = self.chaos.worker(**self.broker_env(**extra))
        worker.cluster_env = extra
        return worker

    def beat(self):
        return self.chaos.beat(**self.broker_env())

    def supervise(self) -> None:
        """Replace workers that exited (see tests.chaos.conftest's supervise)."""
        for process in list(self.chaos.processes):
            exited = isinstance(process, WorkerProcess) and process.process.poll() is not None
            if exited and not getattr(process, "replaced", False):
                process.replaced = True
                self.worker(**getattr(process, "cluster_env", {}))

    def logs(self) -> str:
        nodes = "\n".join(node.log_tail(15) for node in self.cluster.nodes)
        return self.chaos.logs() + "\n" + nodes


@pytest.fixture
def cluster_chaos(chaos, rabbitmq_cluster):
    # A node killed by the test before comes back while this test starts its
    # workers; a test waits for it (wait_all_running) before it kills one.
    rabbitmq_cluster.restart_killed()
    use_broker(rabbitmq_cluster.url)
    use_queue_type(QUEUE_TYPE)
    yield ClusterChaos(chaos, rabbitmq_cluster)
    use_queue_type(None)


def pipeline_figures(orders, killed_at: float) -> dict[str, float]:
    """How long the pipeline stopped, and how late the order it hit hardest was.

    - resumed: from the kill to the payment of the first order placed after it
      (its own placed-to-paid time included);
    - slowest: the longest placed-to-paid time of any order, against the
      median: an order whose publish failed waits for beat's outbox relay (every 10 s).
    """
    payments = Payment.objects.filter(order__in=orders).select_related("order")
    latency = sorted(p.settled_at.timestamp() - p.order.created_at.timestamp() for p in payments)
    after = [
        p.settled_at.timestamp() for p in payments if p.order.created_at.timestamp() > killed_at
    ]
    return {
        "resumed": min(after) - killed_at,
        "slowest": latency[-1],
        "median": statistics.median(latency),
    }


def report(record_property, name: str, seconds: float) -> None:
    record_property(name, round(seconds, 1))
    print(f"\n{name}: {seconds:.1f} s")


def place_orders(live_server, count, interval, placed, errors, card=None):
    for _ in range(count):
        product = ProductFactory(stock=100)
        session = requests.Session()
        session.get(live_server.url + "/", timeout=10)
        csrf = {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
        session.post(f"{live_server.url}/cart/add/", {"product_id": product.pk, "quantity": 1,
                                                      **csrf})  # fmt: skip
        form = checkout_form(card) if card else checkout_form()
        response = session.post(f"{live_server.url}/checkout/", {**form, **csrf},
                                allow_redirects=False)  # fmt: skip
        if response.status_code == 302:
            placed.append(response.headers["Location"].split("/")[-2])
        else:
            errors.append(f"{response.status_code}: {response.text[:300]}")
        time.sleep(interval)


def assert_every_order_done_once(public_ids):
    for public_id in public_ids:
        assert_done_exactly_once(Order.objects.get(public_id=public_id))
    assert not DeadLetter.objects.exists(), list(DeadLetter.objects.values("task_name", "error"))
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


def test_killing_the_node_that_leads_the_queues_while_orders_flow_loses_none(
    cluster_chaos, live_server, record_property
):
    call_command("setup_periodic_tasks")  # the outbox relay, run by beat
    cluster_chaos.worker()
    cluster_chaos.beat()
    cluster_chaos.cluster.wait_all_running()
    leader = cluster_chaos.cluster.leader_of("payments")  # moves only when a node goes
    placed: list[str] = []
    errors: list[str] = []
    flow = threading.Thread(target=place_orders, args=(live_server, ORDERS, 0.2, placed, errors))
    flow.start()
    wait_for(
        lambda: Payment.objects.filter(settled_at__isnull=False).count() >= 4,
        timeout=60,
        what="the first orders to be paid",
        diagnostics=cluster_chaos.logs,
    )

    killed_at = time.time()
    leader.kill()
    flow.join(120)

    assert errors == []
    assert len(placed) == ORDERS
    for public_id in placed:
        wait_for_pipeline_end(public_id, cluster_chaos)
    assert_every_order_done_once(placed)
    figures = pipeline_figures(Order.objects.filter(public_id__in=placed), killed_at)
    killed = f"after killing {leader.name} (leads payments)"
    report(record_property, f"first order placed {killed} paid in", figures["resumed"])
    report(record_property, f"slowest order placed to paid, {killed}", figures["slowest"])
    report(record_property, "median order placed to paid", figures["median"])


def wait_for_pipeline_end(public_id, cluster_chaos):
    from notifications.models import EmailLog
    from reports.models import Invoice

    order = Order.objects.get(public_id=public_id)

    def done():
        cluster_chaos.supervise()
        return (
            Invoice.objects.filter(order=order).exists()
            and EmailLog.objects.filter(order=order).exists()
        )

    def diagnostics() -> str:
        story = order_story(order, cluster_chaos.chaos.processes)
        return "\n".join([story, cluster_chaos.chaos.stacks(), cluster_chaos.logs()])

    wait_for(done, timeout=90, what=f"{order.number} to finish", diagnostics=diagnostics)


def order_story(order, processes) -> str:
    """What the database and every process's log know of one order (for a failure message)."""
    from jobs.models import TaskAttempt

    payment = Payment.objects.get(order=order)
    lines = [f"--- {order.number}: order {order.status}, payment {payment.status}, "
             f"{payment.attempts} attempt(s) ---"]  # fmt: skip
    lines += [f"event {e.at:%H:%M:%S.%f} {e.kind} {e.outcome}: {e.detail}"
              for e in order.payment_events.order_by("at")]  # fmt: skip
    for row in OutboxMessage.objects.filter(reference=f"order:{order.public_id}").order_by("pk"):
        task = row.signature.get("task") or [t["task"] for t in row.signature["kwargs"]["tasks"]]
        lines.append(f"outbox #{row.pk} {task} created {row.created_at:%H:%M:%S.%f} "
                     f"sent {row.sent_at and f'{row.sent_at:%H:%M:%S.%f}'} "
                     f"attempts {row.publish_attempts} {row.last_error[:200]}")  # fmt: skip
    ids = {str(order.public_id), order.number}
    for a in TaskAttempt.objects.filter(business_key=f"orders.order:{order.pk}"):
        ids.add(a.task_id)
        lines.append(f"run {a.started_at:%H:%M:%S.%f} {a.task_name} {a.task_id} "
                     f"retries {a.retries} {a.outcome} {a.detail[:200]}")  # fmt: skip
    lines += [f"dead letter {d.task_name} {d.task_id}: {d.exception_class} {d.exception_message}"
              for d in DeadLetter.objects.all()]  # fmt: skip
    for process in processes:
        text = process.log_path.read_text(errors="replace") if process.log_path.exists() else ""
        lines += [f"{process.log_path.name}: {line}" for line in text.splitlines()
                  if any(i in line for i in ids)]  # fmt: skip
    return "\n".join(lines)


def test_killing_a_node_while_a_countdown_retry_waits_delivers_it_once(
    cluster_chaos, live_server, record_property, monkeypatch
):
    # The gateway answers 503 twice with Retry-After 5; each retry waits 5 s
    # in RabbitMQ's delay queues (native delayed delivery).
    monkeypatch.setattr(sandbox_gateway, "UNAVAILABLE_RETRY_AFTER", "5")
    cluster_chaos.worker(ORDERLY_RETRY_BACKOFF_MAX_SECONDS="60")  # a 6 s cap at 1/10
    cluster_chaos.cluster.wait_all_running()  # the node the test before killed
    # Looked up first (rabbitmqctl takes seconds); leaders move only when a node goes.
    victim = cluster_chaos.cluster.leader_of("celery_delayed_2")  # 5 s = 4 s + 1 s
    placed: list[str] = []
    errors: list[str] = []
    place_orders(live_server, 1, 0, placed, errors, card=sandbox_gateway.UNAVAILABLE_TWICE)
    assert errors == []
    order = Order.objects.get(public_id=placed[0])
    key = Payment.objects.get(order=order).idempotency_key
    wait_for(lambda: GatewayRequest.objects.filter(idempotency_key=key).exists(),
             what="the first (refused) charge", diagnostics=cluster_chaos.logs)  # fmt: skip
    time.sleep(0.5)  # the retry is published into the delay queues

    waited = time.time() - GatewayRequest.objects.get(idempotency_key=key).received_at.timestamp()
    assert waited < 5, "the retry was due before the node was killed: it proves nothing"
    victim.kill()

    wait_for_pipeline_end(placed[0], cluster_chaos)
    assert_every_order_done_once(placed)
    requests_at = [
        request.received_at.timestamp()
        for request in GatewayRequest.objects.filter(idempotency_key=key).order_by("received_at")
    ]
    assert len(requests_at) == 3
    # The retry that was waiting when the node died came this late (beyond its 5 s).
    report(record_property, f"countdown retry late after killing {victim.name}",
           requests_at[1] - requests_at[0] - 5)  # fmt: skip


def test_a_countdown_under_a_second_goes_through_the_delay_queues(cluster_chaos):
    """Celery 5.7 raises ValueError for one (whole seconds only); the base task rounds it up."""
    from kombu.transport.native_delayed_delivery import (
        bind_queue_to_native_delayed_delivery_exchange,
        declare_native_delayed_delivery_exchanges_and_queues,
    )

    from tests.worker_tasks import fails_until_fixed

    with celery_app.connection_for_write() as connection:  # what a worker declares at start
        declare_native_delayed_delivery_exchanges_and_queues(connection, "quorum")
        for queue in celery_app.amqp.queues.values():
            queue.bind(connection.default_channel).declare()
            bind_queue_to_native_delayed_delivery_exchange(connection, queue)

    fails_until_fixed.apply_async(("never-run",), countdown=0.3)

    def waiting_in_default() -> int:
        with celery_app.connection_for_write() as connection:
            return connection.default_channel.queue_declare("default", passive=True)[1]

    try:
        wait_for(lambda: waiting_in_default() == 1, timeout=30,
                 what="the message to come out of the 1 s delay queue")  # fmt: skip
    finally:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge("default")


def test_a_publish_the_broker_does_not_confirm_gives_up_and_the_relay_sends_it_later(cluster_chaos):
    """RabbitMQ blocks publishers (a memory alarm, here forced): no confirm comes.

    So it is with a disk alarm, or a quorum queue without a majority. py-amqp
    waits for a confirm for ever. The outbox gives up after
    ORDERLY_PUBLISH_CONFIRM_TIMEOUT_SECONDS (the shipped default), leaves the
    row unsent and drops the connection; the relay sends the row once the
    broker takes publishes again. Before, the commit never returned: the
    confirm wait had no end, and once it had one, the producer pool's
    graceful close of the failed connection waited for ever on its close-ok
    (in the relay, holding its rows' locks all the while, so no later relay
    could send them).
    """
    from django.db import connection as database
    from django.db import transaction

    from jobs.services.outbox import publish_on_commit, relay_outbox
    from tests.worker_tasks import fails_until_fixed

    cluster = cluster_chaos.cluster
    cluster.wait_all_running()
    with celery_app.connection_for_write() as connection:  # the queue exists, and is empty
        celery_app.amqp.queues["default"].bind(connection.default_channel).declare()
        connection.default_channel.queue_purge("default")
    alarmed = cluster.any_running()
    # "Setting the threshold to 0 ... blocks all publishing connections" (RabbitMQ's docs).
    alarmed.ctl("set_vm_memory_high_watermark", "0")

    def alarms() -> list:
        return json.loads(alarmed.ctl("status", "--formatter", "json").stdout)["alarms"]

    wait_for(alarms, what=f"the memory alarm on {alarmed.name}")
    placed: dict = {}

    def place():  # as a view's transaction does; its on_commit publishes
        try:
            with transaction.atomic():
                placed["row"] = publish_on_commit(fails_until_fixed.si("never-run"),
                                                  reference="test:unconfirmed")  # fmt: skip
        finally:
            database.close()

    try:
        thread = threading.Thread(target=place, daemon=True)
        thread.start()
        thread.join(settings.ORDERLY_PUBLISH_CONFIRM_TIMEOUT_SECONDS + 30)
        assert not thread.is_alive(), "the commit still waits for the broker's confirm"
        row = OutboxMessage.objects.get(pk=placed["row"].pk)
        assert row.sent_at is None
        assert row.publish_attempts == 1
        assert "timed out" in row.last_error, row.last_error
    finally:
        alarmed.ctl("set_vm_memory_high_watermark", "0.4")  # RabbitMQ's default

    wait_for(lambda: relay_outbox(grace_seconds=0) == 1, timeout=60,
             what="the relay to send the row once the broker takes publishes",
             diagnostics=cluster_chaos.logs)  # fmt: skip
    row.refresh_from_db()
    assert row.sent_at is not None
    with celery_app.connection_for_write() as connection:
        waiting = connection.default_channel.queue_declare("default", passive=True)[1]
        connection.default_channel.queue_purge("default")
    # Once, or twice: the unconfirmed publish may still have been kept (a duplicate
    # is harmless, every task is idempotent; a loss would not be).
    assert waiting in (1, 2)
