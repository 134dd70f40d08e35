"""SSRF protection: webhook URLs that reach the shop's own network are refused, at save and send."""

import socket

import pytest
import requests

from notifications.admin import WebhookEndpointForm
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.services import webhook_delivery, webhooks
from notifications.services.webhook_delivery import Outcome
from notifications.services.webhooks import emit_order_event
from notifications.webhooks import safe_http, signing
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db

REFUSED = {
    "http://127.0.0.1/hook": "127.0.0.1 is in 127.0.0.0/8 (Loopback",
    "http://localhost/hook": "localhost resolves to",
    "http://[::1]/hook": "::1 is in ::1/128 (Loopback Address",
    "http://10.0.0.1/hook": "10.0.0.1 is in 10.0.0.0/8 (Private-Use, [RFC1918])",
    "http://172.16.0.1/hook": "172.16.0.1 is in 172.16.0.0/12 (Private-Use",
    "https://192.168.1.1/hook": "192.168.1.1 is in 192.168.0.0/16 (Private-Use",
    "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a cloud metadata address",
    "http://169.254.10.1/hook": "169.254.10.1 is in 169.254.0.0/16 (Link Local",
    "http://100.64.0.1/hook": "100.64.0.1 is in 100.64.0.0/10 (Shared Address Space",
    "http://0.0.0.0/hook": "0.0.0.0 is in 0.0.0.0/32 (This host on this network",
    "http://[::ffff:127.0.0.1]/hook": "is an IPv4-mapped address embedding 127.0.0.1, which is in",
    "http://2130706433/hook": "2130706433 resolves to 127.0.0.1, which is in 127.0.0.0/8",
    "http://224.0.0.1/hook": "224.0.0.1 is a multicast address",
    "http://[fe80::1]/hook": "fe80::1 is in fe80::/10 (Link-Local Unicast",
    "http://[fc00::1]/hook": "fc00::1 is in fc00::/7 (Unique-Local",
    "http://240.0.0.1/hook": "240.0.0.1 is in 240.0.0.0/4 (Reserved",
    # What Python 3.11.7's ipaddress calls global (issue 24):
    "http://[2002:a00:1::1]/hook": "is a 6to4 address embedding 10.0.0.1, which is in 10.0.0.0/8",
    "http://[3fff::1]/hook": "3fff::1 is in 3fff::/20 (Documentation, [RFC9637])",
    "http://[64:ff9b::a00:1]/hook": "is a NAT64 address embedding 10.0.0.1",
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/hook": "is a Teredo address embedding 10.0.0.1",
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
    settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS = ["localhost", "127.0.0.0/8"]

    assert safe_http.check_url("http://localhost:8000/sandbox/webhooks/receive").port == 8000
    assert safe_http.check_url("http://127.9.8.7/hook").address == "127.9.8.7"
    with pytest.raises(safe_http.UnsafeWebhookURL):
        safe_http.check_url("http://192.168.1.1/hook")


def test_allow_listing_a_private_network_is_refused_at_save_time_as_it_would_be_at_connect(
    settings,
):
    """requests-hardened refuses private addresses at connect time whatever the allow-list says."""
    settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS = ["10.0.0.0/8"]

    with pytest.raises(safe_http.UnsafeWebhookURL, match="allow-listed, but a private address"):
        webhooks.create_endpoint(url="http://10.9.8.7/hook", event_types=[])


def test_unresolvable_host_is_refused_at_save_time():
    with pytest.raises(safe_http.UnsafeWebhookURL, match="could not resolve"):
        webhooks.create_endpoint(url="http://does-not-exist.invalid/hook", event_types=[])


def test_every_resolved_address_is_checked_not_only_the_first(monkeypatch):
    """A name with a public and a private address is refused, at save and at send time."""
    real_getaddrinfo = socket.getaddrinfo

    def two_addresses(host, *args, **kwargs):
        if host == "mixed.orderly.test":
            return real_getaddrinfo("93.184.216.34", *args, **kwargs) + real_getaddrinfo(
                "10.1.2.3", *args, **kwargs
            )
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)

    with pytest.raises(safe_http.UnsafeWebhookURL, match=r"resolves to 10\.1\.2\.3, which is"):
        webhooks.create_endpoint(url="https://mixed.orderly.test/hook", event_types=[])
    with pytest.raises(safe_http.UnsafeWebhookURL, match=r"resolves to 10\.1\.2\.3, which is"):
        safe_http.check_url("https://mixed.orderly.test/hook")


class RebindingResolver:
    """Answers a public address for the name's first `public_answers` lookups, then loopback."""

    NAME = "rebind.orderly.test"
    PUBLIC = "93.184.216.34"

    def __init__(self, public_answers: int):
        self.public_answers = public_answers
        self.answers: list[str] = []
        self.real_getaddrinfo = socket.getaddrinfo

    def __call__(self, host, *args, **kwargs):
        if host != self.NAME:
            return self.real_getaddrinfo(host, *args, **kwargs)
        address = self.PUBLIC if len(self.answers) < self.public_answers else "127.0.0.1"
        self.answers.append(address)
        return self.real_getaddrinfo(address, *args, **kwargs)


def rebinding_delivery(receiver, monkeypatch) -> tuple[RebindingResolver, WebhookDelivery]:
    # Public when the endpoint is saved and when it is checked before sending;
    # loopback, where the receiver listens, when requests-hardened connects.
    resolver = RebindingResolver(public_answers=2)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    endpoint = webhooks.create_endpoint(
        url=f"http://{RebindingResolver.NAME}:{receiver.port}/hooks", event_types=["order.paid"]
    )
    order = create_order({ProductFactory(): 1})
    [delivery] = emit_order_event(order=order, event_type="order.paid")
    assert delivery.endpoint == endpoint
    return resolver, delivery


def test_a_name_rebound_to_a_private_address_after_the_check_is_refused_at_connect_time(
    receiver, monkeypatch, loopback_only
):
    resolver, delivery = rebinding_delivery(receiver, monkeypatch)

    assert webhook_delivery.deliver(delivery_id=delivery.pk, attempt=0) == Outcome.FAILED

    assert resolver.answers == [resolver.PUBLIC, resolver.PUBLIC, "127.0.0.1"]
    assert receiver.received == []  # no request reached the local receiver
    assert loopback_only == []  # no connection was even opened
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "refused at connect time: rebind.orderly.test now resolves to 127.0.0.1" in (
        delivery.last_error
    )
    [attempt] = delivery.attempts_log.all()
    assert attempt.status_code is None and "refused at connect time" in attempt.error


def test_the_rebinding_receiver_is_reachable_when_loopback_is_allow_listed(
    receiver, monkeypatch, loopback_only, settings
):
    """The control for the test above: the same lookups do reach the receiver when allowed."""
    settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    resolver, delivery = rebinding_delivery(receiver, monkeypatch)

    assert webhook_delivery.deliver(delivery_id=delivery.pk, attempt=0) == Outcome.SUCCEEDED

    assert resolver.answers == [resolver.PUBLIC, resolver.PUBLIC, "127.0.0.1"]
    assert len(receiver.received) == 1 and loopback_only == ["127.0.0.1"]
    assert receiver.received[0].headers["host"] == f"{resolver.NAME}:{receiver.port}"


def test_https_connections_are_pinned_keeping_the_host_name_for_sni_and_certificates(
    monkeypatch,
):
    """requests-hardened's pinning, as the session's adapter does it (nothing connects)."""
    real_getaddrinfo = socket.getaddrinfo

    def public(host, *args, **kwargs):
        if host == "hooks.example.com":
            return real_getaddrinfo("93.184.216.34", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", public)
    adapter = safe_http.webhook_session().get_adapter("https://hooks.example.com/in")
    request = requests.Request("POST", "https://hooks.example.com/in?a=1").prepare()

    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, True)

    assert isinstance(adapter, safe_http.RegistryFilterAdapter)
    assert host_params["host"] == "93.184.216.34"
    assert pool_kwargs["server_hostname"] == "hooks.example.com"
    assert pool_kwargs["assert_hostname"] == "hooks.example.com"
    assert request.headers["Host"] == "hooks.example.com"
