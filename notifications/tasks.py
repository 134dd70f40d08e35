from celery import shared_task

from jobs.errors import PermanentError
from jobs.requeue import NothingDone
from jobs.transport import transport_errors

from .services import emails, webhook_delivery, webhooks


def _send(send, **ids):
    """Run an e-mail service; SMTP failures become the retry decision (jobs.transport)."""
    with transport_errors("mail server"):
        return send(**ids)


def _sent_once(send, **ids) -> bool | NothingDone:
    """True when this run sent the e-mail; NothingDone when it was sent before or is not due."""
    if _send(send, **ids) is not None:
        return True
    return NothingDone(f"{send.__name__}: the e-mail was already sent, or is not due")


# Results: no e-mail task stores one. Each run of an order's e-mail is a
# jobs.TaskAttempt row (the order's timeline) and the EmailLog row is the e-mail's record.
@shared_task(
    name="notifications.send_order_confirmation",
    business_object="orders.Order",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def send_order_confirmation(order_id: int) -> bool | NothingDone:
    """E-mail the order confirmation once (unique EmailLog); retried on SMTP errors."""
    return _sent_once(emails.send_order_confirmation, order_id=order_id)


@shared_task(
    name="notifications.send_payment_failed_email",
    business_object="orders.Order",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def send_payment_failed_email(order_id: int) -> bool | NothingDone:
    """E-mail the shopper that payment failed, once; retried on SMTP errors."""
    return _sent_once(emails.send_payment_failed_email, order_id=order_id)


@shared_task(
    name="notifications.send_payment_refunded_email",
    business_object="orders.Order",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def send_payment_refunded_email(order_id: int) -> bool | NothingDone:
    """E-mail the shopper that the charge for a cancelled order was refunded, once."""
    return _sent_once(emails.send_payment_refunded_email, order_id=order_id)


@shared_task(
    name="notifications.send_welcome_email",
    business_object="accounts.User",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def send_welcome_email(user_id: int) -> bool | NothingDone:
    """E-mail a new customer once per account; retried on SMTP errors."""
    return _sent_once(emails.send_welcome_email, user_id=user_id)


@shared_task(
    name="notifications.send_sales_report_email",
    business_object="reports.SalesReport",
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def send_sales_report_email(report_id: int) -> int:
    """E-mail a finished sales report to staff, once per person; retried on SMTP errors."""
    return _send(emails.send_sales_report_email, report_id=report_id)


@shared_task(name="notifications.send_operator_digest", soft_time_limit=60, time_limit=90)
def send_operator_digest() -> dict:
    """E-mail staff the operator digest (beat, weekdays 08:00), once per person and period.

    Retried on SMTP errors. Returns the period covered and how many were sent.
    """
    return _send(emails.send_operator_digest)


# Webhook tasks store no result: the WebhookDelivery row and its attempts are the
# record operators read, and dispatch_due_webhooks runs every 5 s (17,280 rows a day).
@shared_task(
    name="notifications.dispatch_webhooks", ignore_result=True, soft_time_limit=30, time_limit=45
)
def dispatch_webhooks(delivery_ids: list[int]) -> int:
    """Publish one send task per open delivery of an event (published after its commit).

    Idempotent: a delivery already sent or being sent is guarded by its attempt token.
    """
    return webhooks.dispatch(delivery_ids=delivery_ids)


@shared_task(
    name="notifications.deliver_webhook",
    business_object="notifications.WebhookDelivery",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def deliver_webhook(delivery_id: int, attempt: int) -> str:
    """Send one webhook delivery once; a no-op for a stale or duplicate message.

    Never a broker retry: temporary failures put the next attempt time on the
    row for dispatch_due_webhooks. Exhausted retries and failures that will not
    pass raise PermanentError, which leaves one dead letter.
    """
    outcome = webhook_delivery.deliver(delivery_id=delivery_id, attempt=attempt)
    if outcome in (webhook_delivery.Outcome.EXHAUSTED, webhook_delivery.Outcome.FAILED):
        raise PermanentError(f"webhook delivery #{delivery_id} {outcome}")
    if outcome == webhook_delivery.Outcome.RETRY_SCHEDULED:
        return NothingDone(f"webhook delivery #{delivery_id} failed again; a retry is scheduled")
    return outcome


@shared_task(
    name="notifications.dispatch_due_webhooks",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=45,
)
def dispatch_due_webhooks() -> int:
    """Publish the webhook deliveries whose next attempt is due (beat, every 5 seconds)."""
    return webhooks.dispatch_due()
