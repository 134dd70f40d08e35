"""Order confirmation delivered over SMTP to a real server (aiosmtpd)."""

import email
from email import policy

from django.conf import settings

from notifications.services.emails import send_order_confirmation


def test_order_confirmation_arrives_over_smtp_with_text_html_and_order_link(
    smtp_server, paid_order
):
    send_order_confirmation(order_id=paid_order.pk)

    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["ada@example.com"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["To"] == "ada@example.com"
    assert paid_order.number in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    order_url = settings.SITE_URL + paid_order.get_absolute_url()
    assert order_url in text
    assert f'href="{order_url}"' in html
    assert "invoice" in text and "invoice" in html
    assert paid_order.number in text and paid_order.number in html
