"""Steps the browser tests share: what a shopper or an operator does on a page."""

from playwright.sync_api import expect


def add_to_cart(page, product):
    card = page.locator("article", has_text=product.name)
    card.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("to your cart")


def enter_card(scope, card):
    """Type a card number and leave the field: the page tokenizes it at the gateway."""
    field = scope.get_by_label("Card number")
    field.fill(card)
    field.blur()


def fill_checkout(page, *, email="ada@example.com", card="4242 4242 4242 4242", submit=True):
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Shipping address").fill("12 Analytical Row\nLondon")
    enter_card(page, card)
    if submit:
        # Enabled once the gateway has answered with a token (Playwright waits for it).
        page.get_by_role("button", name="Place order").click()


def log_in_to_admin(page, *, username, password):
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def status_requests_during(page, *, seconds: float) -> int:
    """How many order updates (polls of /orders/<id>/progress/) the page asks for in `seconds`."""
    seen = []

    def record(request):
        if request.url.rstrip("/").endswith("/progress"):
            seen.append(request.url)

    page.on("request", record)
    page.wait_for_timeout(seconds * 1000)
    page.remove_listener("request", record)
    return len(seen)
