"""Queue depth and the oldest message's age, read from Redis and from RabbitMQ without taking it."""

import time
import uuid

import pytest
from kombu import Exchange, Queue

from ops.queues import queue_states
from project.celery import app as celery_app

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def broker_answers(url: str) -> bool:
    try:
        with celery_app.connection_for_write(url=url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception:
        return False
    return True


@pytest.fixture(params=["test broker", "rabbitmq"])
def broker_url(request):
    url = celery_app.conf.broker_url if request.param == "test broker" else RABBITMQ_URL
    if not broker_answers(url):
        pytest.skip(f"needs a broker answering at {url}")
    return url


def test_depth_and_oldest_age_come_from_the_publish_header_and_leave_the_messages(broker_url):
    name = f"orderly-test-age-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name), routing_key=name, auto_delete=False)
    with celery_app.connection_for_write(url=broker_url) as conn:
        for _ in range(2):  # a queue nobody consumes; the publish stamps the header
            result = celery_app.send_task("jobs.relay_outbox", queue=queue, connection=conn)
        time.sleep(1.1)
        try:
            first = queue_states(broker_url=broker_url, queues=[name])[name]
            again = queue_states(broker_url=broker_url, queues=[name])[name]
        finally:
            conn.default_channel.queue_delete(name)
    assert result.id
    assert first.depth == 2 and again.depth == 2  # reading took nothing away
    assert 1.0 <= first.oldest_age_seconds < 60
    assert again.oldest_age_seconds >= first.oldest_age_seconds


def test_an_empty_queue_is_zero_deep_and_zero_old(broker_url):
    name = f"orderly-test-empty-{uuid.uuid4().hex[:8]}"
    with celery_app.connection_for_write(url=broker_url) as conn:
        Queue(name, Exchange(name), routing_key=name)(conn.default_channel).declare()
        try:
            state = queue_states(broker_url=broker_url, queues=[name])[name]
        finally:
            conn.default_channel.queue_delete(name)
    assert (state.depth, state.oldest_age_seconds) == (0, 0.0)
