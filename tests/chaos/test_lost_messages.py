"""Messages the broker lost after the outbox sent them: the database notices, and they run.

A failover to a Redis replica that missed the last writes, a flushed Redis
or a deleted queue loses messages the outbox already marked sent. Here they
are deleted from the (private) broker directly; the overdue sweep
(jobs.services.overdue) publishes them again and a real worker does the work
once. Without the sweep, nothing ever runs them.
"""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from django.db import transaction
from django.utils import timezone

from jobs.models import OutboxMessage, PausedQueue
from jobs.services.outbox import publish_on_commit
from jobs.services.overdue import overdue_after, republish_overdue_steps
from notifications.models import EmailLog
from orders import steps
from orders.models import Payment
from reports.models import Invoice
from tests.factories import ProductFactory, create_order
from tests.helpers import wait_for

pytestmark = pytest.mark.worker


def paid_order_whose_stage_two_was_lost(broker):
    """A paid order whose e-mail and invoice messages were sent, then lost by the broker."""
    order = create_order({ProductFactory(): 1})
    with transaction.atomic():
        publish_on_commit(steps.after_payment(order.pk), reference=f"order:{order.public_id}")
    wait_for(lambda: broker.llen("emails") and broker.llen("reports"), what="stage 2 in Redis")
    wait_for(
        lambda: not OutboxMessage.objects.filter(sent_at__isnull=True).exists(),
        what="the outbox row to be marked sent",
    )
    broker.delete("emails", "reports")  # what a failover to a stale replica does
    # Paid longer ago than any message could still be in a worker's hands.
    Payment.objects.filter(order=order).update(
        settled_at=timezone.now() - overdue_after() - timedelta(seconds=5)
    )
    return order


def test_lost_email_and_invoice_messages_are_published_again_and_run_once(chaos):
    broker = redis.Redis.from_url(chaos.redis.url)
    order = paid_order_whose_stage_two_was_lost(broker)
    worker = chaos.worker()

    time.sleep(3)  # the messages are gone: nothing happens by itself
    assert not EmailLog.objects.filter(order=order).exists()
    assert not Invoice.objects.filter(order=order).exists()

    assert republish_overdue_steps() == {"published again": 2}

    wait_for(
        lambda: (
            Invoice.objects.filter(order=order).exists()
            and EmailLog.objects.filter(order=order, kind=EmailLog.Kind.ORDER_CONFIRMATION).exists()
        ),
        timeout=60,
        what="the republished e-mail and invoice to run",
        diagnostics=worker.log_tail,
    )
    assert EmailLog.objects.filter(order=order).count() == 1
    assert republish_overdue_steps() == {}  # nothing is overdue any more


def test_a_step_whose_queue_has_messages_waiting_or_is_paused_is_left_alone(
    private_redis, transactional_db
):
    broker = redis.Redis.from_url(private_redis.url)
    order = paid_order_whose_stage_two_was_lost(broker)
    PausedQueue.objects.create(queue="reports")  # an operator holds the invoices
    broker.lpush("emails", b"{}")  # a backlog: the e-mail may be waiting behind it

    counts = republish_overdue_steps()

    assert counts == {"queue paused": 1, "queue has messages waiting": 1}
    assert broker.llen("emails") == 1 and broker.llen("reports") == 0
    assert not OutboxMessage.objects.filter(reference=f"order:{order.public_id}", sent_at=None)


def take_and_die(broker_url: str, queue: str) -> None:
    """A worker that takes a message from `queue` and dies before acknowledging it."""
    script = (
        "import os, sys\n"
        "from kombu import Connection\n"
        "channel = Connection(sys.argv[1]).channel()\n"
        "message = channel.basic_get(sys.argv[2], no_ack=False)\n"
        "os._exit(0 if message else 3)\n"
    )
    subprocess.run([sys.executable, "-c", script, broker_url, queue], check=True, timeout=60)


def test_a_step_whose_message_a_dead_worker_still_holds_is_left_alone(
    private_redis, transactional_db
):
    """Redis gives back a dead worker's message after the visibility timeout, counted from
    when the worker took it: a message that waited behind others comes back after the
    sweep's bound. It is not lost, so the sweep does not publish a second one."""
    broker = redis.Redis.from_url(private_redis.url)
    order = create_order({ProductFactory(): 1})
    with transaction.atomic():
        publish_on_commit(steps.after_payment(order.pk), reference=f"order:{order.public_id}")
    wait_for(lambda: broker.llen("emails") and broker.llen("reports"), what="stage 2 in Redis")
    take_and_die(private_redis.url, "emails")
    broker.delete("reports")  # lost for good
    assert broker.hlen("unacked") == 1 and broker.llen("emails") == 0
    Payment.objects.filter(order=order).update(
        settled_at=timezone.now() - overdue_after() - timedelta(seconds=5)
    )

    counts = republish_overdue_steps()

    assert counts == {"message held unacknowledged": 1, "published again": 1}
    assert broker.llen("emails") == 0 and broker.llen("reports") == 1
