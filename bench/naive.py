"""The seed-naive pipeline: the anchor Orderly's CPU per order is compared with (issue 23).

The shape the seed material starts from: a view that creates the order and
answers `JsonResponse({"order_id": ...})`, and a bare `@shared_task` per step,
each started with `.delay()`. The same work as Orderly's pipeline, and only
the work:

- the view asks the gateway what the card token is (HTTP, as Orderly's
  checkout does), then in one transaction takes the stock and writes the
  order, its item and its payment row;
- `naive_charge` (payments queue; routes in bench/naive_settings.py) charges the card at the same sandbox
  gateway over HTTP, marks the payment and the order paid, and `.delay()`s
  the two next steps;
- `naive_email` (emails queue) sends the confirmation with `send_mail`
  through the shop's mail backend (the same sink as Orderly's e-mails);
- `naive_invoice` (reports queue) renders a PDF with reportlab and uploads
  it with boto3 to the same S3 bucket as Orderly's invoices, then records
  the invoice row (where its PDF is).

No outbox, no shared base task (`base=celery.Task`), no timeline
(TaskAttempt), no metrics, no stored results, no retries. Its processes run
with bench/naive_settings.py (a bare Celery app's defaults: no task events,
no STARTED state, no task metrics; Django's default middleware).

The bench finds a naive order's e-mail by its subject (`NAIVE_SUBJECT`)
among the mail backend's files; nothing is recorded for it.
"""

import io
import json
import re
from decimal import Decimal

import requests
from celery import Task, shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from inventory.models import Product
from orders.models import Order, OrderItem, Payment
from reports.models import Invoice

NAIVE_SUBJECT = "Your order {number} is confirmed (naive {pk})"
NAIVE_SUBJECT_PATTERN = re.compile(rb"^Subject: Your order \S+ is confirmed \(naive (\d+)\)", re.M)


def _gateway_headers(idempotency_key=None):
    headers = {"Authorization": f"Bearer {settings.PAYMENT_GATEWAY_API_KEY}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


@csrf_exempt
@require_POST
def naive_checkout(request):
    body = json.loads(request.body)
    token = body["payment_method"]
    card = requests.get(f"{settings.PAYMENT_GATEWAY_URL}/payment_methods/{token}",
                        headers=_gateway_headers(), timeout=10)  # fmt: skip
    card.raise_for_status()
    card = card.json()
    quantity = int(body.get("quantity", 1))
    with transaction.atomic():
        product = Product.objects.get(pk=body["product"])
        Product.objects.filter(pk=product.pk).update(stock=F("stock") - quantity)
        total = product.price * quantity
        order = Order.objects.create(email=body["email"], full_name=body["full_name"],
                                     shipping_address=body["shipping_address"],
                                     currency=settings.SHOP_CURRENCY, total=total)  # fmt: skip
        OrderItem.objects.create(order=order, product=product, sku=product.sku, name=product.name,
                                 unit_price=product.price, quantity=quantity)  # fmt: skip
        Payment.objects.create(order=order, idempotency_key=f"naive-{order.public_id}",
                               amount=total, currency=order.currency, payment_method=token,
                               card_last4=card.get("last4", ""), card_brand=card.get("brand", ""))  # fmt: skip
    naive_charge.delay(order.pk)
    return JsonResponse({"order_id": order.pk})


@shared_task(base=Task, name="bench.naive_charge", ignore_result=True)
def naive_charge(order_id):
    payment = Payment.objects.get(order_id=order_id)
    response = requests.post(
        f"{settings.PAYMENT_GATEWAY_URL}/charges",
        json={"amount": str(payment.amount), "currency": payment.currency,
              "payment_method": payment.payment_method, "reference": str(order_id)},
        headers=_gateway_headers(payment.idempotency_key), timeout=10,
    )  # fmt: skip
    response.raise_for_status()
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.SUCCEEDED, gateway_charge_id=response.json()["id"],
        settled_at=timezone.now(),
    )  # fmt: skip
    Order.objects.filter(pk=order_id).update(status=Order.Status.PAID)
    naive_email.delay(order_id)
    naive_invoice.delay(order_id)


@shared_task(base=Task, name="bench.naive_email", ignore_result=True)
def naive_email(order_id):
    order = Order.objects.get(pk=order_id)
    lines = "\n".join(f"{item.quantity} x {item.name}  {item.line_total}"
                      for item in order.items.all())  # fmt: skip
    send_mail(
        NAIVE_SUBJECT.format(number=order.number, pk=order.pk),
        f"Dear {order.full_name},\n\nThank you for your order {order.number}.\n\n{lines}\n\n"
        f"Total {order.total} {order.currency}\n",
        settings.DEFAULT_FROM_EMAIL,
        [order.email],
    )


_s3 = None


def _s3_client():
    """One boto3 client per process, as a module-level client in the seed would be."""
    global _s3
    if _s3 is None:
        import boto3

        options = settings.STORAGES["default"]["OPTIONS"]
        _s3 = boto3.client("s3", endpoint_url=options.get("endpoint_url"),
                           aws_access_key_id=options.get("access_key"),
                           aws_secret_access_key=options.get("secret_key"),
                           region_name=options.get("region_name"))  # fmt: skip
    return _s3


def render_pdf(order) -> bytes:
    """A one-page invoice in reportlab's built-in Helvetica."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(72, 770, f"Invoice INV-{order.pk:06d}")
    pdf.setFont("Helvetica", 11)
    y = 740
    for line in (order.full_name, *order.shipping_address.splitlines(), ""):
        pdf.drawString(72, y, line)
        y -= 16
    total = Decimal("0.00")
    for item in order.items.all():
        pdf.drawString(72, y, f"{item.quantity} x {item.name}")
        pdf.drawRightString(520, y, f"{item.line_total} {order.currency}")
        total += item.line_total
        y -= 16
    pdf.drawRightString(520, y - 8, f"Total {total} {order.currency}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@shared_task(base=Task, name="bench.naive_invoice", ignore_result=True)
def naive_invoice(order_id):
    order = Order.objects.get(pk=order_id)
    pdf = render_pdf(order)
    key = f"invoices/naive-{order.public_id}.pdf"
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    _s3_client().put_object(Bucket=bucket, Key=key, Body=pdf, ContentType="application/pdf")
    Invoice.objects.create(order=order, number=f"INV-{order.pk:06d}", file=key,
                           size_bytes=len(pdf))  # fmt: skip
