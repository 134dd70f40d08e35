"""Invoices on a real S3-protocol server (moto), downloaded through a signed link."""

from io import BytesIO
from urllib.parse import parse_qs, urlparse

import requests
from django.urls import reverse
from pypdf import PdfReader

from orders.access import SESSION_KEY
from reports.services.invoices import generate_invoice, invoice_key


def stored_keys(client, bucket) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_invoice_is_stored_once_in_the_bucket_as_a_real_pdf(s3_bucket, paid_order):
    client, bucket = s3_bucket
    first = generate_invoice(order_id=paid_order.pk)
    second = generate_invoice(order_id=paid_order.pk)
    assert first == second
    assert stored_keys(client, bucket) == [invoice_key(paid_order)]
    body = client.get_object(Bucket=bucket, Key=invoice_key(paid_order))["Body"].read()
    assert body.startswith(b"%PDF")
    assert paid_order.number in PdfReader(BytesIO(body)).pages[0].extract_text()


def test_invoice_download_redirects_to_a_signed_expiring_url_that_serves_the_pdf(
    s3_bucket, paid_order, client
):
    generate_invoice(order_id=paid_order.pk)
    session = client.session
    remember_order_in_session(session, paid_order)
    response = client.get(reverse("orders:invoice", args=[paid_order.public_id]))
    assert response.status_code == 302
    location = response["Location"]
    query = parse_qs(urlparse(location).query)
    assert query.get("X-Amz-Expires") == ["300"]
    assert "X-Amz-Signature" in query
    download = requests.get(location, timeout=10)
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF")
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]


def remember_order_in_session(session, order):
    """Give the test client's session access to the order, like a checkout does."""
    session[SESSION_KEY] = [str(order.public_id)]
    session.save()
