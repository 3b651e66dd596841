"""The verification report as a PDF a person prints and files: the verdict,
then each signature's facts, in Vietnamese (or English), with the file's
SHA-256 so the paper names exactly what was checked."""
from __future__ import annotations

import io
from datetime import datetime
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from docsvc.localtime import VIETNAM, WITH_SECONDS, local_time
from docsvc.texts import reason_text, text
from signing import VerificationReport

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
VERDICT_COLOURS = {"valid": colors.HexColor("#1b5e20"), "invalid": colors.HexColor("#b71c1c"),
                   "indeterminate": colors.HexColor("#e65100")}


@lru_cache
def _fonts() -> tuple[str, str]:
    # DejaVu covers every Vietnamese letter; reportlab's built-in fonts do not.
    pdfmetrics.registerFont(TTFont("DejaVuSans", FONT))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", FONT_BOLD))
    return "DejaVuSans", "DejaVuSans-Bold"


def render(report: VerificationReport, *, filename: str, sha256: str, lang: str = "vi") -> bytes:
    regular, bold = _fonts()
    t = lambda key: text(key, lang)  # noqa: E731 - a short alias keeps the table readable
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey)
    title = ParagraphStyle("title", parent=body, fontName=bold, fontSize=15, leading=19, spaceAfter=6)
    heading = ParagraphStyle("heading", parent=body, fontName=bold, fontSize=12, leading=15, spaceBefore=10)
    verdict = ParagraphStyle("verdict", parent=heading, textColor=VERDICT_COLOURS[report.verdict])

    def p(text, style=body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    story = [
        p(t("verify.title"), title),
        p(f"{t('verify.file')}: {filename}"),
        p(f"SHA-256: {sha256}", small),
        p(f"{t('report_pdf.checked_at')}: {datetime.now(VIETNAM).replace(microsecond=0).isoformat()}", small),
        p(f"{t('verify.verdict')}: {t('verdict.' + report.verdict)}", verdict),
    ]
    story += [p(reason_text(reason, lang)) for reason in report.reasons]
    if not report.signatures:
        story.append(p(t("report_pdf.no_signatures")))
    for number, sig in enumerate(report.signatures, 1):
        story.append(p(f"{t('verify.signature')} {number}: {t('verdict.' + sig.verdict)}", heading))
        revocation = t("revocation." + sig.revocation.status)
        if sig.revocation.source:
            revocation += f" ({sig.revocation.source})"
        rows = [
            (t("verify.signer"), sig.signer or "—"),
            (t("verify.signing_time"), local_time(sig.signing_time, WITH_SECONDS) or "—"),
            (t("verify.timestamp"), local_time(sig.timestamp, WITH_SECONDS) or "—"),
            (t("verify.level"), sig.level or "—"),
            (t("verify.intact"), t("verify.yes") if sig.intact else t("verify.no")),
            (t("verify.trusted"), t("verify.yes") if sig.trusted else t("verify.no")),
            (t("verify.revocation"), revocation),
            (t("verify.modifications"), t("modification." + sig.modifications) if sig.modifications else "—"),
        ]
        table = Table([[p(k), p(v)] for k, v in rows], colWidths=[55 * mm, 115 * mm])
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, colors.lightgrey),
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f3f3")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(table)
        story += [p(f"• {reason_text(reason, lang)}", small) for reason in sig.reasons]
    story += [Spacer(1, 8 * mm), p(t("report_pdf.footer"), small)]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=t("verify.title"), author="docsvc",
                      leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm).build(story)
    return out.getvalue()
