"""A shopper in a real browser: browse, add to cart, check out, watch the steps finish."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import Product
from orders.models import Order
from tests.factories import ProductFactory

pytestmark = pytest.mark.worker


def add_to_cart(page, product):
    card = page.locator("article", has_text=product.name)
    card.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("to your cart")


def fill_checkout(page, *, email="ada@example.com", card="4242 4242 4242 4242"):
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Shipping address").fill("12 Analytical Row\nLondon")
    page.get_by_label("Card number").fill(card)
    page.get_by_role("button", name="Place order").click()


def test_shopper_checks_out_and_watches_every_step_finish_then_downloads_the_invoice(
    page, worker, screenshot
):
    dripper = ProductFactory(name="Pour-over dripper", category="Brewing", price="24.00")
    beans = ProductFactory(name="Colombia Huila beans", category="Coffee", price="11.00", stock=3)
    for index in range(4):
        ProductFactory(name=f"Espresso cup set {index + 1}", category="Cups", price="18.00")

    page.goto("/")
    expect(page.get_by_role("heading", name="All products")).to_be_visible()
    expect(page.locator("article", has_text=beans.name)).to_contain_text("Only 3 left")
    add_to_cart(page, dripper)
    add_to_cart(page, beans)
    expect(page.get_by_role("link", name=re.compile(r"Cart \(2\)"))).to_be_visible()
    screenshot(page, "catalog")

    page.get_by_role("link", name=re.compile(r"Cart \(2\)")).click()
    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    page.get_by_label("Full name").fill("Ada Lovelace")
    screenshot(page, "checkout")
    fill_checkout(page)

    # The order page updates itself: no reload from here on.
    steps = page.locator("#order-steps")
    expect(page.locator('[data-step="payment"]')).to_have_attribute("data-state", "done")
    expect(page.locator('[data-step="email"]')).to_have_attribute("data-state", "done")
    expect(page.locator('[data-step="invoice"]')).to_have_attribute("data-state", "done")
    expect(steps).to_have_attribute("data-final", "true")
    expect(page.locator("#order-status")).to_have_text("Paid")
    screenshot(page, "order-status")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download invoice (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("INV-")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert Order.objects.get().status == Order.Status.PAID


def test_declined_card_shows_a_clear_failure_and_the_stock_comes_back(page, worker):
    mug = ProductFactory(name="Stoneware mug", stock=2)

    page.goto("/")
    add_to_cart(page, mug)
    page.goto("/checkout/")
    fill_checkout(page, card="4000 0000 0000 0002")

    expect(page.locator('[data-step="payment"]')).to_have_attribute("data-state", "failed")
    expect(page.locator('[data-step="payment"]')).to_contain_text("declined")
    expect(page.locator("#order-cancelled")).to_be_visible()
    expect(page.locator('[data-step="invoice"]')).to_have_attribute("data-state", "skipped")
    assert Product.objects.get(pk=mug.pk).stock == 2


def test_checkout_form_shows_each_error_next_to_its_field(page, live_server):
    mug = ProductFactory(name="Stoneware mug", stock=2)
    page.goto("/")
    add_to_cart(page, mug)
    page.goto("/checkout/")

    # Passes the browser's own type=email check, so the server is what refuses it.
    fill_checkout(page, email="ada@example", card="4242 4242 4242 4241")

    email = page.get_by_label("Email")
    card = page.get_by_label("Card number")
    for field, message in [(email, "valid email"), (card, "not valid")]:
        described_by = field.get_attribute("aria-describedby") or ""
        error_ids = [i for i in described_by.split() if "error" in i]
        assert error_ids, "the field does not point at its error"
        expect(page.locator(f"#{error_ids[0]}")).to_contain_text(message)
    expect(page.get_by_label("Full name")).to_have_value("Ada Lovelace")  # input kept
    assert not Order.objects.exists()
