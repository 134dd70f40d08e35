"""/metrics: application gauges in Prometheus format, for a bearer token or staff."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from jobs.models import DeadLetter, OutboxMessage


def samples(response) -> dict[str, float]:
    """Sample name -> value, summed over label sets."""
    text = response.content.decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0) + sample.value
    return values


def labelled(response, name: str) -> dict[tuple, float]:
    text = response.content.decode()
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


@pytest.fixture
def backlog(db):
    now = timezone.now()
    rows = [
        ("open", "orders.charge_payment", "jobs.errors.PermanentError"),
        ("open", "orders.charge_payment", "jobs.errors.PermanentError"),
        ("open", "ada@example.com", "builtins.RuntimeError"),
        ("resolved", "orders.charge_payment", "builtins.RuntimeError"),
    ]
    for index, (status, task_name, exception_class) in enumerate(rows):
        DeadLetter.objects.create(
            task_name=task_name,
            task_id=f"task-{index}",
            sealed_arguments="x",
            exception_class=exception_class,
            first_failed_at=now,
            last_failed_at=now,
            status=status,
        )
    OutboxMessage.objects.create(signature={"task": "a"})
    OutboxMessage.objects.create(signature={"task": "b"}, sent_at=now)


def test_metrics_with_the_bearer_token_count_open_dead_letters_and_unsent_outbox(
    client, settings, backlog
):
    settings.ORDERLY_METRICS_TOKEN = "scrape-secret"
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    values = samples(response)
    assert values["orderly_dead_letters_open"] == 3
    assert values["orderly_outbox_unsent"] == 1
    assert values["orderly_outbox_oldest_unsent_age_seconds"] >= 0


def test_open_dead_letters_are_labelled_by_task_and_exception_with_unknown_tasks_as_other(
    client, settings, backlog
):
    settings.ORDERLY_METRICS_TOKEN = "scrape-secret"
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert labelled(response, "orderly_dead_letters_open") == {
        (("exception", "jobs.errors.PermanentError"), ("task", "orders.charge_payment")): 2,
        (("exception", "builtins.RuntimeError"), ("task", "other")): 1,
    }
    assert b"ada@example.com" not in response.content


def test_metrics_are_refused_without_token_or_with_a_wrong_one(client, settings, backlog):
    settings.ORDERLY_METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401


def test_metrics_are_refused_for_every_token_when_none_is_configured(client, settings, backlog):
    settings.ORDERLY_METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_metrics_are_open_to_staff_and_closed_to_customers(client, backlog):
    customer = get_user_model().objects.create_user(
        username="ada", email="ada@example.com", password="x"
    )
    client.force_login(customer)
    assert client.get("/metrics").status_code == 401
    staff = get_user_model().objects.create_user(
        username="grace", email="grace@example.com", is_staff=True
    )
    client.force_login(staff)
    assert client.get("/metrics").status_code == 200


def test_admin_index_links_to_flower(admin_client, settings):
    settings.FLOWER_URL = "http://flower.internal:5555"
    response = admin_client.get("/admin/")
    assert b'href="http://flower.internal:5555"' in response.content
