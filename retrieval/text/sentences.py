"""Paragraphs and sentences as exact character spans of the article text: nothing is lost or rewritten."""

from __future__ import annotations

import re
from typing import NamedTuple


class Span(NamedTuple):
    start: int
    end: int


# A sentence ends at . ! ? ؟ … with any closing quotes or brackets that follow, when whitespace comes
# next: "3.5" never splits, «قال: "نعم."» keeps its quote, and a headline's ".." (an ellipsis) does not end it.
_SENTENCE_END = re.compile(r"(?:(?<!\.)\.(?!\.)|[!?؟…]+)[\"'”’»)\]]*(?=\s)")
_PARAGRAPH = re.compile(r"[^\n]+")
# Past this length a sentence is split again at ؛ or ، so that a quote stays a readable sentence,
# not a paragraph (Arabic news chains clauses with commas). Pieces keep at least _MIN_PIECE chars.
MAX_SENTENCE_CHARS = 320
SENTENCE_CLOSERS = tuple(".!?؟…\"'”’»)]:")
_MIN_PIECE = 60
_CLAUSE_END = re.compile(r"[؛;،,](?=\s)")


def split_paragraphs(text: str) -> list[Span]:
    """Non-blank lines, stripped: a news article puts one paragraph on a line."""
    spans = []
    for match in _PARAGRAPH.finditer(text):
        span = _strip(text, match.start(), match.end())
        if span:
            spans.append(span)
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` as spans into ``text``; each is an exact slice of it."""
    end = len(text) if end is None else end
    spans = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.extend(_clauses(text, cursor, match.end()))
        cursor = match.end()
    spans.extend(_clauses(text, cursor, end))
    return spans


def _clauses(text: str, start: int, end: int) -> list[Span]:
    """One sentence, or a long one cut at its clause boundaries nearest to even pieces."""
    span = _strip(text, start, end)
    if not span:
        return []
    start, end = span
    if end - start <= MAX_SENTENCE_CHARS:
        return [span]
    pieces = []
    cursor = start
    for match in _CLAUSE_END.finditer(text, start, end):
        cut = match.end()
        if cut - cursor >= _MIN_PIECE and end - cut >= _MIN_PIECE and cut - cursor >= MAX_SENTENCE_CHARS // 2:
            piece = _strip(text, cursor, cut)
            if piece:
                pieces.append(piece)
            cursor = cut
    last = _strip(text, cursor, end)
    if last:
        pieces.append(last)
    return pieces


def _strip(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None
