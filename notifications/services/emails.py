"""Transactional e-mail, each sent at most once per (subject, kind)."""

import logging
from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from reports.models import SalesReport

from .. import selectors
from ..models import EmailLog
from ..plain_text import render_plain_text

logger = logging.getLogger(__name__)


def send_once(
    *,
    key: str,
    kind: str,
    to: str,
    template: str,
    context: dict,
    order=None,
    user=None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> EmailLog | None:
    """Send a text+HTML e-mail unless one with this key was already sent.

    The log row and the send share a transaction: if sending fails the row
    is rolled back and a retry sends again; a second delivery of the same
    task finds the row (unique key) and sends nothing. Returns the new log
    row, or None when the e-mail had been sent before. `attachments` are
    (filename, content, mimetype) triples.
    """
    context = {"shop_name": settings.SHOP_NAME, "site_url": settings.SITE_URL, **context}
    # Subject and text part are plain text; only the HTML part is escaped for HTML.
    subject = " ".join(render_plain_text(f"emails/{template}_subject.txt", context).split())
    try:
        with transaction.atomic():
            log = EmailLog.objects.create(
                key=key, kind=kind, to=to, subject=subject, order=order, user=user
            )
            message = EmailMultiAlternatives(
                subject=subject,
                body=render_plain_text(f"emails/{template}.txt", context),
                to=[to],
                headers={"X-Orderly-Email-Key": key},
            )
            message.attach_alternative(
                render_to_string(f"emails/{template}.html", context), "text/html"
            )
            for filename, content, mimetype in attachments:
                message.attach(filename, content, mimetype)
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
        logger.info("order %s is %s: no confirmation e-mail", order.number, order.status)
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
    return _send_payment_email(order_id, kind=EmailLog.Kind.PAYMENT_FAILED)


def send_payment_refunded_email(*, order_id: int) -> EmailLog | None:
    """Tell the shopper a charge taken for their cancelled order was refunded, once."""
    return _send_payment_email(order_id, kind=EmailLog.Kind.PAYMENT_REFUNDED)


def _send_payment_email(order_id: int, *, kind: str) -> EmailLog | None:
    """One e-mail about the order's payment, of `kind` (also the template's name)."""
    order = Order.objects.select_related("payment").get(pk=order_id)
    return send_once(
        key=f"order:{order.public_id}:{kind}",
        kind=kind,
        to=order.email,
        template=kind,
        context={"order": order, "order_url": settings.SITE_URL + order.get_absolute_url()},
        order=order,
    )


def send_welcome_email(*, user_id: int) -> EmailLog | None:
    """Welcome a new customer, once per account."""
    user = get_user_model().objects.get(pk=user_id)
    return send_once(
        key=f"user:{user.pk}:{EmailLog.Kind.WELCOME}",
        kind=EmailLog.Kind.WELCOME,
        to=user.email,
        template="welcome",
        context={"user": user},
        user=user,
    )


def _send_once_to_staff(*, key: str, kind: str, template: str, context: dict, attachments=()):
    """send_once to each active staff user with an e-mail (key: `<key>:user:<pk>`).

    Returns how many were sent now; a retry reaches only those not reached yet.
    """
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return sum(
        send_once(
            key=f"{key}:user:{user.pk}",
            kind=kind,
            to=user.email,
            template=template,
            context=context,
            user=user,
            attachments=attachments,
        )
        is not None
        for user in staff
    )


def send_sales_report_email(*, report_id: int) -> int:
    """E-mail a finished sales report (CSV attached, PDF linked) to every staff user, once each.

    Idempotent per recipient (EmailLog key per report and user): a retry
    after a partial failure sends only to those not reached yet. Returns
    how many e-mails were sent now.
    """
    report = SalesReport.objects.get(pk=report_id)
    if report.status != SalesReport.Status.DONE:
        logger.info("%s is %s: no e-mail", report, report.status)
        return 0
    with default_storage.open(report.csv_file.name, "rb") as stored:
        csv_content = stored.read()
    filename = report.csv_file.name.rsplit("/", 1)[-1]
    admin_url = settings.SITE_URL + reverse("admin:reports_salesreport_change", args=[report.pk])
    return _send_once_to_staff(
        key=f"sales_report:{report.pk}",
        kind=EmailLog.Kind.SALES_REPORT,
        template="sales_report",
        context={"report": report, "admin_url": admin_url},
        attachments=[(filename, csv_content, "text/csv")],
    )


def send_operator_digest(*, today: date | None = None) -> dict:
    """E-mail staff the operator digest for the days since the previous weekday, once each.

    Covers orders and failed payments of the period (yesterday; on Monday,
    Friday to Sunday), and what is open now: dead letters and disabled
    webhook endpoints. Idempotent per recipient and period. Returns the
    period and how many e-mails were sent now.
    """
    today = today or timezone.localdate()
    date_from, date_to = selectors.digest_period(today)
    digest = selectors.operator_digest(date_from=date_from, date_to=date_to)
    sent = _send_once_to_staff(
        key=f"operator_digest:{date_from:%Y-%m-%d}:{date_to:%Y-%m-%d}",
        kind=EmailLog.Kind.OPERATOR_DIGEST,
        template="operator_digest",
        context={"digest": digest},
    )
    return {"from": f"{date_from:%Y-%m-%d}", "to": f"{date_to:%Y-%m-%d}", "sent": sent}
