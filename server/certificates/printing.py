"""Print templates and barcode export (CSV for a print shop, SVG per certificate).

python-barcode renders SVG without Pillow; the template text goes under the bars so a
printed certificate carries its terms.
"""

from __future__ import annotations

import csv
import io
import string

from server.certificates.model import BarcodeFormat, CertificateInfo, CertificateTypeInfo

PLACEHOLDERS = frozenset({"number", "denomination", "currency", "expire_date", "name"})
CSV_COLUMNS = ("number", "barcode_format", "certificate_type", "state", "denomination",
               "currency", "expire_date", "text")


def template_problem(template: str) -> str | None:
    """Why a template cannot be rendered (unknown placeholder, bad braces), or None."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        return f"bad braces: {exc}"
    unknown = fields - PLACEHOLDERS
    if unknown:
        return f"unknown placeholders {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}"
    return None


def format_minor(amount_minor: int) -> str:
    """Minor units as a decimal string with two places, exactly (no floats)."""
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def render_text(t: CertificateTypeInfo, cert: CertificateInfo) -> str:
    """The type's template filled for one certificate; the number alone without a template."""
    values = {
        "number": cert.number, "denomination": format_minor(cert.denomination_minor),
        "currency": cert.currency, "name": t.name,
        "expire_date": cert.expires_at.date().isoformat() if cert.expires_at else "",
    }
    return t.template.format(**values) if t.template else cert.number


def export_csv(rows: list[tuple[CertificateTypeInfo, CertificateInfo]]) -> str:
    """One line per certificate: what a print shop needs to print and encode the barcodes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t, cert in rows:
        writer.writerow([
            cert.number, t.barcode_format.value, cert.type_code, cert.state.value,
            format_minor(cert.denomination_minor), cert.currency,
            cert.expires_at.date().isoformat() if cert.expires_at else "", render_text(t, cert),
        ])
    return out.getvalue()


def barcode_svg(t: CertificateTypeInfo, cert: CertificateInfo) -> bytes:
    """An SVG of the certificate's barcode with the rendered template as its caption."""
    import barcode
    from barcode.writer import SVGWriter

    symbology = "ean13" if t.barcode_format is BarcodeFormat.EAN13 else "code128"
    code = barcode.get(symbology, cert.number, writer=SVGWriter())
    if code.get_fullcode() != cert.number:  # a wrong check digit would be silently fixed
        raise ValueError(f"{cert.number} is not a valid {symbology} number")
    out = io.BytesIO()
    code.write(out, text=render_text(t, cert).replace("\n", " "))
    return out.getvalue()
