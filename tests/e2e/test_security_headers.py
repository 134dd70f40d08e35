"""Every page carries the Content-Security-Policy and the other headers, and breaks none of it.

Chromium reports each CSP violation as a `securitypolicyviolation` event and a
console message (tests/e2e/conftest.py listens for both from before the first
script runs). The card is tokenized cross-origin, at the gateway's own origin,
which the policy's connect-src allows and CORS lets answer only the shop.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from jobs.models import DeadLetter
from orders.models import Order
from sandbox.models import GatewayPaymentMethod
from tests.factories import ProductFactory, create_order

from .conftest import csp_violations
from .journeys import add_to_cart, enter_card, fill_checkout, log_in_to_admin

HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def visit(page, path: str, *, what: str):
    response = page.goto(path)
    assert response.status == 200, f"{what}: {response.status}"
    headers = response.headers
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, (what, policy)
    assert "camera=()" in headers.get("permissions-policy", ""), what
    for name, value in HEADERS.items():
        assert headers.get(name) == value, (what, name, headers.get(name))
    page.wait_for_load_state("load")
    assert csp_violations(page) == [], f"CSP violations on the {what} page"
    return response


def test_every_shop_account_sandbox_and_admin_page_loads_without_a_csp_violation(
    page, live_server, django_user_model, cross_origin_gateway
):
    product = ProductFactory(name="Stoneware mug")
    order = create_order({product: 1}, status=Order.Status.PAID)
    now = timezone.now()
    DeadLetter.objects.create(task_name="orders.charge_payment", task_id="t-1",
                              exception_class="TemporaryError", exception_message="x",
                              first_failed_at=now, last_failed_at=now)  # fmt: skip

    visit(page, "/", what="catalog")
    add_to_cart(page, product)
    visit(page, f"/products/{product.slug}/", what="product")
    visit(page, "/cart/", what="cart")
    visit(page, "/checkout/", what="checkout")
    enter_card(page, "4242 4242 4242 4242")
    expect(page.locator("[data-card-ready]")).to_contain_text("Visa ending 4242")
    assert csp_violations(page) == [], "tokenizing at the gateway's origin broke the CSP"
    for path, what in [
        (reverse("accounts:login"), "login"),
        (reverse("accounts:signup"), "sign-up"),
        ("/sandbox/", "sandbox"),
        ("/api/v1/docs", "API docs (django-ninja's Swagger UI)"),
    ]:
        visit(page, path, what=what)

    django_user_model.objects.create_superuser("op", "op@example.com", "op-Password-1")
    log_in_to_admin(page, username="op", password="op-Password-1")
    visit(page, reverse("accounts:orders"), what="my orders")
    visit(page, "/admin/", what="admin index")
    changelists = sorted(
        {
            href
            for href in page.locator("#content-main a").evaluate_all("a => a.map(x => x.href)")
            if re.search(r"/admin/\w+/\w+/$", href)
        }
    )
    assert len(changelists) > 10, changelists
    extra = [
        reverse("admin:orders_order_change", args=[order.pk]),  # the timeline
        reverse("admin:jobs_deadletter_triage"),
        reverse("admin:jobs_pausedqueue_changelist"),
        reverse("admin:password_change"),
    ]
    for path in [*changelists, *extra]:
        visit(page, path, what=f"admin {path}")


def test_checkout_decline_and_pay_again_send_the_card_only_to_the_gateways_own_origin(
    page, live_server, cross_origin_gateway, worker, settings
):
    from tests.ops.test_card_number_reaches_nothing import database_text, redis_text

    posts = []
    page.on(
        "request",
        lambda request: (
            posts.append((request.url, request.post_data or ""))
            if request.method == "POST"
            else None
        ),
    )
    mug = ProductFactory(name="Stoneware mug")
    page.goto("/")
    add_to_cart(page, mug)
    page.goto("/checkout/")
    fill_checkout(page, card="4000 0000 0000 0002")
    pay_again = page.locator("#pay-again")
    expect(pay_again).to_be_visible()
    enter_card(pay_again, "5555 5555 5555 4444")
    pay_again.get_by_role("button", name=re.compile("^Pay")).click()
    expect(page.locator("#order-status")).to_have_text("Paid")
    expect(page.locator('[data-step="invoice"]')).to_have_attribute("data-state", "done")

    numbers = ["4000000000000002", "4000 0000 0000 0002", "5555555555554444", "5555 5555 5555 4444"]
    to_gateway = "\n".join(data for url, data in posts if url.startswith(cross_origin_gateway))
    to_shop = "\n".join(data for url, data in posts if url.startswith(live_server.url))
    assert "4000000000000002" in to_gateway and "5555555555554444" in to_gateway
    assert to_shop.count("payment_method=pm_") == 2  # the checkout and the pay-again
    stores = {
        "the requests to the shop": to_shop,
        "Orderly's database": database_text(),
        "the lane's broker": redis_text(settings.CELERY_BROKER_URL),
        "the lane's locks": redis_text(settings.ORDERLY_LOCK_REDIS_URL),
        "the worker's log file": worker.log_path.read_text(),
        "the e-mails": "\n".join(p.read_text() for p in worker.mail_dir.glob("*.log")),
    }
    for store, text in stores.items():
        assert [n for n in numbers if n in text] == [], store
    assert stores["the e-mails"], "no e-mail was searched"
    assert csp_violations(page) == []


def test_a_page_on_an_origin_the_gateway_does_not_know_cannot_tokenize(
    page, settings, cross_origin_gateway
):
    settings.SANDBOX_GATEWAY_ALLOWED_ORIGINS = ["http://some-other-shop.example"]
    mug = ProductFactory(name="Stoneware mug")
    page.goto("/")
    add_to_cart(page, mug)
    page.goto("/checkout/")
    fill_checkout(page, submit=False)
    expect(page.locator("#id_card_number_error")).to_contain_text(
        "payment provider could not be reached"
    )  # CORS: the browser withholds the answer
    expect(page.get_by_role("button", name="Place order")).to_be_disabled()
    assert not GatewayPaymentMethod.objects.exists()


@pytest.mark.parametrize("javascript", [False])
def test_without_javascript_checkout_says_card_entry_needs_it_and_cannot_post(
    browser, live_server, cross_origin_gateway, javascript
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
    page = context.new_page()
    mug = ProductFactory(name="Stoneware mug")
    page.goto("/")
    add_to_cart(page, mug)
    page.goto("/checkout/")
    # Chromium under Playwright keeps parsing <noscript> as text with scripts off, so
    # its words are read rather than seen.
    assert "Card entry needs JavaScript" in page.locator("form noscript").text_content()
    expect(page.get_by_role("button", name="Place order")).to_be_disabled()
    context.close()
