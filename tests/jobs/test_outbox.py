"""The outbox against the real broker: what commits is published, what rolls back is not."""

import base64
import json

import pytest
import redis
from django.conf import settings
from django.db import transaction

from jobs.models import OutboxMessage
from jobs.services.outbox import publish_on_commit, relay_outbox
from notifications.tasks import send_welcome_email
from tests.helpers import wait_for


@pytest.fixture
def broker():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("inspects Redis lists; the broker under test is not Redis")
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("emails")
    yield client
    client.delete("emails")


def queued_tasks(broker, queue="emails"):
    """(task name, args) of each message waiting in a queue, decoded from its JSON body."""
    tasks = []
    for raw in broker.lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args))
    return tasks


@pytest.mark.django_db(transaction=True)
def test_committed_message_is_published_to_its_routed_queue_and_marked_sent(broker):
    with transaction.atomic():
        message = publish_on_commit(send_welcome_email.si(41), reference="user:41")
        assert broker.llen("emails") == 0  # nothing before commit

    assert queued_tasks(broker) == [("notifications.send_welcome_email", [41])]
    # Marked sent a moment later, in a batch, off the request path (jobs.services.sent_marks).
    wait_for(
        lambda: OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=False).exists(),
        timeout=10,
        what="the published row to be marked sent",
    )
    message.refresh_from_db()
    assert message.publish_attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_message_leaves_its_time_limits_to_the_worker(broker):
    """Celery would copy this process's limits into the message, where they beat the worker's.

    The worker's own (scaled, checked against its visibility timeout) must apply.
    """
    assert send_welcome_email.time_limit and send_welcome_email.soft_time_limit
    with transaction.atomic():
        publish_on_commit(send_welcome_email.si(43), reference="user:43")
    send_welcome_email.apply_async((44,), time_limit=7, soft_time_limit=5)  # said on purpose

    limits = [json.loads(raw)["headers"]["timelimit"] for raw in broker.lrange("emails", 0, -1)]
    # Redis lists take new messages on the left: the explicit call is first.
    assert limits == [[7, 5], [None, None]]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_publishes_nothing(broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_on_commit(send_welcome_email.si(42))
        raise RuntimeError("checkout failed")
    assert broker.llen("emails") == 0
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_relay_publishes_stranded_rows_once(broker):
    stranded = OutboxMessage.objects.create(signature=dict(send_welcome_email.si(43)))

    assert relay_outbox(grace_seconds=0) == 1
    assert relay_outbox(grace_seconds=0) == 0

    assert queued_tasks(broker) == [("notifications.send_welcome_email", [43])]
    stranded.refresh_from_db()
    assert stranded.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_relay_leaves_rows_younger_than_the_grace_period(broker):
    OutboxMessage.objects.create(signature=dict(send_welcome_email.si(44)))
    assert relay_outbox(grace_seconds=60) == 0
    assert broker.llen("emails") == 0


@pytest.mark.django_db(transaction=True)
def test_relay_drains_a_backlog_larger_than_one_batch_in_one_run(broker):
    OutboxMessage.objects.bulk_create(
        OutboxMessage(signature=dict(send_welcome_email.si(user_id))) for user_id in range(25)
    )

    assert relay_outbox(grace_seconds=0, batch_size=10) == 25

    assert sorted(args[0] for _name, args in queued_tasks(broker)) == list(range(25))
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
