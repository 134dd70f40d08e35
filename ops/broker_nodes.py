"""The nodes of a broker URL that lists several (a RabbitMQ cluster): which of them answer.

kombu takes `amqp://node1//;amqp://node2//;...` and fails over in that order,
so a dead node costs nothing until the last one goes; nothing tells anyone
that the cluster is down to its last node. /readyz asks every node (in
parallel, one try each) and fails naming those that do not answer; web and
worker start-up logs say which nodes there are, which answered and which one
the worker is connected to.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from celery import current_app as celery_app
from django.conf import settings
from kombu.utils.url import maybe_sanitize_url

from jobs.rabbitmq import broker_nodes

from .worker_facts import broker_connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeAnswer:
    node: str  # the node's URL, password masked
    error: str = ""  # empty when it answered

    @property
    def ok(self) -> bool:
        return not self.error


def configured_broker_url() -> str:
    return settings.ORDERLY_READINESS_BROKER_URL or celery_app.conf.broker_url or ""


def ask_node(url: str, timeout: float) -> NodeAnswer:
    """Connect to this one node (no failover) and close again."""
    try:
        with broker_connection(url) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
    except Exception as error:  # refused, timed out, bad credentials ...
        return NodeAnswer(maybe_sanitize_url(url), f"{type(error).__name__}: {error}")
    return NodeAnswer(maybe_sanitize_url(url))


def ask_nodes(broker_url: str, timeout: float | None = None) -> list[NodeAnswer]:
    """Every node of the URL, in failover order, asked at the same time."""
    nodes = broker_nodes(broker_url)
    timeout = settings.ORDERLY_READINESS_TIMEOUT if timeout is None else timeout
    with ThreadPoolExecutor(max_workers=len(nodes) or 1) as pool:
        return list(pool.map(lambda url: ask_node(url, timeout), nodes))


def has_several_nodes(broker_url: str) -> bool:
    """A failover list of brokers; not Sentinel's `sentinel://a;sentinel://b` (one broker)."""
    nodes = broker_nodes(broker_url or "")
    return len(nodes) > 1 and not nodes[0].startswith("sentinel")


def summary(answers: list[NodeAnswer]) -> str:
    return ", ".join(
        f"{answer.node} ({'answered' if answer.ok else answer.error})" for answer in answers
    )


def log_nodes_at_web_start() -> None:
    """Log which broker nodes a web process found, in a thread (never delays start-up)."""
    url = configured_broker_url()
    if not has_several_nodes(url):
        return

    def ask_and_log():
        answers = ask_nodes(url)
        silent = [answer.node for answer in answers if not answer.ok]
        level = logging.WARNING if silent else logging.INFO
        logger.log(level, "Broker nodes, in failover order: %s", summary(answers))

    threading.Thread(target=ask_and_log, name="broker-nodes", daemon=True).start()


def log_connected_node(sender=None, **kwargs) -> None:
    """worker_ready: the node this worker consumes from, among the nodes it may try.

    The nodes it tried and could not reach before are in Celery's own
    "Cannot connect to <node>: ... Will retry using next failover" lines.
    """
    url = sender.app.conf.broker_url or ""
    if not has_several_nodes(url):
        return
    nodes = ", ".join(maybe_sanitize_url(node) for node in broker_nodes(url))
    logger.info(
        "Broker: connected to %s (nodes, in failover order: %s)",
        sender.connection.as_uri(),
        nodes,
    )
