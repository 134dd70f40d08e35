"""Render an order's invoice as a one-page PDF with reportlab (pure: no I/O but fonts)."""

import logging
from io import BytesIO

from babel.dates import format_date
from django.conf import settings
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from inventory.money import format_money

from .pdf_text import TextWriter

logger = logging.getLogger(__name__)


def invoice_number(order) -> str:
    return f"INV-{order.pk:06d}"


def _styles(fonts) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("InvoiceBody", parent=base["BodyText"], fontName=fonts.regular)
    return {
        "title": ParagraphStyle(
            "InvoiceTitle", parent=base["Title"], fontName=fonts.bold, alignment=0
        ),
        "heading": ParagraphStyle("InvoiceHeading", parent=base["Heading4"], fontName=fonts.bold),
        "body": body,
        "right": ParagraphStyle("InvoiceRight", parent=body, alignment=TA_RIGHT),
        "label": ParagraphStyle("InvoiceLabel", parent=body, fontName=fonts.bold),
        "label_right": ParagraphStyle(
            "InvoiceLabelRight", parent=body, fontName=fonts.bold, alignment=TA_RIGHT
        ),
        "small": ParagraphStyle(
            "InvoiceSmall",
            parent=body,
            fontSize=8,
            leading=10,
            textColor=colors.HexColor("#52606d"),
        ),
    }


def render_invoice(order) -> bytes:
    """The invoice as PDF bytes: seller, numbers and dates, bill-to, lines, total, payment.

    Every value from a user or the database goes through TextWriter, which
    escapes it (Paragraph reads markup), puts right-to-left text in display
    order and draws it in an embedded font that has its characters; what no
    font has, or no shaping we have can join, is replaced visibly and logged here. Amounts
    and dates follow settings.SHOP_LOCALE. The text is real text, so it can
    be searched and extracted.
    """
    writer = TextWriter()
    styles = _styles(writer.fonts)
    locale = settings.SHOP_LOCALE
    currency = order.currency

    def text(value, style="body"):
        return Paragraph(writer.markup(value), styles[style])

    def money(amount) -> str:
        return format_money(amount, currency)

    def day(moment) -> str:
        return format_date(timezone.localtime(moment).date(), format="long", locale=locale)

    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        # Each page's stream starts by selecting this font: not Helvetica, which is not embedded.
        initialFontName=writer.fonts.regular,
        title=f"Invoice {invoice_number(order)}",
        author=settings.SHOP_NAME,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    facts = Table(
        [
            [text("Invoice number"), text(invoice_number(order), "right")],
            [text("Invoice date"), text(day(timezone.now()), "right")],
            [text("Order"), text(order.number, "right")],
            [text("Order date"), text(day(order.created_at), "right")],
        ],
        colWidths=[35 * mm, 40 * mm],
    )
    facts.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), writer.fonts.regular),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    header = Table(
        [[text("\n".join(settings.SELLER_ADDRESS)), facts]],
        colWidths=[89 * mm, 75 * mm],  # the frame is 170 mm less its 6 pt paddings
        hAlign="LEFT",
    )
    header.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), writer.fonts.regular),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
            ]
        )
    )

    items = list(order.items.all())
    rows = [
        [text("Description", "label"), text("SKU", "label")]
        + [text(label, "label_right") for label in ("Qty", "Unit price", "Amount")]
    ]
    rows += [
        [
            text(item.name),
            text(item.sku),
            text(str(item.quantity), "right"),
            text(money(item.unit_price), "right"),
            text(money(item.line_total), "right"),
        ]
        for item in items
    ]
    rows.append(["", "", "", text("Total", "label_right"), text(money(order.total), "label_right")])
    lines = Table(rows, colWidths=[62 * mm, 28 * mm, 14 * mm, 30 * mm, 30 * mm], repeatRows=1)
    lines.setStyle(
        TableStyle(
            [
                # Empty cells too: a table draws them in its default font, Helvetica,
                # which would be the one unembedded font in the file.
                ("FONTNAME", (0, 0), (-1, -1), writer.fonts.regular),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEABOVE", (3, -1), (-1, -1), 0.8, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )

    payment = getattr(order, "payment", None)
    if payment is not None and payment.card_last4:
        paid_on = f" on {day(payment.settled_at)}" if payment.settled_at else ""
        payment_line = (
            f"Paid in full{paid_on} by card ending {payment.card_last4}: {money(order.total)}. "
            "Nothing is left to pay."
        )
    else:
        payment_line = f"Amount due: {money(order.total)}."

    story = [
        text(settings.SHOP_NAME, "title"),
        header,
        Spacer(1, 8 * mm),
        text("Bill to", "heading"),
        text("\n".join([order.full_name, order.email, order.shipping_address])),
        Spacer(1, 8 * mm),
        lines,
        Spacer(1, 6 * mm),
        text(payment_line),
        Spacer(1, 2 * mm),
        text("Thank you for your order.", "body"),
        Spacer(1, 10 * mm),
        text(f"{settings.SHOP_NAME} · " + " · ".join(settings.SELLER_ADDRESS), "small"),
    ]
    document.build(story)
    if writer.unshapable:
        logger.warning(
            "invoice %s: %s: right-to-left letters the invoice cannot join or order "
            "(only Hebrew and Arabic are shaped); printed as U+FFFD",
            invoice_number(order),
            ", ".join(f"U+{ord(character):04X}" for character in sorted(writer.unshapable)),
        )
    if writer.replaced:
        logger.warning(
            "invoice %s: no font draws %s; printed as U+FFFD",
            invoice_number(order),
            ", ".join(f"U+{ord(character):04X}" for character in sorted(writer.replaced)),
        )
    return buffer.getvalue()
