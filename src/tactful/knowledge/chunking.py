"""Articles (Markdown, HTML, plain text) into passages small enough to quote in a prompt.

HTML is reduced to its text (scripts, styles and templates dropped, never executed or kept);
Markdown keeps its headings so each passage carries the section it came from.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tactful.errors import InputRejected

FORMATS = ("markdown", "html", "text")
#: A passage's target size: a few sentences, so top-k passages fit a small model's context.
TARGET_CHARS = 700
MAX_DOCUMENT_CHARS = 2_000_000

_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "object"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n") if p.strip())


def document_text(raw: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputRejected(
            f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", code="unknown_format"
        )
    if len(raw) > MAX_DOCUMENT_CHARS:
        raise InputRejected(
            f"an article may hold at most {MAX_DOCUMENT_CHARS} characters", code="payload_too_large"
        )
    return html_text(raw) if fmt == "html" else raw.replace("\r\n", "\n")


def format_of(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    if lower.endswith((".html", ".htm")):
        return "html"
    return "text"


def chunk_document(raw: str, fmt: str) -> list[str]:
    """Passages of about ``TARGET_CHARS``, cut at paragraph (then sentence) boundaries; each Markdown
    passage starts with its section heading."""
    text = document_text(raw, fmt)
    chunks: list[str] = []
    heading = ""
    current: list[str] = []

    def flush() -> None:
        body = "\n".join(current).strip()
        if body:
            chunks.append(f"{heading}\n{body}" if heading else body)
        current.clear()

    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        match = _HEADING.match(para.splitlines()[0]) if fmt == "markdown" else None
        if match is not None:
            flush()
            heading = match.group(1).strip()
            para = "\n".join(para.splitlines()[1:]).strip()
            if not para:
                continue
        for piece in _pieces(para):
            if current and sum(len(c) for c in current) + len(piece) > TARGET_CHARS:
                flush()
            current.append(piece)
    flush()
    return chunks


def _pieces(paragraph: str) -> list[str]:
    """A paragraph, or its sentences when it is longer than a passage."""
    if len(paragraph) <= TARGET_CHARS:
        return [paragraph]
    sentences = re.split(r"(?<=[.!?])\s+", paragraph)
    out: list[str] = []
    for s in sentences:
        while len(s) > TARGET_CHARS:  # one endless "sentence": cut it hard
            out.append(s[:TARGET_CHARS])
            s = s[TARGET_CHARS:]
        if s:
            out.append(s)
    return out
