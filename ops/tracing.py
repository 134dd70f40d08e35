"""OpenTelemetry traces: one trace per order, across the outbox.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then spans go over OTLP/HTTP
to that endpoint (Jaeger, an OpenTelemetry Collector ...), named by
OTEL_SERVICE_NAME. Django requests, Celery publishes and task runs, outgoing
`requests` calls and psycopg queries are instrumented by the OpenTelemetry
contrib instrumentors.

Celery's instrumentation carries the trace from publisher to worker only
when the publish happens inside the trace. Orderly publishes through the
outbox, sometimes later and from another process (the relay, run by beat).
So each outbox row stores the W3C `traceparent` of the transaction that
wrote it, and publishing the row runs inside that context: the relay's
publish continues the checkout's trace, and stage 2, written by the
payment's transaction, continues the payment's trace. A malformed
traceparent is ignored (a new trace starts; the work is published anyway).
"""

import logging
from contextlib import contextmanager

from django.conf import settings

logger = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
_instrumentors: list = []


def tracing_configured() -> bool:
    return bool(settings.OTEL_EXPORTER_OTLP_ENDPOINT)


def current_traceparent() -> str:
    """The active span's W3C traceparent, or "" outside a sampled trace."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get(TRACEPARENT, "")


@contextmanager
def continued_trace(traceparent: str):
    """Run the block inside the trace `traceparent` names; a bad one is ignored."""
    from opentelemetry import context, trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = TraceContextTextMapPropagator().extract({TRACEPARENT: traceparent or ""})
    if not trace.get_current_span(parent).get_span_context().is_valid:
        if traceparent:
            logger.info("ignoring a malformed traceparent %r", traceparent[:100])
        yield
        return
    token = context.attach(parent)
    try:
        yield
    finally:
        context.detach(token)


def publish_in_row_trace(message):
    """jobs.services publish hook: publish an outbox row inside the trace that wrote it."""
    return continued_trace(message.traceparent)


def stamp_traceparent(sender=None, instance=None, **kwargs):
    """pre_save of OutboxMessage: remember the trace of the transaction writing the row."""
    if instance._state.adding and not instance.traceparent:
        instance.traceparent = current_traceparent()


def instrument(*, span_processor=None) -> None:
    """Install a tracer provider, the instrumentors and the outbox hooks (once per process).

    `span_processor` is for tests (an in-memory exporter); by default spans
    are batched to the OTLP endpoint. Celery's prefork pool processes inherit
    all of it: the SDK's batch processor restarts its export thread after a fork.
    """
    from celery import current_app as celery_app
    from django.db.models.signals import pre_save
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from jobs.models import OutboxMessage
    from jobs.services.outbox import set_publish_context

    if _instrumentors:
        return
    if span_processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        span_processor = BatchSpanProcessor(OTLPSpanExporter())
    resource = Resource.create({"service.name": settings.OTEL_SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(span_processor)
    trace.set_tracer_provider(provider)
    # The Celery instrumentor finds tasks by name in the registry; a task not
    # imported yet would leave its publish span open for good. (Safe inside
    # AppConfig.ready(): it only imports each app's tasks module.)
    celery_app.autodiscover_tasks(force=True)
    for instrumentor in (
        DjangoInstrumentor(),
        CeleryInstrumentor(),
        RequestsInstrumentor(),
        PsycopgInstrumentor(),
    ):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
            _instrumentors.append(instrumentor)
    pre_save.connect(stamp_traceparent, sender=OutboxMessage, dispatch_uid="orderly-traceparent")
    set_publish_context(publish_in_row_trace)


def uninstrument() -> None:
    from contextlib import nullcontext

    from django.db.models.signals import pre_save

    from jobs.models import OutboxMessage
    from jobs.services.outbox import set_publish_context

    while _instrumentors:
        _instrumentors.pop().uninstrument()
    pre_save.disconnect(sender=OutboxMessage, dispatch_uid="orderly-traceparent")
    set_publish_context(nullcontext)


def install() -> None:
    """Trace when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise cost nothing.

    Called from AppConfig.ready(), before Django loads its middleware.
    """
    if tracing_configured():
        instrument()
