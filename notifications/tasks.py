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
