"""The sales report's numbers, and its CSV and PDF renderings (pure: no I/O)."""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO, StringIO

from django.conf import settings
from django.utils import timezone
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from safetext.spreadsheet import FormulaSafeWriter

from .pdf_text import Fonts, TextWriter

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Line:
    """One row of a breakdown: a category, a day or an hour."""

    label: str
    orders_count: int | None
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class SalesSummary:
    title: str
    date_from: date
    date_to: date
    currency: str
    time_zone: str
    generated_at: datetime
    orders_count: int
    units: int
    revenue: Decimal
    by_category: list[Line]
    by_day: list[Line]
    by_hour: list[Line]
    revenue_by_hour_of_day: list[Decimal]  # 24 values, summed over the days

    @classmethod
    def from_parts(cls, report, parts) -> "SalesSummary":
        """Add up a report's hourly parts (SalesReportPart rows, in hour order)."""
        categories: dict[str, list] = defaultdict(lambda: [0, ZERO])
        days: dict[date, list] = defaultdict(lambda: [0, 0, ZERO])
        hour_of_day = [ZERO] * 24
        by_hour = []
        for part in parts:
            local = timezone.localtime(part.hour_start)
            by_hour.append(
                Line(f"{local:%Y-%m-%d %H:%M}", part.orders_count, part.units, part.revenue)
            )
            day = days[local.date()]
            day[0] += part.orders_count
            day[1] += part.units
            day[2] += part.revenue
            hour_of_day[local.hour] += part.revenue
            for name, row in part.by_category.items():
                categories[name][0] += row["units"]
                categories[name][1] += Decimal(row["revenue"])
        return cls(
            title=f"Sales report {report.period_label}",
            date_from=report.date_from,
            date_to=report.date_to,
            currency=report.currency,
            time_zone=settings.TIME_ZONE,
            generated_at=timezone.localtime(),
            orders_count=sum(part.orders_count for part in parts),
            units=sum(part.units for part in parts),
            revenue=sum((part.revenue for part in parts), ZERO),
            by_category=[
                Line(name, None, units, revenue)
                for name, (units, revenue) in sorted(categories.items())
            ],
            by_day=[Line(f"{day:%Y-%m-%d}", *values) for day, values in sorted(days.items())],
            by_hour=by_hour,
            revenue_by_hour_of_day=hour_of_day,
        )


def render_sales_csv(summary: SalesSummary) -> bytes:
    """Sections for a spreadsheet: header, totals, by category, by day, by hour (UTF-8).

    Text cells (a category an operator typed) cannot start a formula.
    """
    out = StringIO()
    writer = FormulaSafeWriter(out)
    writer.writerow([summary.title])
    writer.writerow(["From", f"{summary.date_from:%Y-%m-%d}", "To", f"{summary.date_to:%Y-%m-%d}"])
    writer.writerow(["Currency", summary.currency, "Time zone", summary.time_zone])
    writer.writerow(["Generated", summary.generated_at.isoformat(timespec="seconds")])
    writer.writerow([])
    writer.writerow(["Totals"])
    writer.writerow(["Orders", "Units", "Revenue"])
    writer.writerow([summary.orders_count, summary.units, summary.revenue])
    writer.writerow([])
    writer.writerow(["By category"])
    writer.writerow(["Category", "Units", "Revenue"])
    writer.writerows([line.label, line.units, line.revenue] for line in summary.by_category)
    for title, lines in (("By day", summary.by_day), ("By hour", summary.by_hour)):
        writer.writerow([])
        writer.writerow([title])
        writer.writerow([title.removeprefix("By ").capitalize(), "Orders", "Units", "Revenue"])
        writer.writerows(
            [line.label, line.orders_count, line.units, line.revenue] for line in lines
        )
    return out.getvalue().encode()


def render_sales_pdf(summary: SalesSummary) -> bytes:
    """A PDF with the totals, a revenue-by-hour chart and the breakdowns; real text throughout."""
    writer = TextWriter()  # category names are typed by staff: escaped, in a Unicode font
    fonts = writer.fonts  # embedded, as on the invoice: the report looks the same in every reader
    base = getSampleStyleSheet()
    styles = {
        "Title": ParagraphStyle("SalesTitle", parent=base["Title"], fontName=fonts.bold),
        "BodyText": ParagraphStyle("SalesBody", parent=base["BodyText"], fontName=fonts.regular),
        "Heading3": ParagraphStyle("SalesHeading", parent=base["Heading3"], fontName=fonts.bold),
    }
    label_style = styles["BodyText"]
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        initialFontName=fonts.regular,  # not Helvetica, which is not embedded
        title=summary.title,
        author=settings.SHOP_NAME,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    currency = summary.currency
    story = [
        Paragraph(f"{settings.SHOP_NAME}: {summary.title}", styles["Title"]),
        Paragraph(
            f"Paid orders placed from {summary.date_from:%Y-%m-%d} to {summary.date_to:%Y-%m-%d}"
            f" ({summary.time_zone}). Generated {summary.generated_at:%Y-%m-%d %H:%M}.",
            styles["BodyText"],
        ),
        Spacer(1, 6 * mm),
        _table(
            [
                ["Orders", "Units", "Revenue"],
                [str(summary.orders_count), str(summary.units), f"{summary.revenue} {currency}"],
            ],
            fonts,
            total_row=False,
        ),
        Spacer(1, 6 * mm),
        Paragraph(f"Revenue by hour of day ({currency})", styles["Heading3"]),
        _hour_chart(summary.revenue_by_hour_of_day, fonts),
        Spacer(1, 6 * mm),
        Paragraph("By category", styles["Heading3"]),
        _table(
            [["Category", "Units", "Revenue"]]
            + [
                [
                    Paragraph(writer.markup(line.label), label_style),
                    str(line.units),
                    f"{line.revenue} {currency}",
                ]
                for line in summary.by_category
            ]
            + [["Total", str(summary.units), f"{summary.revenue} {currency}"]],
            fonts,
        ),
        Spacer(1, 6 * mm),
        Paragraph("By day", styles["Heading3"]),
        _table(
            [["Day", "Orders", "Units", "Revenue"]]
            + [
                [line.label, str(line.orders_count), str(line.units), f"{line.revenue} {currency}"]
                for line in summary.by_day
            ]
            + [
                [
                    "Total",
                    str(summary.orders_count),
                    str(summary.units),
                    f"{summary.revenue} {currency}",
                ]
            ],
            fonts,
        ),
    ]
    document.build(story)
    if writer.replaced or writer.unshapable:
        logger.warning(
            "sales report %s: %s printed as U+FFFD (no font draws them, or they cannot be shaped)",
            summary.title,
            ", ".join(
                f"U+{ord(character):04X}"
                for character in sorted(writer.replaced | writer.unshapable)
            ),
        )
    return buffer.getvalue()


def _table(rows: list[list[str]], fonts: Fonts, *, total_row: bool = True) -> Table:
    table = Table(rows, hAlign="LEFT", colWidths=[60 * mm] + [30 * mm] * (len(rows[0]) - 1))
    style = [
        ("FONTNAME", (0, 0), (-1, -1), fonts.regular),
        ("FONTNAME", (0, 0), (-1, 0), fonts.bold),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
    ]
    if total_row:
        style += [
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
            ("FONTNAME", (0, -1), (-1, -1), fonts.bold),
        ]
    table.setStyle(TableStyle(style))
    return table


def _hour_chart(values: list[Decimal], fonts: Fonts) -> Drawing:
    drawing = Drawing(170 * mm, 60 * mm)
    drawing.initialFontName = fonts.regular  # a drawing starts in Helvetica otherwise
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 8 * mm
    chart.width, chart.height = 155 * mm, 48 * mm
    chart.data = [[float(value) for value in values]]
    chart.categoryAxis.categoryNames = [f"{hour:02d}" for hour in range(24)]
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fontName = fonts.regular
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(float(max(values)), 1.0) * 1.1
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = fonts.regular
    chart.bars[0].fillColor = colors.HexColor("#2f6f4f")
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    return drawing
