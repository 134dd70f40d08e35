"""The invoice prints what the shopper typed, as text, in fonts that can draw it (issues 12, 22).

Every font is embedded (pdffonts), every character has a real glyph in the
embedded subset (fontTools, against the subset's own .notdef), poppler renders
the page without complaint (pdftoppm) and gives the text back (pdftotext, which
reads right-to-left runs back into logical order).
"""

import logging
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont as FontFile
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from orders.models import Order
from orders.services import place_order
from reports.invoice_pdf import render_invoice
from reports.pdf_text import TextWriter, invoice_fonts
from tests.factories import ProductFactory
from tests.helpers import sandbox_payment_method
from tests.properties.strategies import PROPERTY_SETTINGS, invoice_script_line, rolled_back

pytestmark = pytest.mark.django_db

needs_dejavu = pytest.mark.skipif(
    invoice_fonts().regular == "Helvetica",
    reason="DejaVu Sans is not installed (scripts/bootstrap.sh installs fonts-dejavu-core)",
)
needs_fonts_and_poppler = pytest.mark.skipif(
    invoice_fonts().regular == "Helvetica"
    or len(invoice_fonts().japanese) < 2
    or not (shutil.which("pdffonts") and shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="the invoice fonts or poppler-utils are missing (scripts/bootstrap.sh installs them)",
)


def paid_order(*, full_name="Ada Lovelace", address="12 Analytical Row\nLondon", product=None):
    product = product or ProductFactory(name="Pour-over dripper", price="24.00")
    order = place_order(
        quantities={product.pk: 1},
        email="ada@example.com",
        full_name=full_name,
        shipping_address=address,
        payment_method=sandbox_payment_method("4242424242424242"),
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
        "山田 太郎",  # ideographs: WenQuanYi Zen Hei
        "やまだ たろう",  # kana: IPAGothic
        "김민준",  # hangul: WenQuanYi Zen Hei
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
    assert writer.markup("😀 山田") == '😀 <font name="OrderlyCJK">山田</font>'
    assert not writer.replaced


def test_what_no_font_can_draw_is_replaced_visibly_and_logged(caplog):
    name = "Ada \U00013000 Lovelace"  # an Egyptian hieroglyph: in no font the invoice has
    with caplog.at_level(logging.WARNING, logger="reports.invoice_pdf"):
        page = pdf(render_invoice(paid_order(full_name=name)))
    text = page.extract_text()
    assert "Ada \N{REPLACEMENT CHARACTER} Lovelace" in text or "Ada ? Lovelace" in text
    assert "U+13000" in caplog.text


def test_without_dejavu_the_invoice_falls_back_to_helvetica_and_says_what_it_replaced(
    settings, tmp_path, caplog
):
    settings.ORDERLY_INVOICE_FONT_DIR = str(tmp_path)  # no fonts here
    settings.ORDERLY_INVOICE_CJK_FONT = str(tmp_path / "missing.ttc")
    settings.ORDERLY_INVOICE_JAPANESE_FONT = str(tmp_path / "missing.ttf")
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


# --- every script, embedded (issue 22) ---------------------------------------------


def poppler(tool: str, data: bytes, *args: str) -> subprocess.CompletedProcess:
    """Run a poppler tool on the PDF `data`; its output on stdout, its complaints on stderr."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "invoice.pdf")
        path.write_bytes(data)
        return subprocess.run(
            [tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
            capture_output=True,
            check=True,
            cwd=folder,
        )


def pdffonts(data: bytes) -> list[dict[str, str]]:
    """pdffonts' table: name, emb, sub (read from the right: a type may have a space)."""
    lines = poppler("pdffonts", data).stdout.decode().splitlines()[2:]
    rows = [line.split() for line in lines if line.strip()]
    return [{"name": row[0], "emb": row[-5], "sub": row[-4]} for row in rows]


def assert_every_font_embedded(data: bytes) -> None:
    fonts = pdffonts(data)
    assert fonts, "no fonts?"
    assert [font for font in fonts if font["emb"] != "yes" or font["sub"] != "yes"] == []


def missing_glyphs(data: bytes) -> list[str]:
    """Characters whose glyph in the embedded subset is empty or a copy of its .notdef.

    reportlab's subsets map one-byte codes to glyphs (cmap 1,0) and list the
    character of each code in the font's ToUnicode map; a character the
    original font lacked is drawn with .notdef, the box.
    """
    missing = []
    for page in PdfReader(BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            subset = FontFile(BytesIO(font["/FontDescriptor"]["/FontFile2"].get_data()))
            codes = subset["cmap"].getcmap(1, 0).cmap
            glyphs = subset["glyf"]
            notdef = glyphs[".notdef"]
            to_unicode = font["/ToUnicode"].get_data().decode("ascii")
            pairs = "".join(re.findall(r"beginbfchar(.*?)endbfchar", to_unicode, re.S))
            for code, target in re.findall(r"<([0-9A-F]{2})> <([0-9A-F]+)>", pairs):
                character = bytes.fromhex(target).decode("utf-16-be")
                if character.isspace() or unicodedata.category(character) == "Cc":
                    continue
                glyph = glyphs[codes.get(int(code, 16), ".notdef")]
                if glyph.numberOfContours == 0 or (
                    glyph.getCoordinates(glyphs) == notdef.getCoordinates(glyphs)
                ):
                    missing.append(f"U+{ord(character):04X} in {font['/BaseFont']}")
    return missing


def rendered_text(data: bytes) -> str:
    """What poppler reads back: right-to-left runs in logical order, embedding marks removed."""
    text = poppler("pdftotext", data, "-enc", "UTF-8").stdout.decode()
    return "".join(character for character in text if unicodedata.category(character) != "Cf")


def assert_renders_cleanly(data: bytes) -> None:
    """pdftoppm draws the page and says nothing: no font it could not find or read."""
    result = poppler("pdftoppm", data, "-r", "24", "-png", "-singlefile")
    assert result.stderr.decode() == ""


def letters(text: str) -> Counter:
    """The characters of `text` as NFKC has them (presentation forms read as letters)."""
    return Counter(
        character for character in unicodedata.normalize("NFKC", text) if not character.isspace()
    )


@needs_fonts_and_poppler
def test_a_japanese_name_and_address_are_drawn_in_embedded_fonts_with_every_glyph():
    data = render_invoice(paid_order(full_name="山田 太郎", address="東京都千代田区丸の内1-1"))

    assert_every_font_embedded(data)
    assert missing_glyphs(data) == []
    assert_renders_cleanly(data)
    text = rendered_text(data)
    assert "山田 太郎" in text and "東京都千代田区丸の内1-1" in text


@needs_fonts_and_poppler
def test_kanji_in_a_line_with_kana_are_drawn_in_the_japanese_font():
    japanese, chinese = TextWriter(), TextWriter()
    assert '<font name="OrderlyJapanese">山田</font>' in japanese.markup("やまだ 山田")
    assert chinese.markup("山田") == '<font name="OrderlyCJK">山田</font>'


@needs_fonts_and_poppler
def test_hebrew_and_arabic_are_drawn_right_to_left_and_arabic_letters_joined(caplog):
    name, address = "אדה לבלייס", "محمد علي\n12 שָׁלוֹם"
    with caplog.at_level(logging.WARNING, logger="reports.invoice_pdf"):
        data = render_invoice(paid_order(full_name=name, address=address))

    assert caplog.text == ""
    assert_every_font_embedded(data)
    assert missing_glyphs(data) == []
    text = rendered_text(data)
    # poppler reads visual order back into logical order: what was drawn right to left
    # comes back as typed; drawn left to right (unordered), it would come back reversed.
    assert name in text
    # Joined: initial, medial and final forms, not four isolated letters.
    assert "\ufee3\ufea4\ufee4\ufeaa" in text  # ﻣﺤﻤﺪ
    assert unicodedata.normalize("NFKC", "محمد علي") in unicodedata.normalize("NFKC", text)


@needs_fonts_and_poppler
def test_a_right_to_left_script_the_invoice_cannot_join_is_refused_and_logged(caplog):
    nko = "\u07d2\u07de\u07cf"  # N'Ko: DejaVu has the letters, nothing here joins them
    with caplog.at_level(logging.WARNING, logger="reports.invoice_pdf"):
        data = render_invoice(paid_order(full_name=f"Ada {nko}"))

    assert "Ada \N{REPLACEMENT CHARACTER}\N{REPLACEMENT CHARACTER}" in rendered_text(data)
    assert "U+07D2" in caplog.text and "right-to-left" in caplog.text


@needs_fonts_and_poppler
@PROPERTY_SETTINGS
@given(
    name=invoice_script_line,
    address=st.lists(invoice_script_line, min_size=1, max_size=3).map("\n".join),
)
def test_every_script_renders_embedded_with_no_missing_glyph(caplog, name, address):
    caplog.clear()
    with rolled_back(), caplog.at_level(logging.WARNING, logger="reports.invoice_pdf"):
        data = render_invoice(paid_order(full_name=name, address=address))

    assert caplog.text == ""  # nothing replaced, nothing refused
    assert_every_font_embedded(data)
    assert missing_glyphs(data) == []
    assert_renders_cleanly(data)
    assert letters(name + address) <= letters(rendered_text(data))
