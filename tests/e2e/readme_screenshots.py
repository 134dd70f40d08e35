"""The README's pictures, taken from the demo catalog by `make screenshots`.

Not collected by the test run (its name does not start with test_): tests
never write tracked files. `make screenshots` sets
ORDERLY_SCREENSHOTS_DIR=docs/screenshots and runs this module alone. It
loads the demo catalog (seed_demo), shops as a visitor would, and
photographs the catalog, checkout, the finished order page, a declined
order offering to pay again, and a dead letter in admin.
"""

import os
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from inventory.tasks import sync_warehouse_stock
from jobs.models import DeadLetter
from sandbox import warehouse as sandbox_warehouse
from tests.helpers import wait_for

from .journeys import fill_checkout, log_in_to_admin

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        not os.environ.get("ORDERLY_SCREENSHOTS_DIR"),
        reason="takes the README pictures; run `make screenshots` (sets ORDERLY_SCREENSHOTS_DIR)",
    ),
]


def test_readme_pictures_of_the_demo_shop_and_admin(page, worker, screenshot, django_user_model):
    call_command("seed_demo", verbosity=0)

    page.goto("/")
    for name in ("Pour-over dripper", "Colombia Huila beans, 250 g"):
        page.locator("article", has_text=name).get_by_role("button", name="Add to cart").click()
        expect(page.get_by_role("status")).to_contain_text("to your cart")
    page.goto("/")  # without the "added" message
    expect(page.get_by_role("link", name=re.compile(r"Cart \(2\)"))).to_be_visible()
    screenshot(page, "catalog", full_page=False)

    page.goto("/checkout/")
    page.get_by_label("Full name").fill("Ada Lovelace")
    screenshot(page, "checkout")
    fill_checkout(page)
    expect(page.locator("#order-steps")).to_have_attribute("data-final", "true")
    expect(page.locator("#order-status")).to_have_text("Paid")
    screenshot(page, "order-status")

    page.goto("/")
    page.locator("article", has_text="Stoneware mug").get_by_role(
        "button", name="Add to cart"
    ).click()
    page.goto("/checkout/")
    fill_checkout(page, card="4000 0000 0000 0002")
    expect(page.locator("#pay-again")).to_be_visible()
    expect(page.locator("#order-steps")).to_have_attribute("data-final", "true")
    screenshot(page, "order-declined")

    django_user_model.objects.create_superuser(
        username="operator", email="ops@example.com", password="requeue-it-1"
    )
    # A realistic failure: the warehouse is down, so the stock sync retries and gives up.
    sandbox_warehouse.ensure_catalog_items()
    sandbox_warehouse.start_outage()
    result = sync_warehouse_stock.delay()
    wait_for(
        lambda: DeadLetter.objects.filter(task_id=result.id).exists(),
        timeout=90,
        what="the stock sync to give up",
        diagnostics=worker.log_tail,
    )
    log_in_to_admin(page, username="operator", password="requeue-it-1")
    # Admin's navigation sidebar closed, so the list shows the failure's message.
    page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    page.goto("/admin/jobs/deadletter/")
    screenshot(page, "dead-letters")
    page.locator("#result_list").get_by_role("link", name="inventory.sync_warehouse_stock").click()
    expect(page.locator(".orderly-traceback")).to_be_visible()
    screenshot(page, "dead-letter-detail")
