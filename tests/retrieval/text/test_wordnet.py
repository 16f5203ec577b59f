"""The Arabic WordNet table: broken plurals meet their singulars, synonyms count as the word, names stay names."""

from pathlib import Path

import pytest

from retrieval.text.arabic import normalize_arabic
from retrieval.text.wordnet import WORDNET, WordNet, derive_table


@pytest.mark.parametrize(
    ("word", "form"),
    [
        ("القادة", "قائد"),  # a broken plural under its article finds its singular
        ("قائد", "قادة"),  # and the singular its plural
        ("الطلاب", "طالب"),
        ("والقادة", "قائد"),  # under a conjunction too
    ],
)
def test_a_broken_plural_finds_its_singular(word: str, form: str) -> None:
    forms, _ = WORDNET.related(normalize_arabic(word))
    assert normalize_arabic(form) in forms


@pytest.mark.parametrize(("word", "synonym"), [("قائد", "زعيم"), ("قائد", "رئيس")])
def test_a_word_brings_its_synonyms(word: str, synonym: str) -> None:
    _, synonyms = WORDNET.related(normalize_arabic(word))
    assert normalize_arabic(synonym) in synonyms


@pytest.mark.parametrize("name", ["بوتين", "بينيت", "بينت", "نتنياهو", "زيلينسكي", "لبوتين", "سوتشي", "حماس"])
def test_a_name_is_never_expanded(name: str) -> None:
    assert WORDNET.related(normalize_arabic(name)) == ((), ())


def test_a_place_brings_only_its_other_spelling() -> None:
    assert WORDNET.related(normalize_arabic("موسكو")) == ((), ("مسكو",))


AWN_SAMPLE = """# Arabic WordNet (AWN v2)\tarb\thttp://www.globalwordnet.org/AWN/\tCC BY SA 3.0
00789448-v\tarb:lemma\tاِتَّصَلَ
00789448-v\tarb:lemma:root\tوصل
00789448-v\tarb:lemma\tهاتَفَ
00789448-v\tarb:lemma\tكَلَّمَ
09623038-n\tarb:lemma\tقائِد
09623038-n\tarb:lemma:root\tقود
09623038-n\tarb:lemma:brokenplural\tقادة
09623038-n\tarb:lemma\tزَعِيم
13549672-n\tarb:lemma\tإطلاق سراح
13549672-n\tarb:lemma\tتحرير
"""


def test_the_table_is_derived_normalized_and_the_same_every_time(tmp_path: Path) -> None:
    source = tmp_path / "wn-data-arb.tab"
    source.write_text(AWN_SAMPLE, encoding="utf-8")
    table = derive_table(source)
    assert table == derive_table(source)
    assert "plural\tقايد\tقاده" in table.splitlines()  # diacritics gone, hamza seat and ة folded as in the index
    target = tmp_path / "awn.tsv"
    target.write_text(table, encoding="utf-8")
    wordnet = WordNet.load(target)
    assert wordnet.related("هاتف")[1] == ("اتصل", "كلم")
    assert wordnet.related("القاده")[0] == ("قايد",)
    assert wordnet.related("تحرير") == ((), ())  # a multi-word synonym (إطلاق سراح) is left out: one word a term


def test_the_shipped_table_carries_its_licence() -> None:
    folder = Path(__file__).resolve().parents[3] / "retrieval" / "text" / "wordnet"
    assert "Creative Commons Attribution-ShareAlike" in (folder / "LICENSE").read_text(encoding="utf-8")
    assert (folder / "awn.tsv").stat().st_size < 500_000
