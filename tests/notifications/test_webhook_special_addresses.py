"""Every block of the IANA special-purpose registries is refused, at save and at connect time.

The registries are vendored as CSV (notifications/webhooks/data/); this test
reads them on its own (not through the code under test) and, for each
block, tries its first, middle and last address.
"""

import csv
import ipaddress
from pathlib import Path

import pytest

from notifications.models import WebhookEndpoint
from notifications.services import webhooks
from notifications.webhooks import safe_http

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / "notifications" / "webhooks" / "data"
REGISTRIES = ("iana-ipv4-special-registry.csv", "iana-ipv6-special-registry.csv")
# The blocks issue 24 names; a transcription that lost one fails here.
EXPECTED_BLOCKS = {
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.0.0/29", "192.0.0.8/32", "192.0.0.9/32",
    "192.0.0.10/32", "192.0.0.170/32", "192.0.0.171/32", "192.0.2.0/24", "192.31.196.0/24",
    "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
    "::1/128", "::/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
    "100:0:0:1::/64", "2001::/23", "2001::/32", "2001:1::1/128", "2001:1::2/128",
    "2001:1::3/128", "2001:2::/48", "2001:3::/32", "2001:4:112::/48", "2001:10::/28",
    "2001:20::/28", "2001:30::/28", "2001:db8::/32", "2002::/16", "2620:4f:8000::/48",
    "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
}  # fmt: skip


def registry_blocks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    blocks = []
    for name in REGISTRIES:
        text = (DATA / name).read_text()
        assert text.startswith("#") and "Source: https://www.iana.org/assignments/" in text
        rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
        for row in rows:
            blocks += [ipaddress.ip_network(b.strip()) for b in row["Address Block"].split(",")]
    return blocks


BLOCKS = registry_blocks()


def sample_addresses(block) -> list[str]:
    """The block's first, middle and last address (one, for a /32 or /128)."""
    first, last = block.network_address, block.broadcast_address
    middle = first + block.num_addresses // 2
    return [str(address) for address in dict.fromkeys([first, middle, last])]


def url_for(address: str) -> str:
    return f"http://[{address}]/hook" if ":" in address else f"http://{address}/hook"


@pytest.fixture(autouse=True)
def no_allow_list(settings):
    settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS = []


def test_the_vendored_registries_hold_every_block_the_issue_names():
    assert {str(block) for block in BLOCKS} >= EXPECTED_BLOCKS


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_every_special_purpose_block_is_refused_when_an_endpoint_is_saved(block):
    for address in sample_addresses(block):
        with pytest.raises(safe_http.UnsafeWebhookURL, match="webhooks only go to public"):
            webhooks.create_endpoint(url=url_for(address), event_types=["order.paid"])
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_every_special_purpose_block_is_refused_at_connect_time(block, loopback_only):
    """Straight to the session, past the save-time check: the adapter refuses, nothing connects."""
    session = safe_http.webhook_session()
    for address in sample_addresses(block):
        with pytest.raises(safe_http.RefusedAtConnect, match="refused at connect time"):
            session.post(url_for(address), data=b"{}", timeout=(1, 1))
    assert loopback_only == []


@pytest.mark.parametrize(
    "address, embedded",
    [
        ("2002:a00:1::1", "10.0.0.1"),  # 6to4 (what Python 3.11.7 calls global)
        ("2002:c0a8:101::1", "192.168.1.1"),
        ("::ffff:10.1.2.3", "10.1.2.3"),  # IPv4-mapped
        ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64
        ("64:ff9b:1:a9fe:a9:fe00::", "169.254.169.254"),  # local-use NAT64, RFC 6052 /48 layout
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),  # Teredo client (obfuscated)
    ],
)
def test_an_ipv6_address_embedding_a_private_ipv4_address_is_refused_naming_it(address, embedded):
    with pytest.raises(safe_http.UnsafeWebhookURL) as refused:
        webhooks.create_endpoint(url=url_for(address), event_types=["order.paid"])

    assert f"address embedding {embedded}, which is" in str(refused.value)


def test_a_public_address_passes_both_checks_and_is_pinned(loopback_only):
    checked = safe_http.check_url("http://93.184.216.34/hook")
    session = safe_http.webhook_session()

    with pytest.raises(Exception, match="loopback only"):  # the guard, at the socket
        session.post(checked.url, data=b"{}", timeout=(1, 1))
    assert loopback_only == ["93.184.216.34"]
