"""SSRF protection: webhook URLs that reach the shop's own network are refused, at save and send."""

import socket

import pytest

from notifications.admin import WebhookEndpointForm
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.services import webhook_delivery, webhooks
from notifications.services.webhook_delivery import Outcome
from notifications.services.webhooks import emit_order_event
from notifications.webhooks import safe_http, signing
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db

REFUSED = {
    "http://127.0.0.1/hook": "127.0.0.1 is a loopback address",
    "http://localhost/hook": "localhost resolves to",
    "http://[::1]/hook": "::1 is a loopback address",
    "http://10.0.0.1/hook": "10.0.0.1 is a private address",
    "http://172.16.0.1/hook": "172.16.0.1 is a private address",
    "https://192.168.1.1/hook": "192.168.1.1 is a private address",
    "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a cloud metadata address",
    "http://169.254.10.1/hook": "169.254.10.1 is a link-local address",
    "http://100.64.0.1/hook": "100.64.0.1 is a carrier-grade NAT address",
    "http://0.0.0.0/hook": "0.0.0.0 is an unspecified address",
    "http://[::ffff:127.0.0.1]/hook": "is an IPv4-mapped loopback address",
    "http://2130706433/hook": "2130706433 resolves to 127.0.0.1, which is a loopback address",
    "http://224.0.0.1/hook": "multicast address",
    "http://[fe80::1]/hook": "link-local address",
    "http://[fc00::1]/hook": "private address",
    "http://240.0.0.1/hook": "reserved address",
    "http://intranet.orderly.test/hook": "intranet.orderly.test resolves to 10.1.2.3",
    "ftp://example.com/hook": "only http and https URLs are allowed",
    "file:///etc/passwd": "only http and https URLs are allowed",
}


@pytest.fixture(autouse=True)
def no_allow_list(settings, monkeypatch):
    """No exemptions; one made-up name resolves to a private address."""
    settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS = []
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "intranet.orderly.test":
            return real_getaddrinfo("10.1.2.3", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.mark.parametrize("url", REFUSED)
def test_unsafe_url_is_refused_when_the_endpoint_is_saved(url):
    with pytest.raises(safe_http.UnsafeWebhookURL) as refused:
        webhooks.create_endpoint(url=url, event_types=["order.paid"])

    assert REFUSED[url] in str(refused.value)
    assert "webhooks only go to public addresses" in str(refused.value) or "only http" in str(
        refused.value
    )
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", [u for u in REFUSED if u.startswith("http")])
def test_admin_form_shows_why_a_url_is_refused(url):
    form = WebhookEndpointForm(data={"url": url, "event_types": ["order.paid"]})

    assert not form.is_valid()
    assert REFUSED[url] in form.errors["url"][0]


@pytest.mark.parametrize("url", [u for u in REFUSED if u.startswith("http")])
def test_unsafe_url_is_refused_at_send_time(url):
    """E.g. a name that resolved to a public address when saved and to a private one now."""
    WebhookEndpoint.objects.create(
        url=url, secret=signing.generate_secret(), event_types=["order.paid"]
    )
    order = create_order({ProductFactory(): 1})
    [delivery] = emit_order_event(order=order, event_type="order.paid")

    assert webhook_delivery.deliver(delivery_id=delivery.pk, attempt=0) == Outcome.FAILED

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert REFUSED[url] in delivery.last_error
    [attempt] = delivery.attempts_log.all()
    assert attempt.status_code is None and REFUSED[url] in attempt.error


def test_public_address_is_accepted():
    checked = safe_http.check_url("https://93.184.216.34/hook")

    assert checked.address == "93.184.216.34" and checked.hostname == "93.184.216.34"


def test_allow_list_exempts_hosts_and_networks(settings):
    settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS = ["localhost", "10.0.0.0/8"]

    assert safe_http.check_url("http://localhost:8000/sandbox/webhooks/receive").port == 8000
    assert safe_http.check_url("http://10.9.8.7/hook").address == "10.9.8.7"
    with pytest.raises(safe_http.UnsafeWebhookURL):
        safe_http.check_url("http://192.168.1.1/hook")


def test_unresolvable_host_is_refused_at_save_time():
    with pytest.raises(safe_http.UnsafeWebhookURL, match="could not resolve"):
        webhooks.create_endpoint(url="http://does-not-exist.invalid/hook", event_types=[])


def test_https_connection_pool_keeps_the_host_name_for_sni_and_certificates():
    adapter = safe_http.PinnedHostAdapter(hostname="hooks.example.com")

    pool_kwargs = adapter.poolmanager.connection_pool_kw
    assert pool_kwargs["server_hostname"] == "hooks.example.com"
    assert pool_kwargs["assert_hostname"] == "hooks.example.com"
    checked = safe_http.CheckedURL(
        url="https://hooks.example.com/in?a=1", scheme="https", hostname="hooks.example.com",
        port=443, address="93.184.216.34",
    )  # fmt: skip
    assert safe_http.pinned_url(checked) == "https://93.184.216.34:443/in?a=1"
