"""Sales documents: CSV cells are never formulas, PDF labels are text (issue 12)."""

import csv
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from io import BytesIO, StringIO

import pytest
from django.utils import timezone
from pypdf import PdfReader

from reports.sales_documents import Line, SalesSummary, render_sales_csv, render_sales_pdf
from safetext.spreadsheet import neutralize_formula


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (
            '=HYPERLINK("https://evil.example","Click")',
            '\'=HYPERLINK("https://evil.example","Click")',
        ),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("Coffee", "Coffee"),
        ("", ""),
        (Decimal("-3.50"), Decimal("-3.50")),  # numbers are not text: still numbers
        (7, 7),
    ],
)
def test_text_cells_that_start_a_formula_get_an_apostrophe(cell, written):
    assert neutralize_formula(cell) == written


def summary_with_category(category: str) -> SalesSummary:
    return SalesSummary(
        title="Sales report 2026-11-21",
        date_from=date(2026, 11, 21),
        date_to=date(2026, 11, 21),
        currency="EUR",
        time_zone="UTC",
        generated_at=timezone.now(),
        orders_count=1,
        units=2,
        revenue=Decimal("20.00"),
        by_category=[Line(category, None, 2, Decimal("20.00"))],
        by_day=[],
        by_hour=[],
        revenue_by_hour_of_day=[Decimal("0")] * 24,
    )


def test_a_category_typed_as_a_formula_is_written_as_text():
    summary = summary_with_category('=HYPERLINK("https://evil.example")')
    rows = list(csv.reader(StringIO(render_sales_csv(summary).decode())))
    assert ['\'=HYPERLINK("https://evil.example")', "2", "20.00"] in rows
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_a_category_with_markup_and_greek_prints_as_typed_in_the_pdf():
    category = "<b>Καφές</b> & Tee"
    pdf = render_sales_pdf(summary_with_category(category))
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert category in text


@pytest.mark.skipif(
    not shutil.which("pdffonts"), reason="poppler-utils is not installed (bootstrap installs it)"
)
def test_every_font_in_the_sales_pdf_is_embedded(tmp_path):
    path = tmp_path / "sales.pdf"
    path.write_bytes(render_sales_pdf(summary_with_category("咖啡 Kaffee")))
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in listing.stdout.splitlines()[2:] if line.strip()]
    assert rows and [row[0] for row in rows if row[-5:-3] != ["yes", "yes"]] == []
