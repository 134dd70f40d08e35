"""Transactional e-mail, each sent at most once per (subject, kind)."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from orders.models import Order

from .models import EmailLog

logger = logging.getLogger(__name__)


def send_once(
    *, key: str, kind: str, to: str, template: str, context: dict, order=None, user=None
) -> EmailLog | None:
    """Send a text+HTML e-mail unless one with this key was already sent.

    The log row and the send share a transaction: if sending fails the row
    is rolled back and a retry sends again; a second delivery of the same
    task finds the row (unique key) and sends nothing. Returns the new log
    row, or None when the e-mail had been sent before.
    """
    context = {"shop_name": settings.SHOP_NAME, "site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    try:
        with transaction.atomic():
            log = EmailLog.objects.create(
                key=key, kind=kind, to=to, subject=subject, order=order, user=user
            )
            message = EmailMultiAlternatives(
                subject=subject,
                body=render_to_string(f"emails/{template}.txt", context),
                to=[to],
                headers={"X-Orderly-Email-Key": key},
            )
            message.attach_alternative(
                render_to_string(f"emails/{template}.html", context), "text/html"
            )
            message.send()
    except IntegrityError:
        logger.info("e-mail %s already sent; not sending again", key)
        return None
    logger.info("e-mail %s sent to %s", key, to)
    return log


def send_order_confirmation(*, order_id: int) -> EmailLog | None:
    """Confirm a paid order to the shopper, once. Unpaid orders get nothing."""
    order = Order.objects.prefetch_related("items").get(pk=order_id)
    if order.status != Order.Status.PAID:
        logger.info("order %s is %s: no confirmation e-mail", order.public_id, order.status)
        return None
    return send_once(
        key=f"order:{order.public_id}:{EmailLog.Kind.ORDER_CONFIRMATION}",
        kind=EmailLog.Kind.ORDER_CONFIRMATION,
        to=order.email,
        template="order_confirmation",
        context={"order": order, "order_url": settings.SITE_URL + order.get_absolute_url()},
        order=order,
    )


def send_payment_failed_email(*, order_id: int) -> EmailLog | None:
    """Tell the shopper their payment failed and the order is cancelled, once."""
    order = Order.objects.select_related("payment").get(pk=order_id)
    return send_once(
        key=f"order:{order.public_id}:{EmailLog.Kind.PAYMENT_FAILED}",
        kind=EmailLog.Kind.PAYMENT_FAILED,
        to=order.email,
        template="payment_failed",
        context={"order": order, "order_url": settings.SITE_URL + order.get_absolute_url()},
        order=order,
    )


def send_welcome_email(*, user_id: int) -> EmailLog | None:
    """Welcome a new customer, once per account."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=user_id)
    return send_once(
        key=f"user:{user.pk}:{EmailLog.Kind.WELCOME}",
        kind=EmailLog.Kind.WELCOME,
        to=user.email,
        template="welcome",
        context={"user": user},
        user=user,
    )
