"""The operator's console in a real browser: an order's timeline, triage, pausing a queue."""

import os
import re
import uuid

import pytest
import redis
from playwright.sync_api import expect

from jobs.models import DeadLetter
from orders.models import Order
from project.celery import app as celery_app
from tests.factories import ProductFactory
from tests.helpers import wait_for
from tests.worker_tasks import fails_until_fixed

from .test_shopper import add_to_cart, fill_checkout

pytestmark = pytest.mark.worker


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser(
        username="operator", email="ops@example.com", password="console-1"
    )


def log_in(page, operator):
    page.goto("/admin/")
    page.get_by_label("Username").fill(operator.username)
    page.get_by_label("Password").fill("console-1")
    page.get_by_role("button", name="Log in").click()


def place_order(page, product) -> Order:
    page.goto("/")
    add_to_cart(page, product)
    page.get_by_role("link", name=re.compile(r"Cart \(1\)")).click()
    page.get_by_role("link", name="Checkout").click()
    fill_checkout(page)
    expect(page.locator("#order-steps")).to_be_visible()
    return Order.objects.latest("pk")


def test_operator_finds_an_order_by_number_and_reads_its_timeline(page, worker, operator):
    order = place_order(page, ProductFactory(name="Moka pot"))
    expect(page.locator("#order-steps")).to_have_attribute("data-final", "true")

    log_in(page, operator)
    page.goto("/admin/orders/order/")
    page.locator("#searchbar").fill(order.number)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=order.number).click()

    timeline = page.locator("#order-timeline")
    expect(timeline).to_contain_text(f"Order {order.number} placed")
    expect(timeline).to_contain_text("Outbox")
    expect(timeline).to_contain_text("orders.charge_payment: succeeded")
    expect(timeline).to_contain_text("Payment succeeded")
    expect(timeline).to_contain_text("E-mail sent: Order confirmation")
    expect(timeline).to_contain_text("reports.generate_invoice_pdf: succeeded")
    flower = timeline.locator("tr", has_text="orders.charge_payment").get_by_role(
        "link", name="Flower"
    )
    expect(flower).to_have_attribute("href", re.compile(r"/task/[0-9a-f-]{36}$"))

    # The same order, found by the id of one of its tasks.
    task_id = flower.get_attribute("title")
    page.goto("/admin/orders/order/")
    page.locator("#searchbar").fill(task_id)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text(order.number)


def test_operator_triages_a_group_dry_runs_then_requeues_and_watches_them_resolve(
    page, worker, operator
):
    control = redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])
    switch = f"partner-{uuid.uuid4().hex}"
    results = [fails_until_fixed.delay(switch) for _ in range(4)]
    wait_for(lambda: DeadLetter.objects.filter(task_id__in=[r.id for r in results]).count() == 4,
             what="four dead letters", diagnostics=worker.log_tail)  # fmt: skip

    log_in(page, operator)
    page.get_by_role("link", name="triage them by cause").click()
    group = page.locator("tr.triage-group", has_text="tests.fails_until_fixed")
    expect(group).to_contain_text("jobs.errors.TemporaryError")
    expect(group.locator("td").nth(2)).to_have_text("4")  # in the last hour
    group.get_by_role("link", name="list these").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(4)

    control.set(switch, "fixed")  # the partner is back
    page.get_by_role("link", name="Requeue all matching this filter").click()
    expect(page.locator("#dry-run")).to_contain_text("Dry run: 4 open dead letters")
    expect(page.locator("#matching-tasks")).to_contain_text("tests.fails_until_fixed")
    page.get_by_label("Pace (dead letters per second)").fill("20")
    page.get_by_role("button", name="Requeue 4 dead letters").click()
    expect(page.locator(".messagelist")).to_contain_text("Requeueing 4 dead letter(s) at 20/s")

    expect(page.locator(".field-status")).to_contain_text("Done", timeout=30_000)  # it refreshes
    expect(page.locator(".field-progress")).to_contain_text("4 of 4")
    wait_for(lambda: not DeadLetter.objects.exclude(status="resolved").exists(),
             what="the requeued tasks to succeed", diagnostics=worker.log_tail)  # fmt: skip
    page.get_by_role("link", name="The dead letters").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(0)  # none open any more
    page.goto("/admin/jobs/deadletter/?status__exact=resolved")
    expect(page.locator("#result_list tbody tr", has_text="Resolved")).to_have_count(4)
    assert control.get(f"{switch}:ran") == b"4"
    control.delete(switch, f"{switch}:ran")


def test_operator_pauses_emails_the_email_waits_then_resumes_and_it_is_sent(page, worker, operator):
    log_in(page, operator)
    try:
        page.goto("/admin/jobs/pausedqueue/")
        expect(page.locator("#queue-emails .queue-state")).to_have_text("consuming")
        page.get_by_role("button", name="Pause emails").click()
        expect(page.locator(".messagelist")).to_contain_text(
            f"Queue emails paused on {worker.name}"
        )
        expect(page.locator("#queue-emails .queue-state")).to_contain_text("paused")
        page.goto("/admin/")
        expect(page.locator("#paused-queues")).to_contain_text("1 queue paused")

        place_order(page, ProductFactory(name="Milk jug"))
        expect(page.locator('[data-step="payment"]')).to_have_attribute("data-state", "done")
        expect(page.locator('[data-step="invoice"]')).to_have_attribute("data-state", "done")
        expect(page.locator('[data-step="email"]')).to_have_attribute("data-state", "pending")
        broker = redis.Redis.from_url(celery_app.conf.broker_url)
        assert broker.llen("emails") == 1, "the confirmation waits in the paused queue"
        order_page = page.url

        page.goto("/admin/jobs/pausedqueue/")
        page.get_by_role("button", name="Resume emails").click()
        expect(page.locator(".messagelist")).to_contain_text("Queue emails resumed")
        page.goto(order_page)
        expect(page.locator('[data-step="email"]')).to_have_attribute("data-state", "done")
    finally:  # whatever happened, the session's worker consumes e-mails again
        celery_app.control.add_consumer("emails", destination=[worker.name], reply=True, timeout=2)
