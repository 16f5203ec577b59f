"""Arabic normalization, tokens, features and question kinds, as tables of input and expected output."""

import pytest

from retrieval.text.arabic import (
    CUE_CAUSE,
    CUE_NUMBER,
    CUE_TIME,
    QuestionType,
    analyze,
    as_written,
    contains_arabic,
    content_tokens,
    cue_spans,
    dated_relatively,
    light_stem,
    normalize_arabic,
    question_type,
    sentence_cues,
    token_features,
    tokenize,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("أحمد إلى آخر ٱلكتاب", "احمد الي اخر الكتاب"),  # hamza and wasla alef forms, ى
        ("مكتبة", "مكتبه"),  # ta marbuta
        ("مُحَمَّدٌ", "محمد"),  # diacritics
        ("بينيـــت", "بينيت"),  # tatweel
        ("٢٠٢١ و۱۲۳", "2021 و123"),  # Eastern Arabic and Persian digits
        ("مسؤول مسئول", "مسوول مسيول"),  # hamza seats
        ("ﻻ", "لا"),  # presentation form, NFKC
        ("Putin", "putin"),
    ],
)
def test_normalize_arabic(text: str, expected: str) -> None:
    assert normalize_arabic(text) == expected


def test_fully_diacritized_words_are_tokens() -> None:
    assert tokenize("اَلرَّئِيسُ الرُّوسِيُّ، «بوتين»؟") == ["الرييس", "الروسي", "بوتين"]


@pytest.mark.parametrize(
    ("spelling_a", "spelling_b"),
    [
        ("بينيت", "بينت"),  # a name's two spellings: skeleton
        ("زيلينسكي", "زيلنسكي"),
        ("لبينيت", "بينيت"),  # a clitic on a name
        ("وبوتين", "بوتين"),
        ("الانتصار", "والانتصار"),
        ("توقفت", "توقف"),  # a verb's suffix: Snowball
        ("النصر", "الانتصار"),  # one root
    ],
)
def test_spelling_variants_share_a_feature(spelling_a: str, spelling_b: str) -> None:
    shared = set(token_features(normalize_arabic(spelling_a))) & set(token_features(normalize_arabic(spelling_b)))
    assert shared


@pytest.mark.parametrize(("token", "stem"), [("والحكومه", "حكوم"), ("بالكرملين", "كرمل"), ("بوتين", "بوت"), ("المفاوضات", "مفاوض")])
def test_light_stem(token: str, stem: str) -> None:
    assert light_stem(token) == stem


def test_names_keep_their_surface_form() -> None:
    assert "بوتين" in token_features("بوتين")


@pytest.mark.parametrize(
    ("question", "content"),
    [
        ("متى زار بينيت موسكو؟", ["زار", "بينيت", "موسكو"]),
        ("امتى راح بينت على موسكو؟", ["بينت", "موسكو"]),
        ("مين اللي وقّع الطيارة؟", ["وقع", "الطياره"]),
        ("ليش إسرائيل حريصة؟", ["اسراييل", "حريصه"]),
        ("شو قال بوتين؟", ["بوتين"]),
    ],
)
def test_question_words_are_not_content(question: str, content: list[str]) -> None:
    assert content_tokens(question) == content


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("متى زار بينيت موسكو؟", QuestionType.WHEN),
        ("امتى استقبلت موسكو وفدا؟", QuestionType.WHEN),
        ("في أي سنة سقطت الطائرة؟", QuestionType.WHEN),
        ("كم شخصا قتلوا؟", QuestionType.HOW_MANY),
        ("قديش عدد الرهائن؟", QuestionType.HOW_MANY),
        ("كام واحد ماتوا؟", QuestionType.HOW_MANY),
        ("أديش عدد القتلى؟", QuestionType.HOW_MANY),  # Levantine
        ("شوكت وصل الوفد؟", QuestionType.WHEN),  # Iraqi
        ("شكون اللي وقع الاتفاق؟", QuestionType.WHO),  # Maghrebi
        ("من سلف بينت؟", QuestionType.WHO),
        ("مين اللي وقع الطيارة؟", QuestionType.WHO),
        ("وين الجاليات اليهودية؟", QuestionType.WHERE),
        ("لماذا شنت إسرائيل الحرب؟", QuestionType.WHY),
        ("ليش أسقطوا الطيارة؟", QuestionType.WHY),
        ("لم رفضت موسكو الوساطة؟", QuestionType.WHY),  # لِمَ
        ("من لم يحضر الاجتماع؟", QuestionType.WHO),  # لم negating a verb
        ("هل هنأ بوتين نتنياهو؟", QuestionType.YES_NO),
        ("بينيت موسكو", QuestionType.OTHER),
    ],
)
def test_question_type(question: str, kind: QuestionType) -> None:
    assert question_type(question) == kind


def test_contains_arabic() -> None:
    assert contains_arabic("hello بوتين")
    assert not contains_arabic("hello 👍 123")


def test_analyze_is_deterministic_and_drops_stopwords() -> None:
    assert analyze("في من على") == []
    assert analyze("بوتين") == analyze("بوتين")


@pytest.mark.parametrize(
    ("sentence", "flags"),
    [
        ("توفي أكثر من 1300 إسرائيلي في 7 أكتوبر", CUE_TIME | CUE_NUMBER),
        ("اتصل بوتين بنتنياهو يوم الاثنين", CUE_TIME),
        ("تحدث معه بعد اجتماعه مع بوتين", CUE_TIME),  # a relative time answers "when" too
        ("استمر الاجتماع حوالي ثلاث ساعات", CUE_TIME | CUE_NUMBER),
        ("أسقطت الطائرة بسبب خطأ في التعرف", CUE_CAUSE),
        ("تحدث الزعيمان عن العلاقات الثنائية", 0),
        ("تحدث نتنياهو هذا المساء مع بوتين", CUE_TIME),  # a cue word under its article
        ("والاثنين الماضي اتصل صباحا", CUE_TIME),  # conjunction, article, adverbial alef
        ("ولأنه رفض الوساطة", CUE_CAUSE),
        ("عادت والمئات معها", CUE_NUMBER),
    ],
)
def test_sentence_cues(sentence: str, flags: int) -> None:
    assert sentence_cues(sentence) == flags


@pytest.mark.parametrize(
    ("text", "token", "written"),
    [
        ("كيف أطبخ المجدرة؟", "المجدره", "المجدرة"),
        ("«أطبخ»،", "اطبخ", "أطبخ"),
        ("مُحمّدٌ جاء", "محمد", "مُحمّدٌ"),
        ("(سوتشي)", "سوتشي", "سوتشي"),
    ],
)
def test_a_token_is_shown_as_written(text: str, token: str, written: str) -> None:
    assert as_written(text)[token] == written


@pytest.mark.parametrize(
    ("text", "cue", "bold"),
    [
        ("افتتح في شهر ذي القعدة لعام 1424هـ، حيث يقع", CUE_TIME, ["شهر", "لعام 1424هـ"]),
        ("التقى الوزير نظيره يوم الأحد لبحث ملف المياه بعد ذلك.", CUE_TIME, ["يوم الأحد"]),  # بعد relates, it is no time
        ("وحملت أكثر من 160 ألف بوروندي على اللجوء", CUE_NUMBER, ["160 ألف"]),  # أكثر approximates
        ("قتل 5 أشخاص (بينهم طفلان).", CUE_NUMBER, ["5"]),
        ("لا زمن ولا عدد هنا.", CUE_TIME, []),
    ],
)
def test_what_a_question_asks_for_is_found_in_a_sentence(text: str, cue: int, bold: list[str]) -> None:
    assert [text[a:b] for a, b in cue_spans(text, cue)] == bold


@pytest.mark.parametrize(
    ("text", "relative"),
    [("افتتح الجسر أمس.", True), ("وقال بالأمس", True), ("في الأسبوع الماضي", True), ("في 19 يوليو 2015", False)],
)
def test_a_sentence_dated_by_the_day_it_was_written(text: str, relative: bool) -> None:
    assert dated_relatively(text) is relative


@pytest.mark.parametrize(
    ("question", "content", "kind"),
    [
        ("ومتى؟", [], QuestionType.WHEN),
        ("فأين حدث ذلك؟", ["حدث"], QuestionType.WHERE),
        ("ومن قال ذلك؟", [], QuestionType.WHO),
        ("وزار بوتين موسكو", ["وزار", "بوتين", "موسكو"], QuestionType.OTHER),  # و + a verb is content
        ("فيلم وثائقي", ["فيلم", "وثايقي"], QuestionType.OTHER),
    ],
)
def test_a_question_word_under_a_conjunction_is_still_a_question_word(question: str, content: list[str], kind: QuestionType) -> None:
    assert content_tokens(question) == content
    assert question_type(question) is kind
