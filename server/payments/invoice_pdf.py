"""An entity's invoice for its share of an order, printed as PDF with ReportLab.

The text is Ukrainian, so the font is a Cyrillic TrueType one: DejaVu Sans from Debian's
fonts-dejavu-core (KOPILKA needs the file; `./dev` installs the package). Every sum printed
is computed here from integer minor units: each line's amount is its price times quantity
less its discount, the lines add up to the total, and the VAT included is shown beside it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from server.payments.entities import VAT_BPS, Entity, TaxStatus

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
TAX_TEXT = {TaxStatus.VAT_PAYER: "платник ПДВ",
            TaxStatus.NON_VAT: "не є платником ПДВ",
            TaxStatus.SINGLE_TAX: "платник єдиного податку, без ПДВ"}


class FontMissing(RuntimeError):
    """The Cyrillic font is not installed: invoices cannot be printed."""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    name: str
    sku: str
    quantity_milli: int
    unit_price: int
    base_amount: int
    discount: int  # discounts and points on the line
    amount: int  # what the customer pays: base_amount - discount


@dataclass(frozen=True, slots=True)
class InvoiceData:
    entity: Entity
    number: int
    issued: dt.date
    order_number: str
    customer: str
    currency: str
    lines: Sequence[InvoiceLine]

    @property
    def total(self) -> int:
        return sum(x.amount for x in self.lines)

    @property
    def vat(self) -> int:
        return self.entity.vat_of(self.total)


def money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    major, rest = divmod(abs(minor), 100)
    return f"{sign}{major:,}.{rest:02d}".replace(",", " ")


def quantity(milli: int) -> str:
    whole, rest = divmod(milli, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".") if rest else str(whole)


def invoice_number(entity_code: str, number: int) -> str:
    return f"{entity_code.upper()}-{number:06d}"


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    regular, bold = FONT_DIR / f"{FONT}.ttf", FONT_DIR / f"{FONT_BOLD}.ttf"
    if not regular.exists() or not bold.exists():
        raise FontMissing(f"{regular} is missing: install Debian's fonts-dejavu-core "
                          "(apt install fonts-dejavu-core) to print invoices")
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))


def render(data: InvoiceData) -> bytes:
    """The invoice as PDF bytes (deterministic for the same data)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
    from reportlab.platypus.flowables import Spacer

    _fonts()
    for line in data.lines:  # the printed sums must add up: refuse data that does not
        if line.base_amount - line.discount != line.amount:
            raise ValueError(f"line {line.sku}: {line.base_amount} - {line.discount} "
                             f"!= {line.amount}")
    e = data.entity
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=14, leading=18)
    number = invoice_number(e.code, data.number)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"Рахунок {number}", author=e.name, invariant=True)
    rows: list[list[str]] = [["№", "Товар", "Кількість", "Ціна", "Сума", "Знижка",
                              "До сплати"]]
    for i, x in enumerate(data.lines, 1):
        rows.append([str(i), f"{x.name} ({x.sku})", quantity(x.quantity_milli),
                     money(x.unit_price), money(x.base_amount), money(x.discount),
                     money(x.amount)])
    rows.append(["", "Разом", "", "", money(sum(x.base_amount for x in data.lines)),
                 money(sum(x.discount for x in data.lines)), money(data.total)])
    table = Table(rows, colWidths=[8 * mm, 72 * mm, 18 * mm, 20 * mm, 22 * mm, 20 * mm,
                                   22 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD), ("FONTNAME", (0, -1), (-1, -1), FONT_BOLD),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    vat = (f"У тому числі ПДВ {VAT_BPS // 100}%: {money(data.vat)} {data.currency}"
           if e.tax_status is TaxStatus.VAT_PAYER else "Без ПДВ")
    story = [
        Paragraph(f"Рахунок № {number} від {data.issued.strftime('%d.%m.%Y')}", title),
        Spacer(1, 4 * mm),
        Paragraph(f"Постачальник: {e.name}", body),
        Paragraph(f"Код ЄДРПОУ: {e.edrpou}", body),
        Paragraph(f"IBAN: {e.iban}", body),
        Paragraph(f"Адреса: {e.address}", body),
        Paragraph(f"Податковий статус: {TAX_TEXT[e.tax_status]}", body),
        Spacer(1, 3 * mm),
        Paragraph(f"Покупець: {data.customer}", body),
        Paragraph(f"Замовлення: {data.order_number}", body),
        Spacer(1, 4 * mm), table, Spacer(1, 4 * mm),
        Paragraph(f"Всього до сплати: {money(data.total)} {data.currency}", title),
        Paragraph(vat, body),
    ]
    doc.build(story)
    return out.getvalue()
