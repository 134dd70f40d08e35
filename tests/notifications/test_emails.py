import pytest
from django.core import mail

from notifications.models import EmailLog
from notifications.services import emails
from orders.models import Order
from orders.services import place_order
from tests.factories import ProductFactory
from tests.helpers import sandbox_payment_method


@pytest.fixture
def order(db):
    product = ProductFactory(name="Pour-over dripper", price="24.00")
    return place_order(
        quantities={product.pk: 2},
        email="ada@example.com",
        full_name="Ada Lovelace",
        shipping_address="12 Analytical Row\nLondon",
        payment_method=sandbox_payment_method("4242424242424242"),
    )


def test_confirmation_is_sent_once_with_text_and_html_even_when_run_twice(order):
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)

    assert emails.send_order_confirmation(order_id=order.pk) is not None
    assert emails.send_order_confirmation(order_id=order.pk) is None

    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert order.number in message.subject
    assert "2 x Pour-over dripper" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and "Pour-over dripper" in html
    assert EmailLog.objects.filter(order=order).count() == 1


def test_unpaid_order_gets_no_confirmation(order):
    assert emails.send_order_confirmation(order_id=order.pk) is None
    assert mail.outbox == []


def test_a_failed_send_leaves_no_log_so_a_retry_sends(order, settings):
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with pytest.raises(OSError):
        emails.send_order_confirmation(order_id=order.pk)
    assert not EmailLog.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert emails.send_order_confirmation(order_id=order.pk) is not None
    assert len(mail.outbox) == 1
