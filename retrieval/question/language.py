"""Which language a question is in: Arabic, or one the encoder can carry to the Arabic articles (English,
French). The articles stay Arabic and the quotes verbatim; a question in another language gets a note that
says so, in its own language.
"""

from __future__ import annotations

import re

from retrieval.text.arabic import contains_arabic

ARABIC, ENGLISH, FRENCH, OTHER = "ar", "en", "fr", "other"
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ÿ]+")
# Words French questions use and English ones do not (and the reverse is the default).
_FRENCH_WORDS = """le la les des du un une est sont qui que quoi quand où pourquoi comment combien quel quelle quels
quelles avec dans sur pour par au aux ce cette ces il elle ils elles a été ont qu est-ce"""
_ENGLISH_WORDS = "the is are was were who what when where why how which did does do of in on with to a an"
_FRENCH = frozenset(_FRENCH_WORDS.split())
# Letters and marks English and French do not write (Spanish, Portuguese, German, Nordic …).
_NEITHER = re.compile("[¿¡ñãõßäöåøáíóú]")
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
SOURCES_NOTE = {
    ENGLISH: "The sources are in Arabic; the quotes are verbatim.",
    FRENCH: "Les sources sont en arabe ; les citations sont reproduites telles quelles.",
}


def question_language(text: str) -> str:
    """"ar" for a question with Arabic letters; "en" or "fr" for one in Latin script that reads as English or
    French (their function words, or a question mark after two or three words); "other" for anything else
    («hello» included)."""
    if contains_arabic(text):
        return ARABIC
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    if not words or _NEITHER.search(text.lower()):
        return OTHER
    french = sum(w in _FRENCH for w in words) + (2 if re.search(r"[àâçéèêëîïôûùüÿœ]", text.lower()) else 0)
    english = sum(w in _ENGLISH for w in words)
    if not french and not english:  # a greeting, a name, keywords: nothing says it is an English or French question
        return ENGLISH if "?" in text and 2 <= len(words) <= 3 else OTHER
    return FRENCH if french > english else ENGLISH
