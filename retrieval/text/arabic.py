"""Arabic text for matching: normalization, tokens, light stems, name skeletons, question words.

Everything here is for matching only. Displayed text is always a slice of the original article.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from functools import lru_cache

import Stemmer

from retrieval.text.isri import isri_root

_SNOWBALL = Stemmer.Stemmer("arabic")

# Bump whenever anything below changes what a text analyzes to: a saved index built by another
# version is refused and rebuilt.
ANALYZER_VERSION = "arabic-12"

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # harakat, Quranic marks, tatweel
_LETTERS = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
        "ى": "ي", "ی": "ي", "ې": "ي", "ئ": "ي",
        "ؤ": "و",
        "ة": "ه", "ۀ": "ه", "ە": "ه",
        "ک": "ك", "گ": "ك", "پ": "ب", "چ": "ج", "ژ": "ز", "ڤ": "ف",
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Eastern Arabic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
    }
)
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")
# Tokens whose analysis is kept, per function. Questions repeat their words, and within one token the same
# stem is asked for several times; an index build analyzes each distinct token once, so a larger cache only
# held memory: at 2.3 KB a token, 500,000 of them kept each analyzing process at 360 MiB after SaudiNewsNet.
TOKEN_CACHE = 20_000
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def normalize_arabic(text: str) -> str:
    """Fold the spelling variants Arabic writers mix freely, so that they match.

    NFKC (presentation forms, ligatures), diacritics and tatweel removed, alef and hamza seats
    folded (أ إ آ ٱ → ا, ؤ → و, ئ ى → ي), ة → ه, Persian letters and Eastern digits to Arabic and ASCII,
    Latin lower-cased.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _DIACRITICS.sub("", text)
    return text.translate(_LETTERS).lower()


def contains_arabic(text: str) -> bool:
    """True when the text has at least one Arabic letter."""
    return bool(_ARABIC_LETTER.search(text))


def tokenize(text: str) -> list[str]:
    """Normalized word tokens: letters and digits; punctuation and symbols separate them.

    Normalizing first matters: scikit-learn's default pattern drops fully diacritized words,
    because the marks are not word characters.
    """
    return _TOKEN.findall(normalize_arabic(text))


def _normalized_set(words: str) -> frozenset[str]:
    return frozenset(normalize_arabic(w) for w in words.split())


# Question words, MSA and colloquial (Egyptian, Levantine, Gulf). They say what is asked, not about what.
QUESTION_WORDS = _normalized_set(
    """
    متى امتى إمتى ايمتى إيمتى امته إمته شوكت وينتا وينته فوقاش
    من مين منو شكون منين ما ماذا مالذي ماهو ماهي شو شنو شنهو اشنو ايش إيش ايه إيه وش واش
    كم كام بكام قديش قداش أديش اديش قديه شكد شقد كيف كيفاش ازاي إزاي شلون أين وين فين
    هل لماذا لمذا ليش ليه علاش علاه لاش لم أي أية اي اللي الذي التي الذين اللذين اللتين اللواتي
    """
)

# Function words: they carry no topic. Kept short on purpose: a content word here costs recall.
STOPWORDS = QUESTION_WORDS | _normalized_set(
    """
    في فى على علي إلى الى الي عن مع من منذ مذ حتى خلال عند لدى لدي بين بعد قبل ضد نحو عبر حول دون
    و أو او ثم بل لكن لكنه لكنها ولكن غير سوى إلا الا أن إن ان أنه إنه انه أنها إنها انها كان كانت يكون
    تكون كانوا قد لقد لا لن لم ليس ليست ما هو هي هم هن هما نحن أنا انا أنت انت هذا هذه ذلك تلك هذي هاد
    هادا هيك هنا هناك هنالك ثمة كل بعض أي أيضا ايضا كما مثل عليه عليها عليهم فيه فيها فيهم منه منها
    منهم له لها لهم به بها بهم إليه اليه إليها اليها عنه عنها عنهم التي الذي الذين اللي يا جدا فقط
    حيث إذ اذ إذا اذا لو لولا كي لكي قال قالت وقال وقالت يقول تقول أضاف وأضاف اضاف بحسب وفقا وفق
    راح رح بدو عم مش مو شي شيء اشي هلق هلأ دلوقتي حاليا
    """
)

# A short list of unambiguous prefixes and suffixes (after Larkey's light10 stemmer). Surface forms
# are always kept as features too, so names survive: Snowball turns بوتين into وتين.
_PREFIXES = ("وبال", "وكال", "وال", "بال", "كال", "فال", "لل", "ال")
_SUFFIXES = ("هما", "كما", "تين", "تان", "ات", "ون", "ين", "ان", "ها", "هم", "هن", "كم", "نا", "يه", "ه", "ي")


@lru_cache(maxsize=TOKEN_CACHE)
def light_stem(token: str) -> str:
    """Strip a conjunction with the article (وال، بال، لل …) or the bare article, then one suffix, keeping ≥ 3 letters.

    A lone proclitic (ب ل ك و ف without the article) is not stripped here: بوتين would lose its ب.
    ``clitic_free`` offers that reading as a separate feature instead.
    """
    word = token
    if word.startswith(_PREFIXES):  # one C call rules out most words before the loop
        for prefix in _PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                word = word[len(prefix):]
                break
    if word.endswith(_SUFFIXES):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)]
    return word


def clitic_free(token: str) -> str | None:
    """The token without a leading ب ل ك و ف, when that may be a clitic (لبوتين → بوتين); None otherwise."""
    if token[0] in "وفبلك" and len(token) >= 5 and not token.startswith(_PREFIXES):
        return token[1:]
    return None


_LONG_VOWELS = re.compile("[اوي]")


@lru_cache(maxsize=TOKEN_CACHE)
def skeleton(token: str) -> str:
    """The word without its inner long vowels: بينيت and بينت both give بنت, زيلينسكي and زيلنسكي زلنسك.

    Foreign names are spelled with and without matres lectionis; their skeletons agree.
    """
    stem = light_stem(token)
    if len(stem) < 4:
        return ""
    inner = _LONG_VOWELS.sub("", stem[1:-1])
    return stem[0] + inner + stem[-1]


@lru_cache(maxsize=TOKEN_CACHE)
def token_features(token: str) -> tuple[str, ...]:
    """The index terms of one normalized token: surface form, light stem or name skeleton, Snowball stem, root (prefixed).

    Exact matches count most because they match on every feature; variants on some.
    """
    if token in STOPWORDS or (len(token) < 2 and not token.isdigit()):
        return ()
    features = [token]
    skel = skeleton(token)
    features.append("#" + skel if skel else "~" + light_stem(token))
    bare = clitic_free(token)
    if bare and bare not in STOPWORDS:
        features.append("#" + skeleton(bare) if skeleton(bare) else "~" + light_stem(bare))
    # Snowball's stem strips verb affixes the light stem leaves (توقفت → توقف, تعثرت → تعثر); it over-stems
    # names (بوتين → وتين), which is why it is one reading among several. XQuAD hit@1 0.708 → 0.713.
    snowball = "~" + _SNOWBALL.stemWord(token)
    if len(snowball) >= 4 and snowball[1:] != token and snowball not in features:
        features.append(snowball)
    root = isri_root(token)  # a root (ISRI): هاتف and هاتفية, النصر and الانتصار meet here
    if len(root) >= 3 and root != token:
        features.append("^" + root)
    return tuple(features)


@lru_cache(maxsize=TOKEN_CACHE)
def stem_ngrams(token: str, low: int, high: int) -> tuple[str, ...]:
    """Character n-grams of the token's light stem, with word boundaries marked: shared by inflections."""
    word = f"<{light_stem(token)}>"
    return tuple(word[i : i + n] for n in range(low, high + 1) for i in range(len(word) - n + 1))


@lru_cache(maxsize=TOKEN_CACHE)
def token_terms(token: str, ngrams: tuple[int, int] | None = None) -> tuple[str, ...]:
    """The index terms of one normalized token: its features, then its stem's n-grams when it has features."""
    features = token_features(token)
    return features + stem_ngrams(token, *ngrams) if ngrams and features else features


def analyze(text: str, ngrams: tuple[int, int] | None = None) -> list[str]:
    """Text to index terms (the same for articles and questions): the terms of each token, in order."""
    terms: list[str] = []
    for token in tokenize(text):
        terms.extend(token_terms(token, ngrams))
    return terms


def as_written(text: str) -> dict[str, str]:
    """Each normalized token of the text, as the text writes it (المجدره → المجدرة), for showing it back."""
    written: dict[str, str] = {}
    for chunk in text.split():
        tokens = tokenize(chunk)
        if len(tokens) == 1:  # one word, with its marks, without the punctuation around it
            written.setdefault(tokens[0], _EDGE_PUNCTUATION.sub("", chunk) or tokens[0])
    return written


_EDGE_PUNCTUATION = re.compile(r"^[^\wؐ-ًؚ-ٰٟ]+|[^\wؐ-ًؚ-ٰٟ]+$")


def content_tokens(text: str) -> list[str]:
    """The tokens of a question that say what it is about (question and function words dropped, also under
    a conjunction: ومتى؟ فأين؟ ومع)."""
    return [t for t in tokenize(text) if token_features(t) and _without_conjunction(t) not in STOPWORDS]


def _without_conjunction(token: str) -> str:
    return token[1:] if len(token) > 2 and token[0] in "وف" else token


class QuestionType(Enum):
    WHEN = "when"
    HOW_MANY = "how_many"
    WHO = "who"
    WHERE = "where"
    WHY = "why"
    YES_NO = "yes_no"
    OTHER = "other"


_TYPE_CUES: tuple[tuple[QuestionType, frozenset[str]], ...] = (
    (QuestionType.WHEN, _normalized_set("متى امتى إمتى ايمتى إيمتى امته إمته شوكت وينتا وينته فوقاش تاريخ")),
    (QuestionType.HOW_MANY, _normalized_set("كم كام بكام قديش قداش أديش اديش قديه شكد شقد عدد")),
    (QuestionType.WHY, _normalized_set("لماذا لمذا ليش ليه علاش علاه لاش")),
    (QuestionType.WHERE, _normalized_set("أين وين فين منين")),
    (QuestionType.WHO, _normalized_set("مين منو شكون")),
    (QuestionType.YES_NO, _normalized_set("هل")),
)
_ANY_TYPE_CUE = frozenset().union(*(cues for _, cues in _TYPE_CUES))
_WHEN_NOUNS = _normalized_set("يوم سنة سنه عام شهر وقت تاريخ ساعة")
_WHERE_NOUNS = _normalized_set("مكان مدينة منطقة دولة بلد موقع")


def question_type(question: str) -> QuestionType:
    """What kind of answer the question wants, from its question words (MSA and colloquial)."""
    tokens = tokenize(question)
    for i, token in enumerate(tokens):
        bare = _without_conjunction(token)
        if token in _ANY_TYPE_CUE or bare in _ANY_TYPE_CUE:  # one lookup passes over most words of a long question
            for qtype, cues in _TYPE_CUES:
                if token in cues or (bare in cues and bare in QUESTION_WORDS):
                    return qtype
        # لم opening a question is لِمَ (why); anywhere else it negates a verb (من لم يرمِ؟ asks who).
        if token == "لم" and i == 0:
            return QuestionType.WHY
        # "في أي يوم/سنة" asks when; "في أي منطقة" asks where; "من" opening a question asks who.
        if token in ("اي", "ايه") and i + 1 < len(tokens):
            following = tokens[i + 1]
            if following in _WHEN_NOUNS:
                return QuestionType.WHEN
            if following in _WHERE_NOUNS:
                return QuestionType.WHERE
    if tokens and _without_conjunction(tokens[0]) == "من":  # ومن قال ذلك؟
        return QuestionType.WHO
    return QuestionType.OTHER


_MONTHS_AND_DAYS = _normalized_set(
    """
    يناير فبراير مارس أبريل ابريل مايو يونيو يوليو أغسطس اغسطس سبتمبر أكتوبر اكتوبر نوفمبر ديسمبر
    كانون شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين جانفي فيفري
    السبت الأحد الاثنين الإثنين الثلاثاء الأربعاء الخميس الجمعة
    صباح مساء ظهر ليلة الليلة اليوم أمس الأمس غدا الماضي المقبل القادم أواخر أوائل منتصف مطلع نهاية بداية
    عام العام سنة السنة شهر الشهر أسبوع الأسبوع يوم عقد العقد العقدين قرن منذ ساعة ساعات دقيقة دقائق
    بعد قبل عقب اثر إثر
    """
)
_NUMBER_WORDS = _normalized_set(
    """
    واحد اثنان اثنين ثلاث ثلاثة أربع أربعة خمس خمسة ست ستة سبع سبعة ثماني ثمانية تسع تسعة عشر عشرة
    عشرين ثلاثين أربعين خمسين ستين سبعين ثمانين تسعين مئة مائة مئات ألف آلاف مليون ملايين مليار
    عشرات حوالي نحو أكثر أقل الأول الأولى الثاني الثانية الثالث الثالثة مرة مرات
    """
)
_CAUSE_WORDS = _normalized_set("بسبب لأن لان لانه لأنه نظرا بهدف لكي كي أجل لأجل يرجع نتيجة سعيا خشية بغية حتى إثر اثر")
_DIGIT = re.compile(r"\d")


CUE_TIME, CUE_NUMBER, CUE_CAUSE = 1, 2, 4
HEADING = 8  # not a cue: set by the index on titles and sub-headings
_CUE_OF_TYPE = {QuestionType.WHEN: CUE_TIME, QuestionType.HOW_MANY: CUE_NUMBER, QuestionType.WHY: CUE_CAUSE}


def sentence_cues(sentence: str) -> int:
    """Bit flags for what a sentence holds: a time (CUE_TIME), a number (CUE_NUMBER), a cause (CUE_CAUSE)."""
    flags = 0
    for token in tokenize(sentence):
        flags |= token_cues(token)
    return flags


@lru_cache(maxsize=TOKEN_CACHE)
def token_cues(token: str) -> int:
    """The cue flags of one normalized token (see ``sentence_cues``)."""
    if _DIGIT.search(token):
        return CUE_TIME | CUE_NUMBER
    for word in _cue_readings(token):  # the first reading that is a cue word decides: الاثنين is Monday, not "two"
        flags = (
            (CUE_TIME if word in _MONTHS_AND_DAYS else 0)
            | (CUE_NUMBER if word in _NUMBER_WORDS else 0)
            | (CUE_CAUSE if word in _CAUSE_WORDS else 0)
        )
        if flags:
            return flags
    return 0


@lru_cache(maxsize=TOKEN_CACHE)
def _cue_readings(token: str) -> tuple[str, ...]:
    """The token as written, then without its conjunction, article or preposition (والمساء → المساء → مساء),
    then without the adverbial alef (صباحا → صباح): a cue word is found under any of them."""
    readings = [token]
    if token[0] in "وف" and len(token) >= 4:
        readings.append(token[1:])
    for word in tuple(readings):
        for prefix in ("ال", "بال", "لل", "ب", "ل"):
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                readings.append(word[len(prefix):])
                break
    readings += [word[:-1] for word in readings if word.endswith("ا") and len(word) >= 4]
    return tuple(readings)


# Time words that relate a time rather than state one: not shown in bold on their own.
_RELATIVE_TIME = _normalized_set("بعد قبل عقب اثر إثر منذ")
# Words that date a sentence by the day it was written: "أمس" means nothing a month later.
_RELATIVE_DATES = _normalized_set("أمس الأمس البارحة اليوم الليلة غدا الماضي الماضية المقبل المقبلة القادم القادمة الجاري الحالي")
_APPROXIMATE = _normalized_set("حوالي نحو أكثر أقل")


def cue_spans(text: str, cue: int) -> tuple[tuple[int, int], ...]:
    """Where the text says what a question asked for: (start, end) offsets of its times (CUE_TIME) or numbers
    (CUE_NUMBER), neighbouring words joined (يوم الأحد, 160 ألف); punctuation around them left out."""
    spans: list[tuple[int, int]] = []
    for chunk in re.finditer(r"\S+", text):
        if not any(_shows(token, cue) for token in tokenize(chunk.group())):
            continue
        inner = _EDGE_PUNCTUATION.sub("", chunk.group())
        start = chunk.start() + chunk.group().find(inner) if inner else chunk.start()
        end = start + len(inner) if inner else chunk.end()
        if spans and not text[spans[-1][1] : start].strip():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return tuple(spans)


def _shows(token: str, cue: int) -> bool:
    if not token_cues(token) & cue:
        return False
    readings = _cue_readings(token)
    return not any(word in _RELATIVE_TIME or word in _APPROXIMATE for word in readings[:1] + readings[-1:])


def dated_relatively(text: str) -> bool:
    """The text dates itself by the day it was written (أمس، اليوم، الأحد الماضي، الشهر المقبل …)."""
    return any(_dates_relatively(token) for token in tokenize(text))


@lru_cache(maxsize=TOKEN_CACHE)
def _dates_relatively(token: str) -> bool:
    return any(word in _RELATIVE_DATES for word in _cue_readings(token))


def wanted_cue(kind: QuestionType) -> int:
    """The cue flag a question of this kind looks for in an answer (0: none)."""
    return _CUE_OF_TYPE.get(kind, 0)
