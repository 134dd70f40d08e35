"""A real local HTTP receiver for webhook tests, a loopback-only guard, the signature check."""

import ipaddress
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3.util.connection
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Records every request; answers with queued responses, then with the default."""

    def __init__(self):
        self.received: list[Received] = []
        self.responses: deque[tuple[int, dict]] = deque()
        self.default: tuple[int, dict] = (200, {})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def respond(self, *responses: int | tuple[int, dict]) -> None:
        """Queue answers for the next requests: a status or (status, headers)."""
        for response in responses:
            self.responses.append(response if isinstance(response, tuple) else (response, {}))

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.received.append(Received(self.path, headers, body))
                status, extra = (
                    receiver.responses.popleft() if receiver.responses else receiver.default
                )
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def standard_webhooks_verify(*, secret: str, headers, body: bytes) -> bool:
    """What a receiver checks, by the Standard Webhooks reference package (`standardwebhooks`)."""
    try:
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError:
        return False
    return True


@pytest.fixture
def loopback_only(monkeypatch):
    """HTTP connections (urllib3's) to anything but loopback fail, and are recorded.

    SSRF tests name public and special-purpose addresses; should a check let
    one through, the test fails here instead of sending traffic off the machine.
    """
    attempts: list[str] = []
    real_create_connection = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        host = address[0]
        attempts.append(host)
        if not ipaddress.ip_address(host.strip("[]")).is_loopback:
            raise OSError(f"test guard: no connection to {host} (loopback only)")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return attempts
