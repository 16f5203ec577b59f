"""Colloquial words a question may use and their MSA equivalents, as a table; and what they change in an answer."""

from pathlib import Path

import pytest

from retrieval import Retriever
from retrieval.text.arabic import normalize_arabic
from retrieval.text.lexicon import COLLOQUIAL


@pytest.mark.parametrize(
    ("word", "equivalents"),
    [
        ("بيحكي", ("تحدث", "قال", "صرح")),  # Levantine: prefix of the present
        ("منيحة", ("جيد", "جيده")),
        ("ماتوا", ("توفي", "قتل")),  # suffix of the plural
        ("امبارح", ("امس",)),
        ("وجه", ()),  # MSA, though و+جه looks like جه (came)
        ("تجاه", ()),
        ("الحكومة", ()),
        ("بوتين", ()),
    ],
)
def test_colloquial_words_have_msa_equivalents(word: str, equivalents: tuple[str, ...]) -> None:
    assert COLLOQUIAL.equivalents(normalize_arabic(word)) == equivalents


def answer_to(tmp_path: Path, lines: list[str], question: str) -> str:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "article.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    retriever = Retriever.open(tmp_path / "isnad.db")
    retriever.sync(folder)
    return retriever.ask(question).quotes[0].text


def test_colloquial_question_finds_the_msa_sentence(tmp_path: Path) -> None:
    lines = ["زار الوزير زرقشوف مدينة بلقمطير.", "تحدث الوزير زرقشوف مطولا عن خطة المياه في المدينة."]
    assert "تحدث" in answer_to(tmp_path, lines, "شو حكى الوزير زرقشوف؟")  # حكى → تحدث
