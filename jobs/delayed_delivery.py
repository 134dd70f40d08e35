"""Native delayed delivery set up once per cluster, not once per node of the broker URL.

Celery's DelayedDelivery consumer step declares the delay exchanges and
queues, and binds Orderly's queues to them, at every (re)connection, on
every URL of `broker_url` in turn, each with three retries 1, 3 and 5 s
apart. A cluster's nodes share that topology, but Celery takes the failover
list for separate brokers: with one node dead, each reconnect after losing a
node spent about 17 s retrying the dead one before the worker consumed again
(measured in tests/chaos/test_rabbitmq_cluster.py). This step declares on
the node the worker is connected to, else the next node that answers, once
each, and stops at the first success. Used with quorum queues only
(CELERY_WORKER_CONSUMER in project/settings.py).
"""

import logging
from urllib.parse import urlsplit

from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.consumer.delayed_delivery import DelayedDelivery
from kombu.utils.url import maybe_sanitize_url

from .rabbitmq import broker_nodes

logger = logging.getLogger(__name__)


def _address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5672}"


class ClusterDelayedDelivery(DelayedDelivery):
    def start(self, c) -> None:
        nodes = broker_nodes(c.app.conf.broker_url or "")
        if len(nodes) < 2:
            super().start(c)
            return
        self._validate_configuration(c.app)
        connected = getattr(c.connection, "host", "") or ""
        nodes.sort(key=lambda url: _address(url) != connected)  # the connected node first
        for url in nodes:
            try:
                self._setup_delayed_delivery(c, url)
            except Exception as error:  # refused, timed out: the next node may answer
                logger.warning(
                    "Native delayed delivery not set up on %s (%s); trying the next node",
                    maybe_sanitize_url(url),
                    error,
                )
                continue
            return
        logger.critical(
            "Native delayed delivery could not be set up on any broker node: countdown "
            "retries rely on what an earlier start declared (it persists in the cluster)."
        )


class Consumer(CeleryConsumer):
    class Blueprint(CeleryConsumer.Blueprint):
        default_steps = [
            "jobs.delayed_delivery:ClusterDelayedDelivery"
            if step.endswith(":DelayedDelivery")
            else step
            for step in CeleryConsumer.Blueprint.default_steps
        ]
