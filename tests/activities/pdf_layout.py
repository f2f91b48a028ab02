"""Where a PDF's text lies on its pages: what a reader would see cut off at the paper's edge."""

from __future__ import annotations

import pypdfium2 as pdfium

POINTS_PER_MM = 72 / 25.4


def text_beyond_margins(pdf: bytes, *, margin_mm: float) -> list[str]:
    """Each run of characters that reaches into the left or right margin, with its page.

    The documents' tables and charts must fit the text block: what lies nearer the paper's edge
    than `margin_mm` is printed off the page or hard against it.
    """
    margin = margin_mm * POINTS_PER_MM
    beyond: list[str] = []
    document = pdfium.PdfDocument(pdf)
    try:
        for number in range(len(document)):
            page = document[number]
            width = page.get_width()
            text = page.get_textpage()
            run = ""
            for index in range(text.count_chars()):
                char = text.get_text_range(index, 1)
                left, _, right, _ = text.get_charbox(index)
                if char.strip() and (left < margin or right > width - margin):
                    run += char
                elif run:
                    beyond.append(f"page {number + 1}: {run!r}")
                    run = ""
            if run:
                beyond.append(f"page {number + 1}: {run!r}")
    finally:
        document.close()
    return beyond
