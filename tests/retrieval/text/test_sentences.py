"""Sentences and paragraphs are exact slices of the source, split where Arabic punctuation says."""

from pathlib import Path

import pytest

from retrieval.corpus.chunking import chunk_article
from retrieval.text.sentences import MAX_SENTENCE_CHARS, split_paragraphs, split_sentences
from tests.conftest import SEEDS


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("قال بوتين. ورد نتنياهو.", ["قال بوتين.", "ورد نتنياهو."]),
        ("هل زار موسكو؟ نعم زارها!", ["هل زار موسكو؟", "نعم زارها!"]),
        ("ارتفع بواقع 3.5 في المئة. ثم توقف.", ["ارتفع بواقع 3.5 في المئة.", "ثم توقف."]),
        ('وقال: "الوضع قيد المناقشة." وأضاف آخر.', ['وقال: "الوضع قيد المناقشة."', "وأضاف آخر."]),
        ("وقال: «نعم.» ثم غادر", ["وقال: «نعم.»", "ثم غادر"]),
        ("خلال اجتماعه مع “بينيت”.. بوتين يتحدث", ["خلال اجتماعه مع “بينيت”.. بوتين يتحدث"]),
        ("انتظر… ثم تكلم", ["انتظر…", "ثم تكلم"]),
        ("  بلا علامة في الآخر  ", ["بلا علامة في الآخر"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_long_sentences_are_cut_at_clause_boundaries() -> None:
    clause = "وتسعى العديد من الدول إلى إقناع روسيا بالدخول في مفاوضات وإيقاف عمليتها العسكرية"
    text = "، ".join([clause] * 8) + "."
    pieces = sentences(text)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_SENTENCE_CHARS + len(clause) for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_seed_sentences_are_verbatim_and_lose_nothing(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    chunks = chunk_article(text)
    covered = "".join(text[s.start : s.end] for s in chunks.sentences)
    assert covered.split() == text.split() or "".join(covered.split()) == "".join(text.split())
    for span in chunks.sentences:
        piece = text[span.start : span.end]
        assert piece and piece == piece.strip()
    paragraphs = split_paragraphs(text)
    assert {s.paragraph for s in chunks.sentences} == set(range(1, len(paragraphs) + 1))
    # every sentence belongs to at least one passage
    in_passages = {n for p in chunks.passages for n in range(p.first_sentence, p.last_sentence + 1)}
    assert in_passages == {s.number for s in chunks.sentences}
