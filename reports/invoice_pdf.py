"""Render an order's invoice as a one-page PDF with reportlab (pure: no I/O)."""

from io import BytesIO

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


def invoice_number(order) -> str:
    return f"INV-{order.pk:06d}"


def render_invoice(order) -> bytes:
    """The invoice as PDF bytes: seller, numbers, date, customer, lines, totals.

    The text is real text (not an image), so it can be searched and extracted.
    """
    styles = getSampleStyleSheet()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Invoice {invoice_number(order)}",
        author=settings.SHOP_NAME,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    currency = order.currency
    lines = [["Item", "SKU", "Qty", "Unit price", "Amount"]]
    lines += [
        [
            Paragraph(item.name, styles["BodyText"]),
            item.sku,
            str(item.quantity),
            f"{item.unit_price} {currency}",
            f"{item.line_total} {currency}",
        ]
        for item in order.items.all()
    ]
    lines.append(["", "", "", "Total", f"{order.total} {currency}"])
    table = Table(lines, colWidths=[70 * mm, 28 * mm, 12 * mm, 28 * mm, 32 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    customer = "<br/>".join([order.full_name, order.email, *order.shipping_address.splitlines()])
    story = [
        Paragraph(settings.SHOP_NAME, styles["Title"]),
        Paragraph("<br/>".join(settings.SELLER_ADDRESS), styles["BodyText"]),
        Spacer(1, 8 * mm),
        Paragraph(f"Invoice {invoice_number(order)}", styles["Heading2"]),
        Paragraph(f"Order {order.number}<br/>Date {order.created_at:%Y-%m-%d}", styles["BodyText"]),
        Spacer(1, 4 * mm),
        Paragraph("Bill to", styles["Heading4"]),
        Paragraph(customer, styles["BodyText"]),
        Spacer(1, 8 * mm),
        table,
        Spacer(1, 8 * mm),
        Paragraph(
            f"Paid by card ending {order.payment.card_last4}. Thank you for your order.",
            styles["BodyText"],
        ),
    ]
    document.build(story)
    return buffer.getvalue()
