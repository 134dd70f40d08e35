"""Each e-mail part escapes for itself: text parts as typed, HTML parts escaped (issue 12)."""

import pytest
from django.core import mail

from notifications.services import emails
from orders.models import Order
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db


def parts(message) -> dict[str, str]:
    return {"text/plain": message.body, "text/html": message.alternatives[0][0]}


def test_the_text_part_reads_the_name_as_typed_and_the_html_part_escapes_it():
    order = create_order({ProductFactory(name="Mug & <Saucer>"): 1})
    Order.objects.filter(pk=order.pk).update(
        full_name="Zoë O'Brien & Søn", shipping_address="<b>1 Rue d'Ypres</b>\nParis"
    )

    emails.send_order_confirmation(order_id=order.pk)

    text, html = parts(mail.outbox[0]).values()
    assert "Hello Zoë O'Brien & Søn," in text
    assert "<b>1 Rue d'Ypres</b>\nParis" in text
    assert "1 x Mug & <Saucer>" in text
    assert "&amp;" not in text and "&#x27;" not in text
    assert "Zoë O&#x27;Brien &amp; Søn" in html
    assert "&lt;b&gt;1 Rue d&#x27;Ypres&lt;/b&gt;<br>Paris" in html
    assert "<b>" not in html and "<Saucer>" not in html


def test_template_syntax_in_a_name_is_printed_not_run():
    order = create_order({ProductFactory(): 1})
    Order.objects.filter(pk=order.pk).update(full_name="{{ shop_name }} {% now 'Y' %}")

    emails.send_order_confirmation(order_id=order.pk)

    text, html = parts(mail.outbox[0]).values()
    assert "{{ shop_name }} {% now 'Y' %}" in text
    assert "{{ shop_name }} {% now &#x27;Y&#x27; %}" in html


def test_welcome_email_text_part_is_not_escaped(django_user_model):
    user = django_user_model.objects.create_user(
        username="zoe@example.com", email="zoe@example.com", first_name="Zoë & <Co>"
    )
    emails.send_welcome_email(user_id=user.pk)
    text, html = parts(mail.outbox[0]).values()
    assert "Hello Zoë & <Co>," in text
    assert "Zoë &amp; &lt;Co&gt;" in html
