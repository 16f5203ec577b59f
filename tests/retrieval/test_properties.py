"""Property-based tests (Hypothesis): no text crashes the Arabic processing, sentences are exact slices
that lose nothing but whitespace, and every rendered message is valid Telegram HTML within the limit."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.fake_telegram.html import parse_telegram_html
from bot.rendering import MAX_MESSAGE_LENGTH, message_length, render_answer, render_no_answer, render_paragraph
from retrieval.answers import Answer, Quote
from retrieval.corpus.chunking import chunk_article
from retrieval.text.arabic import content_tokens, cue_spans, normalize_arabic, question_type, tokenize
from retrieval.text.sentences import split_paragraphs, split_sentences

# Arabic letters and marks, Latin, digits, punctuation of both scripts, HTML and Markdown characters,
# zero-width and bidi controls, newlines: the text people and articles actually send, and worse.
ALPHABET = st.sampled_from(
    list("ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىة") + list("\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0640")
    + list("abcXYZ0123456789٠١٢٣٤٥٦٧٨٩") + list(".،؛؟!?…:«»\"'()[]-_*`~#") + list("<>&/=")
    + ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202e", "\u2066", "\u2069", "\ufeff"]
    + [" ", " ", " ", "\n", "\t", "\r"]
)
TEXT = st.text(ALPHABET, max_size=400)


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_arabic_processing_never_crashes(text: str) -> None:
    normalize_arabic(text)
    assert all(token for token in tokenize(text))
    content_tokens(text)
    question_type(text)
    for cue in (1, 2):
        for start, end in cue_spans(text, cue):
            assert 0 <= start < end <= len(text)


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_sentences_are_exact_slices_and_lose_only_whitespace(text: str) -> None:
    for paragraph in split_paragraphs(text):
        sentences = split_sentences(text, paragraph.start, paragraph.end)
        assert sentences, "a paragraph has at least one sentence"
        assert sentences[0].start == paragraph.start and sentences[-1].end == paragraph.end
        for before, after in itertools.pairwise(sentences):
            assert before.end <= after.start and not text[before.end : after.start].strip()  # only whitespace between
        assert all(text[s.start : s.end].strip() == text[s.start : s.end] and s.end > s.start for s in sentences)
    chunks = chunk_article(text)
    assert [s.number for s in chunks.sentences] == list(range(1, len(chunks.sentences) + 1))


QUOTE_TEXT = st.text(ALPHABET, min_size=1, max_size=5000)


@given(st.lists(QUOTE_TEXT, min_size=1, max_size=4), st.text(ALPHABET, max_size=300), st.text(ALPHABET, min_size=1, max_size=200))
@settings(max_examples=150, deadline=None)
def test_every_answer_renders_as_valid_telegram_html_within_the_limit(texts: list[str], question: str, title: str) -> None:
    quotes = tuple(
        Quote(text, f"doc{n}", title, n + 1, 1, 1.0 - n / 10, 0, len(text), url="https://x.org/?a=<b>&c", source=title, published="أمس",
              highlights=((0, max(1, len(text) // 2)),), dated_relatively=True)
        for n, text in enumerate(texts)
    )
    for answer in (Answer(question, quotes, 1.0), Answer(question, (), 1.0, "no", closest=quotes[0], missing=(title,))):
        html = render_answer(answer).html if answer.found else render_no_answer(answer)
        assert message_length(html) <= MAX_MESSAGE_LENGTH
        parse_telegram_html(html)  # raises on anything Telegram would refuse


@given(QUOTE_TEXT, st.text(ALPHABET, min_size=1, max_size=200))
@settings(max_examples=100, deadline=None)
def test_a_paragraph_renders_within_the_limit(paragraph: str, title: str) -> None:
    html = render_paragraph(title, 1, paragraph * 3, paragraph[: len(paragraph) // 2])
    assert message_length(html) <= MAX_MESSAGE_LENGTH
    parse_telegram_html(html)
