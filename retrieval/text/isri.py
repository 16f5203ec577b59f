"""The ISRI Arabic root stemmer (Taghva, Elkhoury and Coombs 2005), as NLTK implements it.

Ported from NLTK's ``nltk/stem/isri.py`` (Apache License 2.0, © NLTK Project; author Hosam Algasaier)
so that serving does not import NLTK: its package import pulls in scipy.stats and more, about 90 MiB of
resident memory and a second of start-up, for one function. ``tests/retrieval/test_isri.py`` checks
that it agrees with NLTK word for word.
"""

from __future__ import annotations

import re

_P3 = ("كال", "بال", "ولل", "وال")
_P2 = ("ال", "لل")
_P1 = ("ل", "ب", "ف", "س", "و", "ي", "ت", "ن", "ا")
_S3 = ("تمل", "همل", "تان", "تين", "كمل")
_S2 = ("ون", "ات", "ان", "ين", "تن", "كم", "هن", "نا", "يا", "ها", "تم", "كن", "ني", "وا", "ما", "هم")
_S1 = ("ة", "ه", "ي", "ك", "ت", "ا", "ن")
_PR4 = ("م", "ا", "اوي", "ة")
_PR53 = ("ات", "ايو", "اتم", "ميت", "مت", "او", "ام")
_SHORT_VOWELS = re.compile("[\u064b-\u0652]")
_INITIAL_HAMZA = re.compile("^[\u0622\u0623\u0625]")
_STOP_TEXT = """يكون وليس وكان كذلك التي وبين عليها مساء الذي وكانت ولكن والتي تكون اليوم اللذين عليه كانت لذلك أمام
هناك منها مازال لازال لايزال مايزال اصبح أصبح أمسى امسى أضحى اضحى مابرح مافتئ ماانفك لاسيما ولايزال الحالي
اليها الذين فانه والذي وهذا لهذا فكان ستكون اليه يمكن بهذا الذى"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


def isri_root(token: str) -> str:
    """The root of an Arabic word, or its normalized form when no pattern applies."""
    word = _SHORT_VOWELS.sub("", token)
    if word in _STOP_WORDS:
        return word
    word = _strip_affixes(word)
    if len(word) >= 4 and word[:2] == "وو":
        word = word[1:]
    word = _INITIAL_HAMZA.sub("ا", word)
    if len(word) == 4:
        word = _pattern4(word)
    elif len(word) == 5:
        word = _end5(_pattern53(word))
    elif len(word) == 6:
        word = _end6(_pattern6(word))
    elif len(word) == 7:
        word = _suffix1(word)
        if len(word) == 7:
            word = _prefix1(word)
        if len(word) == 6:
            word = _end6(_pattern6(word))
    return word


def _strip_affixes(word: str) -> str:
    """One three- or two-letter prefix, then one three- or two-letter suffix, keeping enough letters."""
    if len(word) >= 6 and word.startswith(_P3):
        word = word[3:]
    elif len(word) >= 5 and word.startswith(_P2):
        word = word[2:]
    if len(word) >= 6 and word.endswith(_S3):
        return word[:-3]
    if len(word) >= 5 and word.endswith(_S2):
        return word[:-2]
    return word


def _suffix1(word: str) -> str:
    return word[:-1] if word.endswith(_S1) else word


def _prefix1(word: str) -> str:
    return word[1:] if word.startswith(_P1) else word


def _pattern4(word: str) -> str:
    if word[0] in _PR4[0]:  # مفعل
        return word[1:]
    if word[1] in _PR4[1]:  # فاعل
        return word[:1] + word[2:]
    if word[2] in _PR4[2]:  # فعال فعول فعيل
        return word[:2] + word[3]
    if word[3] in _PR4[3]:  # فعلة
        return word[:-1]
    word = _suffix1(word)
    return _prefix1(word) if len(word) == 4 else word


def _pattern53(word: str) -> str:
    # The first pattern that fits decides, tested one by one (building all fifteen first cost a fifth of a token's analysis).
    if word[2] in _PR53[0] and word[0] == "ا":  # افتعل افاعل
        return word[1] + word[3:]
    if word[3] in _PR53[1] and word[0] == "م":  # مفعول مفعال مفعيل
        return word[1:3] + word[4]
    if word[0] in _PR53[2] and word[4] == "ة":  # مفعلة تفعلة افعلة
        return word[1:4]
    if word[0] in _PR53[3] and word[2] == "ت":  # مفتعل يفتعل تفتعل
        return word[1] + word[3:]
    if word[0] in _PR53[4] and word[2] == "ا":  # مفاعل تفاعل
        return word[1] + word[3:]
    if word[2] in _PR53[5] and word[4] == "ة":  # فعولة فعالة
        return word[:2] + word[3]
    if word[0] in _PR53[6] and word[1] == "ن":  # انفعل منفعل
        return word[2:]
    if word[3] == "ا" and word[0] == "ا":  # افعال
        return word[1:3] + word[4]
    if word[4] == "ن" and word[3] == "ا":  # فعلان
        return word[:3]
    if word[3] == "ي" and word[0] == "ت":  # تفعيل
        return word[1:3] + word[4]
    if word[3] == "و" and word[1] == "ا":  # فاعول
        return word[0] + word[2] + word[4]
    if word[2] == "ا" and word[1] == "و":  # فواعل
        return word[0] + word[3:]
    if word[3] == "ئ" and word[2] == "ا":  # فعائل
        return word[:2] + word[4]
    if word[4] == "ة" and word[1] == "ا":  # فاعلة
        return word[0] + word[2:4]
    if word[4] == "ي" and word[2] == "ا":  # فعالي
        return word[:2] + word[3]
    word = _suffix1(word)
    return _prefix1(word) if len(word) == 5 else word


def _pattern54(word: str) -> str:
    if word[0] in _PR53[2]:  # تفعلل افعلل مفعلل
        return word[1:]
    if word[4] == "ة":  # فعللة
        return word[:4]
    if word[2] == "ا":  # فعالل
        return word[:2] + word[3:]
    return word


def _end5(word: str) -> str:
    if len(word) == 4:
        return _pattern4(word)
    if len(word) == 5:
        return _pattern54(word)
    return word


def _pattern6(word: str) -> str:
    if word.startswith(("است", "مست")):  # استفعل مستفعل
        return word[3:]
    if word[0] == "م" and word[3] == "ا" and word[5] == "ة":  # مفعالة
        return word[1:3] + word[4]
    if word[0] == "ا" and word[2] == "ت" and word[4] == "ا":  # افتعال
        return word[1] + word[3] + word[5]
    if word[0] == "ا" and word[3] == "و" and word[2] == word[4]:  # افعوعل
        return word[1] + word[4:]
    if word[0] == "ت" and word[2] == "ا" and word[4] == "ي":  # تفاعيل
        return word[1] + word[3] + word[5]
    word = _suffix1(word)
    return _prefix1(word) if len(word) == 6 else word


def _pattern64(word: str) -> str:
    if word[0] == "ا" and word[4] == "ا":  # افعلال
        return word[1:4] + word[5]
    if word.startswith("مت"):  # متفعلل
        return word[2:]
    return word


def _end6(word: str) -> str:
    if len(word) == 5:
        return _end5(_pattern53(word))
    if len(word) == 6:
        return _pattern64(word)
    return word
