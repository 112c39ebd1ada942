"""Render decision documents and e-licences as PDF (决定书/电子证照).

The renderer takes a ``DocumentContent`` and knows nothing of the database,
so what a document says can be tested apart from how it is drawn. Chinese
text uses reportlab's built-in CID font ``STSong-Light``: no font file is
shipped, and every PDF reader has a substitute for it. Numbers, dates and
the verification code are drawn in Helvetica so that they stand in the
text layer as plain ASCII.
"""

import io
from dataclasses import dataclass, field
from datetime import date

import qrcode
import structlog
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table
from reportlab.platypus.flowables import HRFlowable

log = structlog.get_logger(__name__)

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"


@dataclass(frozen=True)
class DocumentContent:
    """Everything a result document says, in the order it says it."""

    heading: str  # 准予许可决定书, 电子证照, 不予许可决定书 …
    department: str
    title: str
    number: str
    issued_on: date
    holder_label: str  # 申请人, 持证单位 …
    holder_name: str
    paragraphs: list[str]
    verify_url: str
    verification_code: str
    review_rights: list[str] = field(default_factory=list)
    valid_until: date | None = None


def _font_register() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _date_text(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _ascii(text: str) -> str:
    # Helvetica runs of a line: escaped so that reportlab's markup stays sane.
    return f'<font face="{LATIN_FONT}">{_escape(text)}</font>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def qr_png(url: str) -> bytes:
    """Return a PNG of a QR code that points to ``url``."""
    code = qrcode.QRCode(border=2, box_size=8)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer)
    return buffer.getvalue()


def document_render(content: DocumentContent, *, compress: bool = True) -> bytes:
    """Draw ``content`` on A4 pages and return the PDF bytes.

    ``compress=False`` leaves the page streams readable, for tests.
    """
    _font_register()
    styles = {
        "issuer": ParagraphStyle(
            "issuer",
            fontName=CJK_FONT,
            fontSize=20,
            leading=28,
            alignment=TA_CENTER,
            textColor=colors.HexColor("#b00000"),
        ),
        "heading": ParagraphStyle(
            "heading", fontName=CJK_FONT, fontSize=18, leading=26, alignment=TA_CENTER
        ),
        "number": ParagraphStyle(
            "number", fontName=CJK_FONT, fontSize=11, leading=16, alignment=TA_CENTER
        ),
        "title": ParagraphStyle(
            "title",
            fontName=CJK_FONT,
            fontSize=14,
            leading=21,
            alignment=TA_CENTER,
            wordWrap="CJK",
        ),
        "body": ParagraphStyle(
            "body",
            fontName=CJK_FONT,
            fontSize=12,
            leading=20,
            firstLineIndent=24,
            wordWrap="CJK",
        ),
        "plain": ParagraphStyle(
            "plain", fontName=CJK_FONT, fontSize=12, leading=20, wordWrap="CJK"
        ),
        "sign": ParagraphStyle(
            "sign", fontName=CJK_FONT, fontSize=12, leading=20, alignment=TA_RIGHT
        ),
        "small": ParagraphStyle(
            "small", fontName=CJK_FONT, fontSize=9, leading=13, wordWrap="CJK"
        ),
    }

    story = [
        Paragraph(_escape(content.department), styles["issuer"]),
        HRFlowable(width="100%", thickness=1.5, color=colors.HexColor("#b00000")),
        Spacer(1, 6 * mm),
        Paragraph(_escape(content.heading), styles["heading"]),
        Paragraph("文号：" + _ascii(content.number), styles["number"]),
        Spacer(1, 4 * mm),
        Paragraph(_escape(content.title), styles["title"]),
        Spacer(1, 6 * mm),
        Paragraph(
            f"{_escape(content.holder_label)}：{_escape(content.holder_name)}",
            styles["plain"],
        ),
        Spacer(1, 3 * mm),
    ]
    story += [Paragraph(_escape(text), styles["body"]) for text in content.paragraphs]
    if content.review_rights:
        story.append(Spacer(1, 3 * mm))
        story += [
            Paragraph(_escape(text), styles["body"]) for text in content.review_rights
        ]
    if content.valid_until:
        story.append(
            Paragraph(
                "有效期至：" + _escape(_date_text(content.valid_until)), styles["plain"]
            )
        )
    story += [
        Spacer(1, 10 * mm),
        Paragraph(_escape(content.department), styles["sign"]),
        Paragraph(
            _escape(_date_text(content.issued_on))
            + "（"
            + _ascii(content.issued_on.isoformat())
            + "）",
            styles["sign"],
        ),
        Spacer(1, 10 * mm),
    ]

    qr = Image(io.BytesIO(qr_png(content.verify_url)), 32 * mm, 32 * mm)
    note = [
        Paragraph("扫描二维码核验本文书的真伪与效力：", styles["small"]),
        Paragraph(_ascii(content.verify_url), styles["small"]),
        Paragraph("核验码：" + _ascii(content.verification_code), styles["small"]),
    ]
    story.append(Table([[qr, note]], colWidths=[36 * mm, None]))

    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=20 * mm,
        title=content.title,
        author=content.department,
        pageCompression=1 if compress else 0,
        invariant=1,
    )
    template.build(story)
    pdf = buffer.getvalue()

    log.debug("result_document_rendered", size=len(pdf))
    return pdf
