"""Structured logs: each line says which task, queue, order and trace it belongs to.

ORDERLY_LOG_FORMAT=json turns every log line (web, workers, beat) into one
JSON object with `task_id`, `task_name`, `queue`, `reference` (the business
object, e.g. "order:<uuid>") and `trace_id` beside the message. The context
is set by Celery's task_prerun signal in the pool process running the task;
the reference is resolved once, on the task's first log line, since it can
cost a query.
"""

import logging
from contextvars import ContextVar

from django.conf import settings

from jobs.rabbitmq import queue_of_delivery

CONTEXT_FIELDS = ("task_id", "task_name", "queue", "reference", "trace_id")
_current_task: ContextVar[dict | None] = ContextVar("orderly_log_task", default=None)


def trace_id() -> str:
    """The active OpenTelemetry trace id (32 hex digits), or "" without one."""
    try:
        from opentelemetry import trace
    except ImportError:
        return ""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


def _reference(state: dict) -> str:
    if "reference" not in state:
        task, args = state.pop("task"), state.pop("args")
        resolve = getattr(task, "business_reference", None)
        state["reference"] = resolve(args) if resolve else ""
    return state["reference"]


class ContextFilter(logging.Filter):
    """Add the running task's ids and the trace id to every record (never drops one)."""

    def filter(self, record):
        state = _current_task.get()
        record.task_id = state["task_id"] if state else ""
        record.task_name = state["task_name"] if state else ""
        record.queue = state["queue"] if state else ""
        record.reference = ""
        if state:
            try:
                record.reference = _reference(state)
            except Exception:  # a log line must never fail over its context
                state["reference"] = ""
        record.trace_id = trace_id()
        return True


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def use_configured_format(logger: logging.Logger) -> None:
    """Give the handlers Celery set up on `logger` the JSON format, when it is asked for."""
    if settings.ORDERLY_LOG_FORMAT != "json":
        return
    for handler in logger.handlers:
        handler.setFormatter(json_formatter())
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())


def on_prerun(task_id=None, task=None, args=None, **kwargs):
    delivery_info = getattr(task.request, "delivery_info", None) or {}
    _current_task.set(
        {
            "task_id": task_id or "",
            "task_name": task.name,
            "queue": queue_of_delivery(delivery_info),
            "task": task,
            "args": args or (),
        }
    )


def on_postrun(**kwargs):
    _current_task.set(None)


def install() -> None:
    from celery import signals

    signals.task_prerun.connect(on_prerun, dispatch_uid="orderly-log-context-prerun")
    signals.task_postrun.connect(on_postrun, dispatch_uid="orderly-log-context-postrun")
