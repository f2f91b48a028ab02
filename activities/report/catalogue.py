"""The messages the documents use, found in their templates and label tables (for the catalogues).

`message_ids` is what a complete catalogue must translate; the tests hold the Russian one to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from babel.messages.extract import extract_from_file
from jinja2.ext import babel_extract

from workflows.assessment import TEXTS

HERE: Final = Path(__file__).parent
PYTHON_SOURCES: Final = ("labels.py", "render.py")
KEYWORDS: Final = ("_", "gettext", "N_")


def message_ids() -> list[str]:
    """Every message id, in order of first use: templates, then Python sources, then findings."""
    found: dict[str, None] = {}

    def add(message: str | tuple[str | None, ...] | None) -> None:
        first = message[0] if isinstance(message, tuple) else message
        if first:
            found.setdefault(first)

    options = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}
    for template in sorted((HERE / "templates").glob("*.html")):
        with template.open("rb") as source:
            for _, _, message, _ in babel_extract(source, KEYWORDS, [], options):
                add(message)
    for name in PYTHON_SOURCES:
        path = HERE / name
        keywords = {keyword: None for keyword in KEYWORDS}
        for _, message, _, _ in extract_from_file("python", str(path), keywords=keywords):
            add(message)
    for text in TEXTS.values():
        found.setdefault(text)
    return list(found)
