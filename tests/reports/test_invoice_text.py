"""The invoice prints what the shopper typed, as text, in fonts that can draw it (issue 12)."""

import logging
from io import BytesIO

import pytest
from PIL import Image
from pypdf import PdfReader

from orders.models import Order
from orders.services import place_order
from reports.invoice_pdf import render_invoice
from reports.pdf_text import TextWriter, invoice_fonts
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

needs_dejavu = pytest.mark.skipif(
    invoice_fonts().regular == "Helvetica",
    reason="DejaVu Sans is not installed (scripts/bootstrap.sh installs fonts-dejavu-core)",
)


def paid_order(*, full_name="Ada Lovelace", address="12 Analytical Row\nLondon", product=None):
    product = product or ProductFactory(name="Pour-over dripper", price="24.00")
    order = place_order(
        quantities={product.pk: 1},
        email="ada@example.com",
        full_name=full_name,
        shipping_address=address,
        card_number="4242424242424242",
    )
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    return Order.objects.select_related("payment").get(pk=order.pk)


def pdf(data: bytes):
    reader = PdfReader(BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0]


def unwrapped(text: str) -> str:
    """Text without whitespace: where a long line wraps is the PDF's business."""
    return "".join(text.split())


def test_an_img_address_naming_a_server_file_is_printed_not_embedded(tmp_path):
    icon = tmp_path / "icon.png"  # any image the server can read, e.g. one a package installed
    Image.new("RGB", (8, 8), "red").save(icon)
    address = f'<img src="{icon}" width="60" height="60"/>'

    page = pdf(render_invoice(paid_order(address=address)))

    assert list(page.images) == []
    assert unwrapped(address) in unwrapped(page.extract_text())


def test_an_a_href_in_the_address_is_text_and_no_link(tmp_path):
    address = '<a href="https://phish.example/pay">Pay your invoice here</a>'
    page = pdf(render_invoice(paid_order(address=address)))
    assert "/Annots" not in page
    assert unwrapped(address) in unwrapped(page.extract_text())


def test_angle_brackets_and_apostrophes_in_a_name_print_as_typed():
    page = pdf(render_invoice(paid_order(full_name="Anna <Smith> O'Neil & Søn")))
    assert "Anna <Smith> O'Neil & Søn" in page.extract_text()


def test_an_img_with_an_unreachable_url_renders_as_text():
    address = '<img src="http://192.0.2.1/x.png"/>'
    page = pdf(render_invoice(paid_order(address=address)))
    assert unwrapped(address) in unwrapped(page.extract_text())


@needs_dejavu
@pytest.mark.parametrize(
    "name",
    [
        "Zoë O'Brien & Søn",
        "Αλέξανδρος Παπαδόπουλος",
        "Фёдор Достоевский",
        "山田 太郎",  # Chinese/Japanese ideographs: STSong-Light
        "やまだ たろう",  # kana: HeiseiMin-W3
        "김민준",  # hangul: HYSMyeongJo-Medium
        "Zoe\u0308 Łukasz Ærøskøbing",  # combining diaeresis stays a combining character
    ],
)
def test_names_in_latin_greek_cyrillic_and_cjk_extract_exactly_as_typed(name):
    page = pdf(render_invoice(paid_order(full_name=name)))
    assert name in page.extract_text()


@needs_dejavu
def test_the_unicode_font_is_embedded():
    page = pdf(render_invoice(paid_order(full_name="Фёдор")))
    fonts = {str(font["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert any("DejaVuSans" in font for font in fonts), fonts


@needs_dejavu
def test_emoji_are_drawn_from_the_font_not_black_boxes():
    writer = TextWriter()
    assert writer.markup("😀 山田") == '😀 <font name="STSong-Light">山田</font>'
    assert not writer.replaced


def test_what_no_font_can_draw_is_replaced_visibly_and_logged(caplog):
    name = "Ada \U00010000 Lovelace"  # Linear B: in no font the invoice has
    with caplog.at_level(logging.WARNING, logger="reports.invoice_pdf"):
        page = pdf(render_invoice(paid_order(full_name=name)))
    text = page.extract_text()
    assert "Ada \N{REPLACEMENT CHARACTER} Lovelace" in text or "Ada ? Lovelace" in text
    assert "U+10000" in caplog.text


def test_without_dejavu_the_invoice_falls_back_to_helvetica_and_says_what_it_replaced(
    settings, tmp_path, caplog
):
    settings.ORDERLY_INVOICE_FONT_DIR = str(tmp_path)  # no fonts here
    with caplog.at_level(logging.WARNING):
        text = pdf(render_invoice(paid_order(full_name="Zoë Фёдор"))).extract_text()
    assert "Zoë ?????" in text
    assert "DejaVu Sans not found" in caplog.text and "U+0424" in caplog.text


def test_amounts_follow_the_shop_locale_and_the_invoice_has_dates_and_a_payment_line(settings):
    settings.SHOP_LOCALE = "de_DE"
    product = ProductFactory(name="Grinder", price="1234.50")
    text = pdf(render_invoice(paid_order(product=product))).extract_text()
    assert "1.234,50 €" in text
    assert "Invoice date" in text and "Order date" in text
    assert "Paid in full" in text and "card ending 4242" in text
