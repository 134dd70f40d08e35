"""Unacknowledged messages come back in green-pool workers too (Redis broker).

A message a worker took but never acknowledged (the worker was killed) is
delivered again once it is older than the visibility timeout: kombu's Redis
transport sweeps its "unacked" index with `restore_visible`. Prefork workers
run that sweep on their event loop's timer every `unacked_restore_interval`
seconds. Green pools (gevent) use Celery's blocking `synloop` instead, where
kombu sweeps only after a poll that saw no event at all. An idle consumer's
BRPOP times out every second and counts as an event, so the sweep never
runs: the chaos test that kills a gevent payments worker mid-charge waited
forever for the redelivery. This consumer bootstep runs the sweep on the
worker's timer in green pools, at the same interval prefork uses.
"""

import logging

from celery import bootsteps

logger = logging.getLogger(__name__)


class RestoreUnackedMessages(bootsteps.StartStopStep):
    """In green-pool workers on Redis, sweep for unacknowledged messages on a timer."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, consumer, **kwargs):
        self.timer_entry = None
        super().__init__(consumer, **kwargs)

    def start(self, consumer):
        if not getattr(consumer.pool, "is_green", False):
            return  # prefork sweeps on its event loop
        channel = consumer.connection.default_channel
        # Only kombu's Redis channel keeps an unacked index; AMQP channels have
        # no `qos` object at all, and RabbitMQ redelivers by itself.
        restore_visible = getattr(getattr(channel, "qos", None), "restore_visible", None)
        if restore_visible is None:
            return

        def sweep():
            try:
                restore_visible(num=channel.unacked_restore_limit, interval=1)
            except Exception:  # the connection may be going away; next sweep retries
                logger.warning("could not restore unacknowledged messages", exc_info=True)

        self.timer_entry = consumer.timer.call_repeatedly(channel.unacked_restore_interval, sweep)

    def stop(self, consumer):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop
