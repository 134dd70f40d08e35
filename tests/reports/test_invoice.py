from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from pypdf import PdfReader

from orders.models import Order
from orders.services import place_order
from reports.invoice_pdf import render_invoice
from reports.models import Invoice
from reports.services.invoices import generate_invoice, invoice_key
from tests.factories import ProductFactory
from tests.helpers import sandbox_payment_method


@pytest.fixture
def paid_order(db):
    dripper = ProductFactory(name="Pour-over dripper", sku="BRE-007", price="24.00")
    filters = ProductFactory(name="Paper filters, 100 pack", sku="BRE-008", price="5.90")
    order = place_order(
        quantities={dripper.pk: 1, filters.pk: 3},
        email="ada@example.com",
        full_name="Ada Lovelace",
        shipping_address="12 Analytical Row\nLondon",
        payment_method=sandbox_payment_method("4242424242424242"),
    )
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    order.refresh_from_db()
    return order


def pdf_text(data: bytes) -> str:
    reader = PdfReader(BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_invoice_text_has_seller_order_customer_lines_and_total(paid_order):
    text = pdf_text(render_invoice(paid_order))
    for expected in [
        "Orderly GmbH",
        f"INV-{paid_order.pk:06d}",
        paid_order.number,
        "Ada Lovelace",
        "12 Analytical Row",
        "Pour-over dripper",
        "BRE-008",
        "€41.70",  # 24.00 + 3 x 5.90, in the shop locale (en_IE)
        "ending 4242",
    ]:
        assert expected in text, expected


def test_generating_twice_stores_one_file_and_one_row(paid_order):
    first = generate_invoice(order_id=paid_order.pk)
    second = generate_invoice(order_id=paid_order.pk)
    assert first == second
    assert Invoice.objects.count() == 1
    assert first.file.name == invoice_key(paid_order)
    _, files = default_storage.listdir("invoices")
    assert files.count(f"{paid_order.public_id}.pdf") == 1
    assert not any(name.startswith(str(paid_order.public_id) + "_") for name in files)


def test_unpaid_order_gets_no_invoice(paid_order):
    Order.objects.filter(pk=paid_order.pk).update(status=Order.Status.CANCELLED)
    assert generate_invoice(order_id=paid_order.pk) is None
    assert not Invoice.objects.exists()
