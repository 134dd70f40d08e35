"""RabbitMQ: the queue declarations for each queue type, broker nodes, and delayed routing keys.

Pure kombu, no Django: project/settings.py builds CELERY_TASK_QUEUES with it.

- classic: what Orderly always declared, `Queue(name, routing_key=name)` on
  a direct exchange of the queue's name. Celery holds a countdown's message
  in the worker (unacknowledged) until it is due.
- quorum: replicated queues (Raft) for a cluster, bound to one topic
  exchange. Celery then sends countdowns through RabbitMQ's own delay
  queues (native delayed delivery): it needs a topic (or fanout) exchange,
  and jobs.checks refuses a quorum queue on a direct exchange.
"""

from urllib.parse import urlsplit

from kombu import Exchange, Queue
from kombu.transport.native_delayed_delivery import _delay_prefix_re

QUEUE_TYPES = ("classic", "quorum")
# The exchange every quorum queue is bound to, by its own name as routing key.
TOPIC_EXCHANGE = "orderly"
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")


def is_amqp(broker_url: str) -> bool:
    return urlsplit(broker_nodes(broker_url)[0] if broker_url else "").scheme in AMQP_SCHEMES


def broker_nodes(broker_url: str) -> list[str]:
    """The URLs of a failover list (kombu's `url1;url2;...`), in the order kombu tries them."""
    return [url.strip() for url in broker_url.split(";") if url.strip()]


def task_queues(names, queue_type: str) -> tuple[Queue, ...]:
    """Orderly's queues, declared for this RabbitMQ queue type (classic is also Redis's)."""
    if queue_type == "quorum":
        exchange = Exchange(TOPIC_EXCHANGE, type="topic", durable=True)
        return tuple(
            Queue(name, exchange, routing_key=name, queue_arguments={"x-queue-type": "quorum"})
            for name in names
        )
    return tuple(Queue(name, routing_key=name) for name in names)


def queue_of_delivery(delivery_info: dict | None) -> str:
    """The queue a message was routed to, by its routing key.

    Native delayed delivery prefixes the routing key of a countdown's message
    with the delay in binary (`0.1.1. ... .payments`); the queue is what follows.
    """
    return _delay_prefix_re.sub("", (delivery_info or {}).get("routing_key") or "", count=1)


def uses_native_delayed_delivery(app) -> bool:
    """Celery sends this app's countdowns through RabbitMQ's delay queues (quorum queues)."""
    return is_amqp(app.conf.broker_url or "") and any(
        (queue.queue_arguments or {}).get("x-queue-type") == "quorum"
        for queue in app.amqp.queues.values()
    )
