"""One order's history across every app, in time order: the operator's first question.

Built only from what the apps record already, plus jobs.TaskAttempt (one
row per run of a task on a business object): outbox rows, task runs,
the payment, e-mails, the invoice, webhook deliveries and their attempts,
and dead letters with what operators did to them.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django_celery_results.models import TaskResult

from jobs.models import DeadLetter, OutboxMessage, TaskAttempt
from notifications.models import EmailLog, WebhookAttempt, WebhookDelivery
from orders.models import Order, Payment
from reports.models import Invoice

# How an entry reads: done, waiting for something, retried, failed for good.
OK, WAITING, RETRY, FAILED = "ok", "waiting", "retry", "failed"


@dataclass
class Entry:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    state: str = OK
    admin_url: str = ""
    task_id: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def flower_url(self) -> str:
        return f"{settings.FLOWER_URL}/task/{self.task_id}" if self.task_id else ""


def order_timeline(order: Order) -> list[Entry]:
    """Everything that happened to `order`, oldest first."""
    deliveries = list(
        WebhookDelivery.objects.filter(order=order).select_related("endpoint").order_by("pk")
    )
    references = [f"order:{order.public_id}"] + [f"webhookdelivery:{d.pk}" for d in deliveries]
    business_keys = [f"orders.order:{order.pk}"] + [
        f"notifications.webhookdelivery:{d.pk}" for d in deliveries
    ]
    entries = [
        Entry(
            at=order.created_at,
            kind="order",
            title=f"Order {order.number} placed",
            detail=f"{order.total} {order.currency}, {order.email}",
            admin_url=_admin_url(order),
        ),
        *_outbox(references),
        *_task_attempts(business_keys),
        *_payment(order),
        *_emails(order),
        *_invoice(order),
        *_webhooks(deliveries),
        *_dead_letters(references),
    ]
    if order.status == Order.Status.CANCELLED:
        entries.append(
            Entry(at=order.updated_at, kind="order", title="Order cancelled",
                  detail=order.cancel_reason, state=FAILED, admin_url=_admin_url(order))
        )  # fmt: skip
    return sorted(entries, key=lambda entry: entry.at)


def _admin_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def task_names(signature: dict) -> list[str]:
    """The task names inside a serialized signature, groups and chains included."""
    inner = (signature.get("kwargs") or {}).get("tasks")
    if signature.get("task", "").startswith("celery.") and isinstance(inner, list):
        return [name for task in inner for name in task_names(task)]
    return [signature.get("task", "?")]


def _outbox(references) -> list[Entry]:
    entries = []
    for message in OutboxMessage.objects.filter(reference__in=references).order_by("pk"):
        names = ", ".join(task_names(message.signature))
        if message.sent_at:
            waited = (message.sent_at - message.created_at).total_seconds() * 1000
            detail, state = f"published {waited:.0f} ms after it was written", OK
        elif message.publish_attempts:
            detail = (
                f"not published after {message.publish_attempts} attempt(s): {message.last_error}"
            )
            state = FAILED
        else:
            detail, state = (
                "not published yet (the relay publishes it after the grace period)",
                WAITING,
            )
        entries.append(
            Entry(at=message.created_at, kind="outbox", title=f"Outbox #{message.pk}: {names}",
                  detail=detail, state=state, admin_url=_admin_url(message),
                  facts=[("published at", f"{message.sent_at:%H:%M:%S.%f}"[:-3])]
                  if message.sent_at else [])
        )  # fmt: skip
    return entries


_ATTEMPT_STATES = {
    TaskAttempt.Outcome.SUCCEEDED: OK,
    TaskAttempt.Outcome.RETRYING: RETRY,
    TaskAttempt.Outcome.FAILED: FAILED,
}


def _task_attempts(business_keys) -> list[Entry]:
    attempts = list(TaskAttempt.objects.filter(business_key__in=business_keys))
    results = dict(
        TaskResult.objects.filter(task_id__in={a.task_id for a in attempts}).values_list(
            "task_id", "pk"
        )
    )
    entries = []
    for attempt in attempts:
        facts = [
            ("attempt", str(attempt.retries + 1)),
            ("queue", attempt.queue or "?"),
            ("worker", attempt.worker or "?"),
            ("took", f"{attempt.duration_ms} ms"),
        ]
        if attempt.task_id in results:
            url = reverse(
                "admin:django_celery_results_taskresult_change", args=[results[attempt.task_id]]
            )
            facts.append(("result", url))
        entries.append(
            Entry(at=attempt.started_at, kind="task",
                  title=f"{attempt.task_name}: {attempt.get_outcome_display().lower()}",
                  detail=attempt.detail, state=_ATTEMPT_STATES[attempt.outcome],
                  admin_url=_admin_url(attempt), task_id=attempt.task_id, facts=facts)
        )  # fmt: skip
    return entries


def _payment(order) -> list[Entry]:
    payment = Payment.objects.filter(order=order).first()
    if payment is None:
        return []
    # Payments are shown inline on the order's own admin page.
    url = _admin_url(order) + "#payment-group"
    entries = [
        Entry(at=payment.created_at, kind="payment",
              title=f"Payment of {payment.amount} {payment.currency} created",
              detail=f"card ending {payment.card_last4}, idempotency key {payment.idempotency_key}",
              admin_url=url)
    ]  # fmt: skip
    if payment.last_attempt_at:
        entries.append(
            Entry(at=payment.last_attempt_at, kind="payment",
                  title=f"Charge sent to the gateway (attempt {payment.attempts})",
                  detail="the same idempotency key on every attempt", admin_url=url)
        )  # fmt: skip
    if payment.settled_at:
        succeeded = payment.status == Payment.Status.SUCCEEDED
        detail = (
            f"gateway charge {payment.gateway_charge_id}" if succeeded else payment.failure_message
        )
        entries.append(
            Entry(at=payment.settled_at, kind="payment",
                  title=f"Payment {payment.get_status_display().lower()}", detail=detail,
                  state=OK if succeeded else FAILED, admin_url=url)
        )  # fmt: skip
    return entries


def _emails(order) -> list[Entry]:
    return [
        Entry(at=mail.sent_at, kind="email", title=f"E-mail sent: {mail.get_kind_display()}",
              detail=f"to {mail.to}: {mail.subject}", admin_url=_admin_url(mail))
        for mail in EmailLog.objects.filter(order=order).order_by("pk")
    ]  # fmt: skip


def _invoice(order) -> list[Entry]:
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        return []
    return [
        Entry(at=invoice.created_at, kind="invoice", title=f"Invoice {invoice.number} stored",
              detail=f"{invoice.file.name} ({invoice.size_bytes} bytes)",
              admin_url=_admin_url(invoice))
    ]  # fmt: skip


_DELIVERY_STATES = {
    WebhookDelivery.Status.PENDING: WAITING,
    WebhookDelivery.Status.RETRYING: RETRY,
    WebhookDelivery.Status.SUCCEEDED: OK,
    WebhookDelivery.Status.FAILED: FAILED,
}


def _webhooks(deliveries) -> list[Entry]:
    entries = []
    for delivery in deliveries:
        url = _admin_url(delivery)
        entries.append(
            Entry(at=delivery.created_at, kind="webhook",
                  title=f"Webhook {delivery.event_type} to {delivery.endpoint.url}",
                  detail=f"{delivery.get_status_display()}; event {delivery.event_id}",
                  state=_DELIVERY_STATES.get(delivery.status, OK), admin_url=url)
        )  # fmt: skip
    attempts = WebhookAttempt.objects.filter(delivery__in=deliveries).select_related(
        "delivery__endpoint"
    )
    for attempt in attempts:
        answered = attempt.status_code is not None
        ok = answered and 200 <= attempt.status_code < 300
        entries.append(
            Entry(at=attempt.attempted_at, kind="webhook",
                  title=f"Webhook attempt to {attempt.delivery.endpoint.url}: "
                  + (f"HTTP {attempt.status_code}" if answered else "no answer"),
                  detail=attempt.error or attempt.response_body[:200],
                  state=OK if ok else RETRY, admin_url=_admin_url(attempt.delivery),
                  facts=[("took", f"{attempt.duration_ms} ms")])
        )  # fmt: skip
    return entries


def _dead_letters(references) -> list[Entry]:
    entries = []
    letters = DeadLetter.objects.filter(reference__in=references).prefetch_related("events__actor")
    for letter in letters:
        url = _admin_url(letter)
        entries.append(
            Entry(at=letter.last_failed_at, kind="dead letter",
                  title=f"Dead letter #{letter.pk}: {letter.task_name} failed for good",
                  detail=f"{letter.exception_class}: {letter.exception_message}",
                  state=FAILED if letter.status == DeadLetter.Status.OPEN else OK,
                  admin_url=url, task_id=letter.task_id,
                  facts=[("attempts", str(letter.attempts)), ("status", letter.status)])
        )  # fmt: skip
        for event in letter.events.all():
            entries.append(
                Entry(at=event.at, kind="dead letter",
                      title=f"Dead letter #{letter.pk} {event.get_action_display().lower()} "
                      f"by {event.actor or 'the system'}",
                      detail=event.detail, admin_url=url,
                      state=FAILED if event.action == event.Action.REQUEUE_REFUSED else OK)
            )  # fmt: skip
    return entries
