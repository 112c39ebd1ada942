"""The PDF renderer of decision documents and e-licences."""

import datetime
import re

import pytest

from smartapproval.cases import documents

# A literal string shown with Tj: "(...)" with backslash escapes.
_SHOWN = re.compile(rb"\(((?:[^\\)]|\\.)*)\) Tj", re.DOTALL)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> bytes:
    def one(match: re.Match) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return _SIMPLE.get(code, code)

    return _ESCAPE.sub(one, raw)


def shown_text(pdf: bytes) -> str:
    """The text an uncompressed PDF shows: CJK runs are UTF-16BE (UCS-2)."""
    parts = []
    for raw in _SHOWN.findall(pdf):
        data = _unescape(raw)
        try:
            parts.append(data.decode("utf-16-be"))
        except UnicodeDecodeError:
            parts.append("")
        parts.append(data.decode("latin-1"))
    return "\n".join(parts)


@pytest.fixture
def content():
    return documents.DocumentContent(
        heading="不予行政许可决定书",
        department="广安区发展和改革局",
        title="关于企业投资项目核准申请的不予许可决定",
        number="511602-007-2026-00012",
        issued_on=datetime.date(2026, 3, 5),
        holder_label="申请人",
        holder_name="广安测试有限公司",
        paragraphs=["理由：选址不符合国土空间规划。"],
        review_rights=["行政复议：自知道该行政行为之日起六十日内申请行政复议。"],
        verify_url="http://127.0.0.1:8000/verify/abcDEF123/",
        verification_code="abcDEF123",
    )


def test_pdf_starts_with_the_pdf_header(content):
    pdf = documents.document_render(content)

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_uncompressed_pdf_shows_number_url_and_code_in_plain_text(content):
    pdf = documents.document_render(content, compress=False)

    assert b"511602-007-2026-00012" in pdf
    assert b"http://127.0.0.1:8000/verify/abcDEF123/" in pdf
    assert b"abcDEF123" in pdf
    assert b"2026-03-05" in pdf


def test_chinese_text_is_drawn_in_the_cjk_font(content):
    pdf = documents.document_render(content, compress=False)
    text = shown_text(pdf)

    assert b"STSong-Light" in pdf
    for expected in (
        "广安区发展和改革局",
        "不予行政许可决定书",
        "广安测试有限公司",
        "行政复议",
        "2026年3月5日",
    ):
        assert expected in text


def test_qr_code_is_a_png_of_the_verification_url(content):
    png = documents.qr_png(content.verify_url)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pdf = documents.document_render(content, compress=False)
    assert b"/Subtype /Image" in pdf
