"""How the catalog presents products: prices in the shop's locale, pictures, a favicon."""

from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Template

from inventory.artwork import product_artwork_data_uri, product_artwork_svg
from inventory.money import format_money
from tests.factories import ProductFactory


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en_IE", "€19.90"), ("de_DE", "19,90\xa0€"), ("en_US", "€19.90")],
)
def test_prices_follow_the_shop_locale(settings, locale, expected):
    settings.SHOP_LOCALE = locale
    assert format_money(Decimal("19.9")) == expected


def test_money_filter_uses_the_given_currency_and_leaves_empty_values_empty(settings):
    settings.SHOP_LOCALE = "en_IE"
    template = Template("{% load shop %}[{{ a|money }}][{{ a|money:'USD' }}][{{ b|money }}]")
    assert template.render(Context({"a": Decimal("5"), "b": None})) == "[€5.00][US$5.00][]"


def test_every_product_gets_a_stable_well_formed_picture():
    first = product_artwork_svg(category="Coffee", name="Kenya AA beans", sku="COF-006")
    again = product_artwork_svg(category="Coffee", name="Kenya AA beans", sku="COF-006")
    other = product_artwork_svg(category="Coffee", name="Decaf Peru", sku="COF-005")
    unknown = product_artwork_svg(category="Something new", name="Thing", sku="X-1")
    assert first == again
    assert first != other
    for svg in (first, unknown):
        # Our own output, not untrusted input.
        assert ElementTree.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314
    uri = product_artwork_data_uri(category="Tea", name="Sencha", sku="TEA-022")
    assert uri.startswith("data:image/svg+xml,") and "#" not in uri


@pytest.mark.django_db
def test_catalog_shows_each_product_with_its_picture_and_locale_price(client, settings):
    settings.SHOP_LOCALE = "en_IE"
    ProductFactory(name="Pour-over dripper", category="Brewing", price="24.00")
    html = client.get("/").content.decode()
    assert 'class="product-image product-image--card" src="data:image/svg+xml,' in html
    assert "€24.00" in html
    assert "24.00 EUR" not in html


@pytest.mark.django_db
def test_favicon_is_linked_and_the_browser_default_path_finds_it(client):
    html = client.get("/").content.decode()
    assert 'rel="icon"' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert "<svg" in Path(finders.find("favicon.svg")).read_text()
