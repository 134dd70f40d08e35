"""A requeue redoes the work, or says why it did not: each task kind, at its real receiver.

Each test fails a task for good, fixes the cause, requeues the dead letter
from admin as an operator does, and looks for the work where it lands: the
HTTP request at the webhook receiver, the message at an SMTP server, the
stored invoice PDF, the charge at the gateway. A requeued task that finds nothing to do reopens its
letter with the reason; one that fails again reopens it with the failure.
"""

import os
import uuid

import pytest
import redis
from aiosmtpd.controller import Controller
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse

from inventory import services as inventory_services
from inventory.tasks import sync_warehouse_stock
from jobs import locks
from jobs.models import DeadLetter, DeadLetterEvent
from notifications.models import EmailLog, WebhookDelivery
from notifications.services import webhooks
from notifications.services.webhooks import emit_order_event
from notifications.tasks import send_order_confirmation
from orders.models import Order, Payment
from orders.tasks import charge_payment
from reports.models import Invoice, InvoiceFailure
from reports.tasks import generate_invoice_pdf
from sandbox import warehouse as sandbox_warehouse
from sandbox.models import GatewayCharge
from tests.factories import ProductFactory, create_order
from tests.helpers import sandbox_payment_method, wait_for
from tests.notifications.conftest import receiver  # noqa: F401 (a local HTTP receiver)
from tests.ops.conftest import CollectingHandler
from tests.processes import WorkerProcess, free_port

pytestmark = pytest.mark.worker

Action = DeadLetterEvent.Action


def requeue_from_admin(admin_client, letter) -> str:
    """Press Requeue on the dead letter in admin's list, as an operator does; the page's text."""
    response = admin_client.post(
        reverse("admin:jobs_deadletter_changelist"),
        {"action": "requeue", "_selected_action": [letter.pk]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def settles(letter, worker, status=DeadLetter.Status.RESOLVED, timeout=60) -> DeadLetter:
    """Wait until the requeued letter leaves "requeued" with `status`; the letter."""
    return wait_for(
        lambda: DeadLetter.objects.filter(pk=letter.pk, status=status).first(),
        timeout=timeout,
        what=f"dead letter #{letter.pk} to be {status}",
        diagnostics=worker.log_tail,
    )


def actions(letter) -> list[str]:
    return list(DeadLetter.objects.get(pk=letter.pk).events.values_list("action", flat=True))


def dead_letter_of(task_name: str, worker, **lookup) -> DeadLetter:
    return wait_for(
        lambda: DeadLetter.objects.filter(task_name=task_name, **lookup).first(),
        timeout=60,
        what=f"a dead letter of {task_name}",
        diagnostics=worker.log_tail,
    )


# --- webhooks: the operator journey of the issue -----------------------------------


def failed_delivery(server, worker) -> tuple[WebhookDelivery, DeadLetter]:
    server.default = (400, {})  # the receiver refuses: not retried, failed for good
    webhooks.create_endpoint(url=server.url, event_types=["order.paid"])
    with transaction.atomic():
        [delivery] = emit_order_event(
            order=create_order({ProductFactory(): 1}), event_type="order.paid"
        )
    letter = dead_letter_of("notifications.deliver_webhook", worker)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert len(server.received) == 1
    return delivery, letter


def test_a_fixed_receiver_gets_the_webhook_once_when_its_dead_letter_is_requeued(
    worker,
    receiver,  # noqa: F811 (the imported fixture)
    admin_client,
):
    delivery, letter = failed_delivery(receiver, worker)

    receiver.default = (204, {})  # the partner fixes its receiver
    page = requeue_from_admin(admin_client, letter)
    assert "1 dead letter(s) requeued." in page

    settles(letter, worker)
    assert len(receiver.received) == 2, "the requeue sent nothing to the receiver"
    assert receiver.received[1].body == receiver.received[0].body  # the same event
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 2
    assert actions(letter) == [Action.REQUEUED, Action.SUCCEEDED]

    # The same letter again: refused (it is resolved), nothing is sent.
    assert "only open dead letters can be requeued" in requeue_from_admin(admin_client, letter)
    assert len(receiver.received) == 2


def test_a_delivery_that_fails_again_reopens_its_own_letter_with_the_new_failure(
    worker,
    receiver,  # noqa: F811 (the imported fixture)
    admin_client,
):
    delivery, letter = failed_delivery(receiver, worker)

    requeue_from_admin(admin_client, letter)  # the receiver still answers 400
    settles(letter, worker, status=DeadLetter.Status.OPEN)
    assert len(receiver.received) == 2
    assert actions(letter) == [Action.REQUEUED, Action.FAILED_AGAIN]
    assert DeadLetter.objects.filter(task_name="notifications.deliver_webhook").count() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.attempts == 2


# --- invoices: a renderer bug, fixed -------------------------------------------------


def test_a_fixed_renderer_stores_the_invoice_when_its_dead_letter_is_requeued(worker, admin_client):
    order = create_order({ProductFactory(): 2}, email=f"render-{uuid.uuid4().hex[:8]}@example.com")
    switches = redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])
    switches.set(f"invoice-render-fails:{order.email}", "1")  # the renderer's bug
    result = generate_invoice_pdf.delay(order.pk)
    letter = dead_letter_of("reports.generate_invoice_pdf", worker, task_id=result.id)
    assert InvoiceFailure.objects.filter(order=order).exists()

    switches.delete(f"invoice-render-fails:{order.email}")  # the fix is deployed
    requeue_from_admin(admin_client, letter)

    settles(letter, worker)
    invoice = Invoice.objects.get(order=order)
    assert default_storage.exists(invoice.file.name)
    with default_storage.open(invoice.file.name) as stored:
        assert stored.read(5) == b"%PDF-"
    assert not InvoiceFailure.objects.filter(order=order).exists()
    assert actions(letter) == [Action.REQUEUED, Action.SUCCEEDED]


# --- e-mail: the mail server was down, and is back -----------------------------------


@pytest.fixture
def smtp_worker(worker_env, transactional_db, live_server, tmp_path):
    """A worker sending e-mail over SMTP to a port where no server listens yet."""
    port = free_port()
    queue = f"emails-over-smtp-{uuid.uuid4().hex[:6]}"
    process = WorkerProcess(
        env={**worker_env, "EMAIL_URL": f"smtp://127.0.0.1:{port}"},
        log_path=tmp_path / "worker.log",
        mail_dir=tmp_path,
        queues=[queue],
    ).start()
    yield process, port, queue
    process.stop()


def test_a_confirmation_the_mail_server_refused_is_sent_once_it_is_back_and_requeued(
    smtp_worker, admin_client
):
    worker, port, queue = smtp_worker
    order = create_order({ProductFactory(): 1})
    result = send_order_confirmation.apply_async((order.pk,), queue=queue)
    letter = dead_letter_of("notifications.send_order_confirmation", worker, task_id=result.id)
    assert letter.exception_class == "jobs.errors.TemporaryError"  # retries ran out

    handler = CollectingHandler()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()  # the mail server is back
    try:
        requeue_from_admin(admin_client, letter)
        settles(letter, worker)
    finally:
        server.stop()
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == [order.email]
    assert order.number in envelope.content.decode()
    assert EmailLog.objects.filter(order=order, kind="order_confirmation").count() == 1
    assert actions(letter) == [Action.REQUEUED, Action.SUCCEEDED]


# --- a task that finds nothing to do says so ------------------------------------------


def test_a_requeued_sync_that_finds_another_sync_running_reopens_its_letter_with_why(
    worker, admin_client
):
    sandbox_warehouse.ensure_catalog_items()
    sandbox_warehouse.start_outage()
    result = sync_warehouse_stock.delay()
    letter = wait_for(
        lambda: DeadLetter.objects.filter(task_id=result.id).first(),
        timeout=90,
        what="the sync to exhaust its retries",
        diagnostics=worker.log_tail,
    )
    sandbox_warehouse.end_outage()

    # Another sync is running when the requeued one arrives: it does no work.
    with locks.exclusive(inventory_services.WAREHOUSE_SYNC_LOCK, timeout=60):
        requeue_from_admin(admin_client, letter)
        reopened = settles(letter, worker, status=DeadLetter.Status.OPEN)
    assert actions(letter) == [Action.REQUEUED, Action.NOTHING_DONE]
    assert "another sync was in progress" in reopened.events.last().detail


# --- payments: the gateway was unreachable, and is back ------------------------------


@pytest.fixture
def start_payments_worker(worker_env, transactional_db, live_server, tmp_path):
    """start(gateway_url): a worker of this test's own charging through `gateway_url`."""
    queue = f"payments-{uuid.uuid4().hex[:6]}"
    started = []

    def start(gateway_url: str) -> WorkerProcess:
        process = WorkerProcess(
            env={**worker_env, "PAYMENT_GATEWAY_URL": gateway_url},
            log_path=tmp_path / f"worker-{len(started)}.log",
            mail_dir=tmp_path,
            queues=[queue],
        )
        started.append(process)
        return process.start()

    yield start, queue
    for process in started:
        process.stop()


def test_a_charge_given_up_while_the_gateway_was_down_is_charged_once_when_requeued(
    start_payments_worker, live_server, admin_client
):
    start, queue = start_payments_worker
    order = create_order({ProductFactory(): 1}, status="pending_payment")
    Payment.objects.filter(order=order).update(payment_method=sandbox_payment_method().token)
    down = start(f"http://127.0.0.1:{free_port()}/sandbox/gateway")  # nothing listens there
    result = charge_payment.apply_async((order.pk,), queue=queue)
    letter = dead_letter_of("orders.charge_payment", down, task_id=result.id)
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMING_PAYMENT  # retries ran out, nothing known
    assert not GatewayCharge.objects.exists()
    down.stop()

    back = start(f"{live_server.url}/sandbox/gateway")  # the gateway is reachable again
    requeue_from_admin(admin_client, letter)

    settles(letter, back)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert GatewayCharge.objects.count() == 1  # charged once, by the payment's own key
    assert actions(letter) == [Action.REQUEUED, Action.SUCCEEDED]
    # Settled now: another requeue has nothing to charge.
    DeadLetter.objects.filter(pk=letter.pk).update(status=DeadLetter.Status.OPEN)
    assert "already settled" in requeue_from_admin(admin_client, letter)
