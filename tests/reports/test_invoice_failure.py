"""A rendering failure is permanent: a dead letter, and the order page stops waiting."""

import pytest
from django.urls import reverse

from jobs.errors import PermanentError, TemporaryError
from notifications.services.emails import send_order_confirmation
from reports.errors import InvoiceRenderingFailed
from reports.models import Invoice, InvoiceFailure
from reports.services import invoices
from reports.tasks import generate_invoice_pdf
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db


def invoice_step(client, order) -> tuple[dict, bool]:
    """The order page's invoice step, as the page polls it, and whether polling stops."""
    session = client.session
    session["orders"] = [str(order.public_id)]
    session.save()
    data = client.get(reverse("orders:status", args=[order.public_id])).json()
    return next(step for step in data["steps"] if step["name"] == "invoice"), data["final"]


@pytest.fixture
def broken_renderer(monkeypatch):
    def render(order):
        raise OSError("a renderer bug that happens to raise OSError")

    monkeypatch.setattr(invoices, "render_invoice", render)


def test_a_render_error_is_permanent_even_when_it_is_an_oserror(broken_renderer):
    order = create_order({ProductFactory(): 1})

    with pytest.raises(InvoiceRenderingFailed) as raised:
        generate_invoice_pdf(order.pk)  # the task body: no TemporaryError, so no retry

    assert isinstance(raised.value, PermanentError)
    assert not isinstance(raised.value, TemporaryError)
    failure = InvoiceFailure.objects.get(order=order)
    assert "OSError: a renderer bug" in failure.reason
    assert not Invoice.objects.exists()


def test_the_order_page_says_the_invoice_could_not_be_produced_and_is_final(
    client, broken_renderer
):
    order = create_order({ProductFactory(): 1})
    send_order_confirmation(order_id=order.pk)  # every other step done
    with pytest.raises(InvoiceRenderingFailed):
        invoices.generate_invoice(order_id=order.pk)

    step, final = invoice_step(client, order)
    assert final  # the page stops polling
    assert step["state"] == "failed"
    assert "could not be produced" in step["detail"] and "has been told" in step["detail"]
    assert step["url"] is None


def test_a_later_successful_render_clears_the_failure(client):
    order = create_order({ProductFactory(): 1})
    invoices.record_invoice_failure(order=order, reason="was broken")

    invoice = invoices.generate_invoice(order_id=order.pk)

    assert invoice is not None
    assert not InvoiceFailure.objects.exists()
    assert invoice_step(client, order)[0]["state"] == "done"
