"""The ported ISRI root stemmer agrees with NLTK's, word for word (NLTK is a test dependency only)."""

import json

import pytest

from retrieval.text.arabic import tokenize
from retrieval.text.isri import isri_root
from tests.conftest import SEEDS, XQUAD

isri = pytest.importorskip("nltk.stem.isri")


def words() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    if XQUAD.exists():
        texts += [p["context"] for a in json.loads(XQUAD.read_text(encoding="utf-8"))["data"] for p in a["paragraphs"]]
    # As written (hamza, diacritics) and as the index sees them (normalized).
    raw = {w for text in texts for w in text.split() if w.isalpha()}
    return sorted(raw | {t for text in texts for t in tokenize(text)})


def test_isri_roots_match_nltk() -> None:
    reference = isri.ISRIStemmer()
    checked = words()
    assert len(checked) > 1000
    assert [isri_root(w) for w in checked] == [reference.stem(w) for w in checked]


@pytest.mark.parametrize(("word", "root"), [("الانتصار", "نصر"), ("هاتفية", "هتف"), ("المستشفيات", "شفي"), ("يكون", "يكون")])
def test_known_roots(word: str, root: str) -> None:
    assert isri_root(word) == root
