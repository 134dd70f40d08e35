"""An operator in Django admin: find a dead letter, read why, requeue it, see it resolved."""

import os
import uuid

import pytest
import redis
from playwright.sync_api import expect

from jobs.models import DeadLetter
from tests.helpers import wait_for
from tests.worker_tasks import fails_until_fixed

from .journeys import log_in_to_admin

pytestmark = pytest.mark.worker


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser(
        username="operator", email="ops@example.com", password="requeue-it-1"
    )


def test_operator_reads_a_dead_letter_requeues_it_after_the_fix_and_sees_it_resolved(
    page, worker, operator
):
    control = redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])
    switch = f"switch-{uuid.uuid4().hex}"
    result = fails_until_fixed.delay(switch)
    letter = wait_for(
        lambda: DeadLetter.objects.filter(task_id=result.id).first(),
        what="the task to give up",
        diagnostics=worker.log_tail,
    )

    log_in_to_admin(page, username="operator", password="requeue-it-1")
    expect(page.locator("#dead-letter-summary")).to_contain_text("1 open dead letter")
    page.get_by_role("link", name="Review them").click()

    row = page.locator("#result_list tbody tr", has_text="tests.fails_until_fixed")
    expect(row).to_contain_text("Open")
    expect(row).to_contain_text(f"{switch} is broken")
    row.get_by_role("link", name="tests.fails_until_fixed").click()
    expect(page.locator(".orderly-traceback")).to_contain_text("TemporaryError")
    expect(page.locator(".orderly-traceback")).to_contain_text("fails_until_fixed")

    control.set(switch, "fixed")  # the operator fixes the cause
    page.go_back()
    row.get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option("requeue")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("1 dead letter(s) requeued.")

    wait_for(
        lambda: DeadLetter.objects.get(pk=letter.pk).status == DeadLetter.Status.RESOLVED,
        what="the requeued task to succeed",
        diagnostics=worker.log_tail,
    )
    page.reload()  # the open list no longer has it...
    rows = page.locator("#result_list tbody tr", has_text="tests.fails_until_fixed")
    expect(rows).to_have_count(0)
    page.goto("/admin/jobs/deadletter/?status__exact=resolved")  # ...it is resolved
    expect(rows).to_contain_text("Resolved")
    assert control.get(f"{switch}:ran") == b"1"
    control.delete(switch, f"{switch}:ran")
