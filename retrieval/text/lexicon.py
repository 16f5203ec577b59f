"""Words a question may use for the words an article uses: everyday colloquial words and their MSA equivalents.

Questions come in dialect, articles are written in MSA. The lexicon is for questions only: articles are
indexed as written, and a question's colloquial word brings its MSA equivalents along at a lower weight
(``ranking.question_vector``). Written from general knowledge of the dialects, not from any evaluation set.
"""

from __future__ import annotations

from functools import lru_cache

from retrieval.text.arabic import normalize_arabic, token_features

# Everyday colloquial words (Levantine, Egyptian, Gulf, Iraqi, Maghrebi). One line a meaning:
# colloquial forms = MSA equivalents.
COLLOQUIAL_TABLE = """
    اجا إجا جه جا اجو اجوا = جاء وصل حضر
    شاف شافو شافت شوف يشوف = رأى شاهد التقى
    حكى احكى حكت حكيو = تحدث قال صرح
    اتكلم اتكلمت = تحدث
    عايز عاوز عايزه بيبغى يبغى يبي ودو = يريد يرغب
    مات ماتو ماتوا يموت = توفي قتل
    خلّص خلصت = أنهى انتهى
    بلش بلّش بلشت = بدأ
    رجع رجعت رجعو = عاد
    طلع طلعت طلعو = خرج
    جاب جابت جابو يجيب = أحضر جلب
    حط حطت حطو يحط = وضع
    ضل ضلت ضلو يضل تضل = بقي ظل استمر
    صار صارت = أصبح حدث جرى
    زعل زعلت = غضب
    رن = اتصل
    تلفون تليفون = هاتف اتصال مكالمة
    منيح منيحه منيحة كويس كويسه كويسة زين مليح = جيد جيدة
    كتير كتيره = كثير
    شويه شوية شوي = قليل
    قلقان قلقانه قلقانة = قلق قلقة
    زعلان زعلانه = غاضب
    مبسوط مبسوطه = سعيد راض
    امبارح مبارح = أمس
    بكره بكرة = غدا
    زلمه زلمة = رجل
    حرمه حرمة = امرأة
    ولاد = أطفال أبناء
    مصاري فلوس = أموال مال
"""

_VERB_PREFIXES = ("بي", "بت", "بن", "ب", "ي", "ت", "ن", "و", "ف")
_VERB_SUFFIXES = ("وها", "وهم", "وه", "ها", "هم", "وا", "و", "ه", "ت", "ي")


class Lexicon:
    """Words and their equivalents; a word is found under one prefix and one suffix of a verb."""

    def __init__(self, entries: dict[str, tuple[str, ...]]) -> None:
        self.entries = entries
        self.equivalents = lru_cache(maxsize=100_000)(self._equivalents)

    @classmethod
    def of_equivalents(cls, table: str) -> Lexicon:
        """One line a meaning: ``forms = equivalents``; a form brings its equivalents."""
        entries: dict[str, tuple[str, ...]] = {}
        for line in table.strip().splitlines():
            forms, equivalents = line.split("=")
            words = tuple(normalize_arabic(word) for word in equivalents.split())
            for form in forms.split():
                entries[normalize_arabic(form)] = words
        return cls(entries)

    def _equivalents(self, token: str) -> tuple[str, ...]:
        """The words that may stand for this normalized token, or () when the lexicon does not know it."""
        return next((self.entries[form] for form in _readings(token) if form in self.entries), ())


def _readings(token: str) -> list[str]:
    """The token, then without one prefix and/or one suffix, keeping at least three letters (جه in وجه is not جاء)."""
    stems = [token] + [token[len(p):] for p in _VERB_PREFIXES if token.startswith(p) and len(token) - len(p) >= 3]
    return stems + [s[: -len(x)] for s in stems for x in _VERB_SUFFIXES if s.endswith(x) and len(s) - len(x) >= 3]


COLLOQUIAL = Lexicon.of_equivalents(COLLOQUIAL_TABLE)


def word_features(token: str, lexicon: Lexicon) -> tuple[str, ...]:
    """The features a question word is found under in a sentence: its own, and those of its equivalents."""
    features = token_features(token)
    for word in lexicon.equivalents(token):
        features += token_features(word)
    return tuple(dict.fromkeys(features))
