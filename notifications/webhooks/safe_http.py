"""SSRF protection for webhook URLs, and a POST that connects to the checked address.

A webhook URL is chosen by whoever can add an endpoint, so the server must
not be turned into a proxy into its own network. `check_url` resolves the
host once and refuses any address that is not public; `post` then connects
to exactly that address (no second DNS lookup an attacker could answer
differently), keeping the original Host header and, for https, the original
name for SNI and certificate checks. Redirects are never followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeWebhookURL(ValueError):
    """A URL webhooks must not be sent to; the message says why, for the operator."""


class HostLookupFailed(OSError):
    """The URL's host did not resolve (may pass: retried at send time)."""


@dataclass(frozen=True)
class CheckedURL:
    url: str
    scheme: str
    hostname: str
    port: int
    address: str  # the resolved, checked IP to connect to


def forbidden_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a webhook may not go to `address`, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        reason = forbidden_reason(address.ipv4_mapped)
        return f"IPv4-mapped {reason}" if reason else None
    if address in METADATA_ADDRESSES:
        return "cloud metadata address"
    checks = [
        ("is_unspecified", "unspecified address"),
        ("is_loopback", "loopback address"),
        ("is_link_local", "link-local address"),
        ("is_multicast", "multicast address"),
        ("is_reserved", "reserved address"),
        ("is_private", "private address"),
    ]
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if address in CARRIER_GRADE_NAT:
        return "carrier-grade NAT address"
    if not address.is_global:
        return "non-public address"
    return None


def _article(noun: str) -> str:
    return "an" if noun[0].lower() in "aeiou" else "a"


def _allow_list():
    hosts, networks = set(), []
    for entry in settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(entry)
    return hosts, networks


def resolve(hostname: str, port: int) -> list[str]:
    """Every address `hostname` resolves to (IP literals, decimal forms included)."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostLookupFailed(f"could not resolve {hostname}: {exc}") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: str) -> CheckedURL:
    """Resolve `url`'s host and refuse it unless every address is public (or allow-listed).

    Raises UnsafeWebhookURL (with a message for the operator) or
    HostLookupFailed. Used when an endpoint is saved and before every send.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeWebhookURL(f"{url!r} is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeWebhookURL(f"only http and https URLs are allowed, not {scheme or 'none'!r}")
    hostname = (parts.hostname or "").lower()
    if not hostname:
        raise UnsafeWebhookURL(f"{url!r} has no host")
    port = port or DEFAULT_PORTS[scheme]
    addresses = resolve(hostname, port)
    allowed_hosts, allowed_networks = _allow_list()
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        if hostname in allowed_hosts or any(address in net for net in allowed_networks):
            continue
        reason = forbidden_reason(address)
        if reason:
            subject = hostname if hostname == text else f"{hostname} resolves to {text}, which"
            raise UnsafeWebhookURL(
                f"refusing {url}: {subject} is {_article(reason)} {reason}; "
                "webhooks only go to public addresses"
            )
    return CheckedURL(url=url, scheme=scheme, hostname=hostname, port=port, address=addresses[0])


class PinnedHostAdapter(HTTPAdapter):
    """Connects to an IP literal URL while TLS uses the original host name (SNI, cert check)."""

    def __init__(self, *, hostname: str, **kwargs):
        self.hostname = hostname
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        # urllib3 drops these for plain http pools.
        pool_kwargs["server_hostname"] = self.hostname
        pool_kwargs["assert_hostname"] = self.hostname
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


def pinned_url(checked: CheckedURL) -> str:
    """`checked.url` with its host replaced by the checked address."""
    parts = urlsplit(checked.url)
    host = f"[{checked.address}]" if ":" in checked.address else checked.address
    return urlunsplit(
        (checked.scheme, f"{host}:{checked.port}", parts.path or "/", parts.query, "")
    )


def post(checked: CheckedURL, *, body: bytes, headers: dict, timeout) -> requests.Response:
    """POST to the checked address; redirects are returned, not followed."""
    host_header = checked.hostname
    if ":" in host_header:
        host_header = f"[{host_header}]"
    if checked.port != DEFAULT_PORTS[checked.scheme]:
        host_header = f"{host_header}:{checked.port}"
    with requests.Session() as session:
        session.trust_env = False  # an environment proxy would resolve the name again
        session.mount(f"{checked.scheme}://", PinnedHostAdapter(hostname=checked.hostname))
        return session.post(
            pinned_url(checked),
            data=body,
            headers={**headers, "Host": host_header, "User-Agent": "Orderly-Webhooks/1"},
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
