"""The dead-letter list links each row to its order with a fixed number of queries."""

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jobs.models import DeadLetter
from tests.factories import ProductFactory, create_order


def make_letters(count, *, reference):
    now = timezone.now()
    DeadLetter.objects.bulk_create(
        DeadLetter(
            task_name="orders.charge_payment",
            task_id=uuid.uuid4().hex,
            queue="payments",
            exception_class="jobs.errors.TemporaryError",
            first_failed_at=now,
            last_failed_at=now,
            reference=reference(index),
        )
        for index in range(count)
    )


def list_page(admin_client):
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(reverse("admin:jobs_deadletter_changelist"))
    assert page.status_code == 200
    return page.content.decode(), len(queries)


def test_dead_letter_list_links_every_order_with_the_same_queries_for_2_or_40_rows(admin_client):
    product = ProductFactory()
    orders = [create_order({product: 1}) for _ in range(2)]
    make_letters(2, reference=lambda i: f"order:{orders[i].public_id}")
    small_page, small_queries = list_page(admin_client)

    make_letters(38, reference=lambda i: f"order:{orders[i % 2].public_id}")
    make_letters(1, reference=lambda i: "order:not-a-uuid")
    make_letters(1, reference=lambda i: f"order:{uuid.uuid4()}")  # the order is gone
    page, queries = list_page(admin_client)

    assert queries == small_queries
    for order in orders:
        url = reverse("admin:orders_order_change", args=[order.pk])
        assert f'<a href="{url}">{order}</a>' in page
        assert f'<a href="{url}">{order}</a>' in small_page
    assert "order:not-a-uuid" in page  # shown as text, not linked


def search(admin_client, term):
    page = admin_client.get(reverse("admin:jobs_deadletter_changelist"), {"q": term})
    assert page.status_code == 200
    return sorted(letter.reference for letter in page.context["cl"].result_list)


def test_search_by_order_uuid_reference_or_text_finds_the_same_letters(admin_client):
    first, second = uuid.uuid4(), uuid.uuid4()
    make_letters(2, reference=lambda i: f"order:{first}")
    make_letters(1, reference=lambda i: f"order:{second}")

    assert search(admin_client, str(first)) == [f"order:{first}"] * 2
    assert search(admin_client, f"order:{second}") == [f"order:{second}"]
    assert search(admin_client, str(second)[:8]) == [f"order:{second}"]  # text: substring
    letter = DeadLetter.objects.filter(reference=f"order:{second}").get()
    assert search(admin_client, letter.task_id) == [f"order:{second}"]
