from decimal import Decimal

import boto3
import pytest
from aiosmtpd.controller import Controller
from moto.server import ThreadedMotoServer
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ops import tracing
from tests.chaos.conftest import private_redis  # noqa: F401 (a Redis of the test's own)
from tests.factories import ProductFactory, create_order
from tests.processes import free_port


@pytest.fixture
def paid_order(db):
    dripper = ProductFactory(name="Pour-over dripper", sku="BRE-007", price=Decimal("24.00"))
    return create_order({dripper: 2})


# --- Traces: OpenTelemetry's in-memory exporter ---------------------------------------

# One per process: OpenTelemetry sets its global tracer provider once and
# refuses another ("Overriding of current TracerProvider is not allowed"), so
# every module that traces reuses the first provider and this exporter.
SPANS = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans():
    tracing.instrument(span_processor=SimpleSpanProcessor(SPANS))
    SPANS.clear()
    yield SPANS
    tracing.uninstrument()


# --- S3: a real S3-protocol server (moto) on a free port ------------------------------

S3_CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="session")
def s3_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, settings):
    """A fresh bucket on the moto server, and default storage pointed at it."""
    name = f"orderly-{free_port()}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=S3_CREDENTIALS["access_key"],
        aws_secret_access_key=S3_CREDENTIALS["secret_key"],
        region_name=S3_CREDENTIALS["region_name"],
    )
    client.create_bucket(Bucket=name)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_server,
                **S3_CREDENTIALS,
                "addressing_style": "path",
                "default_acl": None,
                "querystring_auth": True,
                "signature_version": "s3v4",
                "file_overwrite": True,
            },
        },
    }
    return client, name


# --- SMTP: a real SMTP server (aiosmtpd) on a free port -------------------------------


class CollectingHandler:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """An SMTP server collecting what it receives; the e-mail backend sends to it."""
    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


@pytest.fixture(autouse=True)
def fresh_worker_facts():
    """Each test asks the workers afresh: facts another test cached predate its workers."""
    from ops.worker_facts import cache

    cache.forget()
    yield
    cache.forget()
