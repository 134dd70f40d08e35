"""SSRF protection for webhook URLs: a check when an endpoint is saved, and at connect time.

A webhook URL is chosen by whoever can add an endpoint, so the server must
not be turned into a proxy into its own network. Two checks, one policy
(special_addresses: every IANA special-purpose block, embedded IPv4
addresses, Python's flags as a second opinion; ORDERLY_WEBHOOK_ALLOWED_HOSTS
exempts):

- `check_url`, when an endpoint is saved and before every send, resolves the
  host and refuses the URL if *any* address is refused, with a reason the
  operator can act on.
- `post` connects through requests-hardened (Saleor's hardened `requests`):
  its adapter resolves the host again when it picks the connection, refuses
  what its own filter knows, and pins the connection to that one address,
  keeping the Host header and, for https, the original name for SNI and the
  certificate check. `RegistryFilterAdapter` then checks the address that
  is actually connected to against the same policy. A name that resolves
  to a public address when checked and to a private one a moment later
  (DNS rebinding) is refused there, before any socket opens.

Redirects are never followed, and no environment proxy is used (a proxy
would resolve the name itself).
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests_hardened import Config, Manager
from requests_hardened.ip_filter import InvalidIPAddress, filter_host
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from .special_addresses import IPAddress, refusal

DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "Orderly-Webhooks/1"


class UnsafeWebhookURL(ValueError):
    """A URL webhooks must not be sent to; the message says why, for the operator."""


class RefusedAtConnect(requests.RequestException):
    """The address about to be connected to is refused (no socket was opened).

    A RequestException, as requests-hardened's own refusal is: requests turns
    a ValueError raised while it picks the connection into InvalidURL.
    """


class HostLookupFailed(OSError):
    """The URL's host did not resolve (may pass: retried at send time)."""


@dataclass(frozen=True)
class CheckedURL:
    url: str
    scheme: str
    hostname: str
    port: int
    address: str  # the first resolved address (all of them were checked)


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


def _allow_listed(hostname: str, address: IPAddress) -> bool:
    hosts, networks = _allow_list()
    return hostname in hosts or any(address in network for network in networks)


def _refused_by_requests_hardened(address: IPAddress) -> bool:
    """Whether requests-hardened's own connect-time filter refuses `address`.

    The allow-list cannot lift that filter, except for loopback (the session
    sets ip_filter_allow_loopback_ips), so an allow-listed address it
    refuses is refused at save time too, not only when a delivery fails.
    """
    try:
        filter_host(str(address), 0, allow_loopback=True)  # an IP literal: no DNS query
    except InvalidIPAddress:
        return True
    return False


def address_refusal(hostname: str, address: IPAddress) -> str | None:
    """Why `hostname` at `address` may not get webhooks (a phrase after "is"), or None."""
    if _allow_listed(hostname, address):
        if _refused_by_requests_hardened(address):
            return (
                "allow-listed, but a private address, which requests-hardened refuses at "
                "connect time (only loopback and public addresses can be allow-listed)"
            )
        return None
    return refusal(address)


def _ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])  # no brackets, no zone id


def resolve(hostname: str, port: int) -> list[str]:
    """Every address `hostname` resolves to (IP literals, decimal forms included)."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostLookupFailed(f"could not resolve {hostname}: {exc}") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: str) -> CheckedURL:
    """Resolve `url`'s host and refuse it unless every address is allowed.

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
    for text in addresses:
        reason = address_refusal(hostname, _ip(text))
        if reason:
            subject = hostname if hostname == text else f"{hostname} resolves to {text}, which"
            raise UnsafeWebhookURL(
                f"refusing {url}: {subject} is {reason}; webhooks only go to public addresses"
            )
    return CheckedURL(url=url, scheme=scheme, hostname=hostname, port=port, address=addresses[0])


def _refuse_at_connect(hostname: str, address: IPAddress) -> None:
    reason = address_refusal(hostname, address)
    if reason:
        subject = hostname if _is_literal(hostname) else f"{hostname} now resolves to {address}"
        raise RefusedAtConnect(
            f"refused at connect time: {subject}, which is {reason}; "
            "webhooks only go to public addresses"
        )


def _is_literal(hostname: str) -> bool:
    try:
        _ip(hostname)
    except ValueError:
        return False
    return True


class RegistryFilterAdapter(IPFilterAdapter):
    """requests-hardened's connect-time filter, with Orderly's address policy on top.

    requests-hardened chooses the connection pool here: it resolves the host,
    refuses what its own filter refuses (private and multicast ranges and a
    few more; loopback is left to the allow-list), and pins the pool to the
    resolved address with the original Host header, SNI name and certificate
    check. This adapter refuses an IP literal before that lookup and the
    pinned address after it, so the address connected to is always one the
    policy allows. Nothing here opens a socket.
    """

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        hostname = (urlsplit(request.url).hostname or "").lower()
        if _is_literal(hostname):
            _refuse_at_connect(hostname, _ip(hostname))
        try:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(
                request, verify, cert
            )
        except InvalidIPAddress as exc:
            raise RefusedAtConnect(
                f"refused at connect time: {hostname} resolves to {exc}, which "
                "requests-hardened refuses (a private address); "
                "webhooks only go to public addresses"
            ) from exc
        _refuse_at_connect(hostname, _ip(host_params["host"]))
        return host_params, pool_kwargs


def webhook_session() -> requests.Session:
    """A requests-hardened session whose every connection passes RegistryFilterAdapter."""
    manager = Manager(
        Config(
            ip_filter_enable=True,
            # Loopback is decided by the allow-list (RegistryFilterAdapter), not here.
            ip_filter_allow_loopback_ips=True,
            never_redirect=True,
            default_timeout=settings.ORDERLY_WEBHOOK_TIMEOUT,
            user_agent_override=USER_AGENT,
        )
    )
    session = manager.get_session()
    session.trust_env = False  # an environment proxy would resolve the name itself
    # Replaces the IPFilterAdapter requests-hardened mounted, with the same settings.
    session.mount("http://", RegistryFilterAdapter(is_https_proto=False, allow_loopback=True))
    session.mount("https://", RegistryFilterAdapter(is_https_proto=True, allow_loopback=True))
    return session


def post(checked: CheckedURL, *, body: bytes, headers: dict, timeout) -> requests.Response:
    """POST to the checked URL; redirects are returned, not followed.

    Raises RefusedAtConnect when the address it would connect to is refused,
    and requests' own exceptions for network errors.
    """
    with webhook_session() as session:
        return session.post(
            checked.url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
