"""An article cut into paragraphs, sentences and passages (the chunks that retrieval scores first).

A passage is a run of whole sentences: a paragraph, or overlapping windows over a long one, so that
a sentence is always judged with its neighbours. A lone short line (a sub-heading) joins the
paragraph after it, so it is never a passage on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.text.sentences import Span, split_paragraphs, split_sentences

WINDOW_SENTENCES = 4  # a long paragraph is read in windows of 4 sentences,
WINDOW_STRIDE = 2  # each overlapping the next by half
LONG_PARAGRAPH_SENTENCES = 6
HEADING_MAX_CHARS = 80


@dataclass(frozen=True)
class SentenceSpan:
    number: int  # 1-based in the article
    paragraph: int  # 1-based
    start: int
    end: int


@dataclass(frozen=True)
class PassageSpan:
    number: int  # 1-based in the article
    first_sentence: int  # 1-based, inclusive
    last_sentence: int
    start: int
    end: int


@dataclass(frozen=True)
class Chunks:
    paragraphs: tuple[Span, ...]
    sentences: tuple[SentenceSpan, ...]
    passages: tuple[PassageSpan, ...]


def chunk_article(text: str) -> Chunks:
    """Paragraphs, sentences and passages of an article, all as spans of ``text``."""
    paragraphs = split_paragraphs(text)
    sentences: list[SentenceSpan] = []
    groups: list[list[int]] = []  # sentence numbers of each paragraph
    for p_number, paragraph in enumerate(paragraphs, start=1):
        group = []
        for span in split_sentences(text, paragraph.start, paragraph.end):
            sentences.append(SentenceSpan(len(sentences) + 1, p_number, span.start, span.end))
            group.append(len(sentences))
        groups.append(group)

    passages: list[PassageSpan] = []
    pending_heading: list[int] = []
    for index, group in enumerate(groups):
        if not group:
            continue
        is_heading = len(group) == 1 and _length(sentences, group) <= HEADING_MAX_CHARS
        if is_heading and index + 1 < len(groups):
            pending_heading.extend(group)
            continue
        for window in _windows(group):
            members = pending_heading + window if window[0] == group[0] else window
            first, last = sentences[members[0] - 1], sentences[members[-1] - 1]
            passages.append(PassageSpan(len(passages) + 1, first.number, last.number, first.start, last.end))
        pending_heading = []
    return Chunks(tuple(paragraphs), tuple(sentences), tuple(passages))


def _windows(group: list[int]) -> list[list[int]]:
    if len(group) <= LONG_PARAGRAPH_SENTENCES:
        return [group]
    starts = range(0, len(group) - WINDOW_SENTENCES + WINDOW_STRIDE, WINDOW_STRIDE)
    return [group[s : s + WINDOW_SENTENCES] for s in starts if s < len(group)]


def _length(sentences: list[SentenceSpan], group: list[int]) -> int:
    return sum(sentences[n - 1].end - sentences[n - 1].start for n in group)
