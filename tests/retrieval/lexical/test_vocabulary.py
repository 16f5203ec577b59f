"""The vocabulary kept as sorted fixed-width keys: every term finds its column, written and read back."""

import json
from pathlib import Path

import numpy as np

from retrieval.lexical.storage import write_metadata
from retrieval.lexical.vocabulary import WIDTH, Vocabulary

TERMS = [
    "بينيت", "<بي", "نيت>", "~زار", "#بنت", "موسكو", "2022",
    "Ā", "xĀ", "؀ا",  # a code unit whose low byte is zero, last: the fixed-width key drops that byte
    "a" * WIDTH, "b" * (WIDTH + 1), "الاستراتيجيات_الجديدة",  # as wide as a key, and longer: the dict
    "nul\0term", "🙂", "🙂" * WIDTH,  # a NUL; a character outside the BMP (two code units)
]


def test_every_term_finds_its_column_and_unknown_terms_find_none(tmp_path: Path) -> None:
    vocabulary = Vocabulary.of({term: column for column, term in enumerate(TERMS)})
    write_metadata(tmp_path, {}, "v", 0, {}, vocabulary, {"doc_ids": [], "titles": [], "urls": []})
    arrays = json.loads((tmp_path / "meta.json").read_text(encoding="utf-8"))["arrays"]
    for loaded in (vocabulary, Vocabulary.load(tmp_path, arrays)):
        assert loaded.columns(TERMS).tolist() == list(range(len(TERMS)))
        assert loaded.columns(["بينت", "", "x", "Ā\0", "b" * WIDTH]).tolist() == [-1] * 5
        assert loaded.get("موسكو") == 5 and loaded.get("موسك") is None and "🙂" in loaded and "🙃" not in loaded
        assert loaded.terms() == TERMS and len(loaded) == len(TERMS)
        assert loaded.lookup(["2022", "غزة", "2022"]) == {"2022": 6}


def test_an_extended_vocabulary_keeps_its_columns_and_appends_the_new_terms() -> None:
    vocabulary = Vocabulary.of({term: column for column, term in enumerate(TERMS[:8])})
    extended = vocabulary.extended(TERMS[8:])
    assert extended.columns(TERMS).tolist() == list(range(len(TERMS)))
    assert vocabulary.columns(TERMS[8:]).tolist() == [-1] * (len(TERMS) - 8)


def test_an_empty_vocabulary_knows_nothing() -> None:
    empty = Vocabulary.of({})
    assert len(empty) == 0 and empty.columns(["a", "b" * 20]).tolist() == [-1, -1]
    assert empty.columns([]).dtype == np.int64


def test_terms_whose_first_hash_collides_are_kept_exactly(monkeypatch) -> None:
    """With a first hash that is the sum of the code points, «ab» and «ba» collide: both go to the dict."""
    from retrieval.lexical import vocabulary as module

    powers = module.POWERS.copy()
    powers[:, 0] = 1
    monkeypatch.setattr(module, "POWERS", powers)
    vocabulary = Vocabulary.of(["ab", "ba", "abc", "موسكو"])
    assert vocabulary.columns(["ba", "ab", "موسكو", "abc", "ca"]).tolist() == [1, 0, 3, 2, -1]
    assert vocabulary.extended(["ac"]).columns(["ac", "ab"]).tolist() == [4, 0]
