"""Arabic WordNet, compacted for a question's words: broken plurals ↔ singulars, and news-sized synonym sets.

Derived once from Arabic WordNet v2 (Abouenour, Bouzoubaa, Rosso 2015; CC BY-SA 3.0; see
``retrieval/text/wordnet/LICENSE``) by ``isnad wordnet`` into ``retrieval/text/wordnet/awn.tsv``, normalized like the
index. A question's word brings its plural or singular (قائد ↔ قادة) and its synonyms (هاتف → اتصل كلم) at a
lower weight (``ranking.question_vector``), and a sentence holding one of them holds the word.

Which synonyms: single words of synsets of two to MAX_SYNSET lemmas, for words in at most MAX_SENSES
synsets. A word of many senses (اتصل: touch, relate, call, join …) or a large synset brings more noise
than paraphrase; measured on news-dev and XQuAD (README, "Arabic WordNet").
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from retrieval.text.arabic import STOPWORDS, clitic_free, light_stem, normalize_arabic

TABLE = Path(__file__).with_name("wordnet") / "awn.tsv"
MAX_SYNSET = 4
MAX_SENSES = 3
MAX_SYNONYMS = 6


def derive_table(awn_tab: Path) -> str:
    """The shipped table's text from AWN's ``wn-data-arb.tab``: ``plural<TAB>word<TAB>plural`` lines, then
    ``synonyms<TAB>word<TAB>its synonyms`` lines; sorted, so the output is the same for the same input."""
    synsets: dict[str, list[str]] = defaultdict(list)
    plurals: set[tuple[str, str]] = set()
    lemma = None
    for line in awn_tab.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        synset, kind, value = parts
        word = normalize_arabic(value).strip()
        single = word and " " not in word and len(word) >= 3 and word not in STOPWORDS
        if kind == "arb:lemma":
            lemma = word if single else None
            if single and word not in synsets[synset]:
                synsets[synset].append(word)
        elif kind == "arb:lemma:brokenplural" and lemma and single and word != lemma:
            plurals.add((lemma, word))
    senses: dict[str, int] = defaultdict(int)
    for words in synsets.values():
        for word in words:
            senses[word] += 1
    synonyms: dict[str, list[str]] = defaultdict(list)
    for words in synsets.values():
        if not 2 <= len(words) <= MAX_SYNSET:
            continue
        for word in words:
            if senses[word] <= MAX_SENSES:
                synonyms[word].extend(w for w in words if w != word and w not in synonyms[word])
    lines = [f"plural\t{singular}\t{plural}" for singular, plural in sorted(plurals)]
    lines += [f"synonyms\t{word}\t{' '.join(sorted(related)[:MAX_SYNONYMS])}" for word, related in sorted(synonyms.items())]
    return "\n".join(lines) + "\n"


class WordNet:
    """A question word's other forms (plural or singular) and synonyms, found under its article and clitics."""

    def __init__(self, forms: dict[str, tuple[str, ...]], synonyms: dict[str, tuple[str, ...]]) -> None:
        self.forms = forms
        self.synonyms = synonyms
        self.related = lru_cache(maxsize=100_000)(self._related)

    @classmethod
    def load(cls, path: Path = TABLE) -> WordNet:
        forms: dict[str, list[str]] = defaultdict(list)
        synonyms: dict[str, tuple[str, ...]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            kind, word, related = line.split("\t")
            if kind == "plural":
                forms[word].append(related)
                forms[related].append(word)
            else:
                synonyms[word] = tuple(related.split())
        return cls({w: tuple(dict.fromkeys(v)) for w, v in forms.items()}, synonyms)

    def _related(self, token: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(other forms, synonyms) of a normalized token, or two empty tuples."""
        for reading in _readings(token):
            forms, synonyms = self.forms.get(reading, ()), self.synonyms.get(reading, ())
            if forms or synonyms:
                return forms, synonyms
        return (), ()


def _readings(token: str) -> tuple[str, ...]:
    """The token, without its article (القادة → قاده), its light stem, and without a leading clitic (لقادة)."""
    readings = [token, *(token[len(p):] for p in ARTICLES if token.startswith(p) and len(token) - len(p) >= 3), light_stem(token)]
    bare = clitic_free(token)
    if bare:
        readings += [bare, light_stem(bare)]
    return tuple(dict.fromkeys(readings))


ARTICLES = ("وال", "بال", "فال", "كال", "لل", "ال")


WORDNET = WordNet.load() if TABLE.exists() else WordNet({}, {})
