from celery import shared_task
from django.core.mail import BadHeaderError

from jobs.errors import PermanentError, TemporaryError

from . import services

# SMTP hiccups (connection refused, 4xx replies, timeouts) are worth retrying.
_TEMPORARY_MAIL_ERRORS = (OSError,)


def _send(send, **ids):
    try:
        return send(**ids)
    except BadHeaderError as exc:
        raise PermanentError(str(exc)) from exc
    except _TEMPORARY_MAIL_ERRORS as exc:
        raise TemporaryError(f"mail server: {exc!r}") from exc


@shared_task(
    name="notifications.send_order_confirmation",
    business_object="orders.Order",
    soft_time_limit=30,
    time_limit=45,
)
def send_order_confirmation(order_id: int) -> bool:
    """E-mail the order confirmation once (unique EmailLog); retried on SMTP errors."""
    return _send(services.send_order_confirmation, order_id=order_id) is not None


@shared_task(
    name="notifications.send_payment_failed_email",
    business_object="orders.Order",
    soft_time_limit=30,
    time_limit=45,
)
def send_payment_failed_email(order_id: int) -> bool:
    """E-mail the shopper that payment failed, once; retried on SMTP errors."""
    return _send(services.send_payment_failed_email, order_id=order_id) is not None


@shared_task(
    name="notifications.send_welcome_email",
    business_object="accounts.User",
    soft_time_limit=30,
    time_limit=45,
)
def send_welcome_email(user_id: int) -> bool:
    """E-mail a new customer once per account; retried on SMTP errors."""
    return _send(services.send_welcome_email, user_id=user_id) is not None


@shared_task(
    name="notifications.send_sales_report_email",
    business_object="reports.SalesReport",
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def send_sales_report_email(report_id: int) -> int:
    """E-mail a finished sales report to staff, once per person; retried on SMTP errors."""
    return _send(services.send_sales_report_email, report_id=report_id)


@shared_task(name="notifications.send_operator_digest", soft_time_limit=60, time_limit=90)
def send_operator_digest() -> dict:
    """E-mail staff the operator digest (beat, weekdays 08:00), once per person and period.

    Retried on SMTP errors. Returns the period covered and how many were sent.
    """
    return _send(services.send_operator_digest)


@shared_task(name="notifications.dispatch_webhooks", soft_time_limit=30, time_limit=45)
def dispatch_webhooks(delivery_ids: list[int]) -> int:
    """Publish one send task per open delivery of an event (published after its commit).

    Idempotent: a delivery already sent or being sent is guarded by its attempt token.
    """
    from .webhooks import services as webhooks

    return webhooks.dispatch(delivery_ids=delivery_ids)


@shared_task(
    name="notifications.deliver_webhook",
    business_object="notifications.WebhookDelivery",
    soft_time_limit=30,
    time_limit=45,
)
def deliver_webhook(delivery_id: int, attempt: int) -> str:
    """Send one webhook delivery once; a no-op for a stale or duplicate message.

    Never a broker retry: temporary failures put the next attempt time on the
    row for dispatch_due_webhooks. Exhausted retries and failures that will not
    pass raise PermanentError, which leaves one dead letter.
    """
    from .webhooks import sending

    outcome = sending.deliver(delivery_id=delivery_id, attempt=attempt)
    if outcome in (sending.Outcome.EXHAUSTED, sending.Outcome.FAILED):
        raise PermanentError(f"webhook delivery #{delivery_id} {outcome}")
    return outcome


@shared_task(name="notifications.dispatch_due_webhooks", soft_time_limit=30, time_limit=45)
def dispatch_due_webhooks() -> int:
    """Publish the webhook deliveries whose next attempt is due (beat, every 5 seconds)."""
    from .webhooks import services as webhooks

    return webhooks.dispatch_due()
