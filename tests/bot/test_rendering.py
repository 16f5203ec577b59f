"""Rendering answers as Telegram HTML: escaping, citations, the 4096 cap, the no-answer text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.fake_telegram.html import parse_telegram_html
from bot.query_log import QueryStats, Unanswered
from bot.rendering import (
    MAX_MESSAGE_LENGTH,
    answer_keyboard,
    articles_count,
    examples_keyboard,
    html_to_text,
    message_length,
    question_problem,
    render_answer,
    render_no_answer,
    render_paragraph,
    render_reload_report,
    render_stats,
    render_unanswered,
)
from retrieval.answers import Answer, CorpusStats, IngestReport, Problem, Quote


def quote(text: str, doc_id: str = "doc", title: str = "عنوان", paragraph: int = 1, url: str | None = None) -> Quote:
    return Quote(text, doc_id, title, paragraph, 1, 0.5, 0, len(text), url)


def answer(*quotes: Quote, question: str = "متى زار بينيت موسكو؟", has_more: bool = False) -> Answer:
    return Answer(question, quotes, 3.0, None if quotes else "below threshold", has_more)


def test_quotes_are_numbered_with_citations_and_sources() -> None:
    rendered = render_answer(
        answer(
            quote("زار بينيت موسكو في مارس.", "a", "زيارة بينيت", 2),
            quote("التقى الرئيسان في الكرملين.", "a", "زيارة بينيت", 2),
            quote("اتصل بوتين بنتنياهو.", "b", "مكالمة", 5),
        )
    )
    text = parse_telegram_html(rendered.html)
    assert rendered.shown == 3
    assert "1. «زار بينيت موسكو في مارس.» [1]" in text
    assert "2. «التقى الرئيسان في الكرملين.» [1]" in text
    assert "3. «اتصل بوتين بنتنياهو.» [2]" in text
    assert "[1] زيارة بينيت — الفقرة 2" in text
    assert "[2] مكالمة — الفقرة 5" in text


def test_more_results_continue_the_numbering() -> None:
    text = parse_telegram_html(render_answer(answer(quote("جملة.")), first_number=4).html)
    assert "4. «جملة.» [1]" in text


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("ما معنى <b> & </b> في السؤال؟", 'نص <i>المقال</i> & «رموز» "مقتبسة"'),
        ("<script>alert('x')</script> ؟", "a < b > c && d"),
        ("&amp; &lt; ؟", "&#1; &unknown;"),
    ],
)
def test_everything_from_users_and_articles_is_escaped(question: str, article: str) -> None:
    rendered = render_answer(answer(quote(article, title=f"عنوان {article}", url='https://x.test/?a=1&b="2"'), question=question))
    text = parse_telegram_html(rendered.html)  # raises if Telegram would reject the HTML
    assert question in text
    assert f"«{article}»" in text
    assert f"عنوان {article}" in text


def test_no_answer_says_so_and_suggests_rephrasing() -> None:
    rendered = render_answer(answer(question="ما الهدية <b>؟"))
    text = parse_telegram_html(rendered.html)
    assert rendered.shown == 0
    assert "لم أجد في المقالات ما يجيب عن سؤالك" in text
    assert "«ما الهدية <b>؟»" in text
    assert "جرّب" in text
    assert text == parse_telegram_html(render_no_answer(Answer("ما الهدية <b>؟", (), 1.0, "no")))


def test_no_answer_names_the_missing_words_and_offers_the_closest_as_such() -> None:
    closest = quote("التقى <الرئيسان> في سوتشي & تحدثا ساعات.", url="https://example.org/a?x=1&y=2")
    weak = Answer("ما الهدية التي قدمها بوتين؟", (), 1.0, "no", confidence=0.3, closest=closest, missing=("الهديه",))
    text = parse_telegram_html(render_no_answer(weak))
    assert "لم أجد في المقالات ما يجيب عن سؤالك" in text
    assert "لا تذكر المقالات: «الهديه»" in text
    assert "ليس إجابة مؤكدة" in text and "«التقى <الرئيسان> في سوتشي & تحدثا ساعات.»" in text
    assert "عنوان — الفقرة 1" in text
    plain = parse_telegram_html(render_no_answer(Answer("سؤال؟", (), 1.0, "no")))
    assert "ليس إجابة مؤكدة" not in plain and "لا تذكر المقالات" not in plain


def test_a_huge_closest_sentence_is_cut_to_fit() -> None:
    weak = Answer("سؤال؟", (), 1.0, "no", closest=quote("كلمة & " * 2000), missing=tuple("كلمة" * 30 for _ in range(9)))
    html = render_no_answer(weak)
    assert message_length(html) <= MAX_MESSAGE_LENGTH
    parse_telegram_html(html)


def test_trailing_quotes_are_dropped_to_stay_under_the_cap() -> None:
    long = "كلمة & " * 300  # ~2100 characters, escaped longer
    rendered = render_answer(answer(quote(long, "a"), quote(long, "b"), quote(long, "c"), has_more=False))
    assert rendered.shown == 1
    assert message_length(rendered.html) <= MAX_MESSAGE_LENGTH
    parse_telegram_html(rendered.html)


@pytest.mark.parametrize("filler", ["&", "<", "ب", "😀", "a&b "])
def test_one_overlong_quote_is_cut_without_breaking_an_entity(filler: str) -> None:
    rendered = render_answer(answer(quote(filler * 5000)))
    assert rendered.shown == 1
    assert message_length(rendered.html) <= MAX_MESSAGE_LENGTH
    text = parse_telegram_html(rendered.html)
    assert "…»" in text


def test_paragraph_bolds_the_quote_and_respects_the_cap() -> None:
    html = render_paragraph("عنوان <x>", 3, "قبل. الجملة & المقتبسة. بعد.", "الجملة & المقتبسة.")
    assert "<b>الجملة &amp; المقتبسة.</b>" in html
    assert parse_telegram_html(html).startswith("📄 عنوان <x> — الفقرة 3")
    long = render_paragraph("عنوان", 1, "نص & " * 3000, "غير موجود")
    assert message_length(long) <= MAX_MESSAGE_LENGTH
    parse_telegram_html(long)


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("متى زار بينيت موسكو؟", True),
        ("when did Bennett visit Moscow?", False),
        ("😀👍🎉", False),
        ("12345 ؟", False),
        ("س" * 501, False),
        ("س" * 500, True),
        ("  ", False),
    ],
)
def test_question_problem(text: str, accepted: bool) -> None:
    from retrieval.text.arabic import contains_arabic

    assert (question_problem(text, contains_arabic(text)) is None) is accepted


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "مقال واحد"),
        (2, "مقالان"),
        (5, "5 مقالات"),
        (10, "10 مقالات"),
        (11, "11 مقالًا"),
        (103, "103 مقالات"),
        (100, "100 مقال"),  # مئة مقال, ألف مقال: a round hundred or thousand takes the singular
        (1000, "1000 مقال"),
        (4790, "4790 مقالًا"),
    ],
)
def test_articles_count(n: int, expected: str) -> None:
    assert articles_count(n) == expected


def test_keyboards_carry_short_ids_only() -> None:
    keyboard = answer_keyboard(query_id=9_999_999_999, first_index=3, shown=3, more_offset=6)
    data = [button.callback_data for row in keyboard.inline_keyboard for button in row]
    assert data == [
        "p:9999999999:3",
        "p:9999999999:4",
        "p:9999999999:5",
        "m:9999999999:6",
        "f:9999999999:+1",
        "f:9999999999:-1",
    ]
    assert all(len(item.encode()) <= 64 for item in data)
    no_more = answer_keyboard(query_id=1, first_index=0, shown=0, more_offset=None)
    assert [button.callback_data for row in no_more.inline_keyboard for button in row] == ["f:1:+1", "f:1:-1"]
    examples = examples_keyboard({0: "سؤال أول؟", 2: "سؤال ثالث؟"})
    assert [row[0].callback_data for row in examples.inline_keyboard] == ["x:0", "x:2"]


def test_reload_report_and_stats_are_valid_html() -> None:
    report = IngestReport(
        added=("new<1>",),
        removed=("old&",),
        unchanged=4,
        documents=5,
        passages=40,
        sentences=120,
        seconds=1.25,
        problems=(Problem("bad<file>.txt", "not UTF-8"), Problem("a.jsonl", "malformed JSON", line=3)),
    )
    text = parse_telegram_html(render_reload_report(report))
    assert "أُضيف 1 · حُدّث 0 · حُذف 1" in text
    assert "new<1>" in text and "old&" in text
    assert "bad<file>.txt: not UTF-8" in text and "a.jsonl:3: malformed JSON" in text
    stats = QueryStats(7, 42, 0.25, 4.0, 12.5, 3, 1, ("سؤال <بلا> إجابة؟",))
    text = parse_telegram_html(render_stats(CorpusStats(5, 40, 120, ()), stats))
    assert "الأسئلة اليوم: 7 · المجموع: 42" in text
    assert "بلا إجابة: 25%" in text
    assert "الوسيط 4 م.ث · p95 12 م.ث" in text
    assert "👍 3 · 👎 1" in text
    assert "سؤال <بلا> إجابة؟" in text


def test_html_to_text_for_the_terminal() -> None:
    html = '<b>عنوان</b> &amp; <a href="https://x.test/?a=1&amp;b=2">المصدر</a>\n&lt;ok&gt;'
    assert html_to_text(html) == "عنوان & المصدر (https://x.test/?a=1&b=2)\n<ok>"


def test_source_line_names_outlet_date_and_link() -> None:
    cited = replace(quote("نص.", url="https://x.org/a?b=1&c=2"), source="الشرق الأوسط", published="2015-07-22")
    rendered = render_answer(answer(cited))
    text = parse_telegram_html(rendered.html)
    assert "[1] عنوان — الشرق الأوسط، 2015-07-22 — الفقرة 1" in text
    assert 'href="https://x.org/a?b=1&amp;c=2"' in rendered.html
    assert "[1] عنوان — الفقرة 1" in parse_telegram_html(render_answer(answer(quote("نص."))).html)  # nothing known, nothing said


@pytest.mark.parametrize(
    ("text", "highlights", "bold"),
    [
        ("افتتح الجسر يوم الأحد 19 يوليو.", ((12, 30),), "<b>يوم الأحد 19 يوليو</b>"),
        ("قتل 5 <أشخاص> & 3 أطفال.", ((4, 5), (16, 17)), "<b>5</b> &lt;أشخاص&gt; &amp; <b>3</b>"),
        ("بلغ العدد 40", ((10, 99),), "<b>40</b>"),  # a span past the end is cut to the text
    ],
)
def test_what_the_question_asked_for_is_bold_and_the_quote_verbatim(text: str, highlights: tuple, bold: str) -> None:
    rendered = render_answer(answer(replace(quote(text), highlights=highlights)))
    assert bold in rendered.html
    assert f"«{text}»" in parse_telegram_html(rendered.html)


def test_a_quote_dated_relatively_shows_its_article_date() -> None:
    dated = replace(quote("افتتح الجسر أمس."), published="2015-07-22", dated_relatively=True)
    assert "(تاريخ المقال: 2015-07-22)" in parse_telegram_html(render_answer(answer(dated)).html)
    undated = replace(dated, published=None)
    assert "تاريخ المقال" not in parse_telegram_html(render_answer(answer(undated)).html)


def test_weak_quotes_wait_behind_more() -> None:
    strong, close, weak = (replace(quote(f"جملة {n}.", doc_id=str(n)), score=s) for n, s in ((1, 0.8), (2, 0.5), (3, 0.2)))
    rendered = render_answer(answer(strong, close, weak))
    assert rendered.shown == 2
    assert "جملة 3" not in parse_telegram_html(rendered.html)
    keyboard = answer_keyboard(7, 0, rendered.shown, rendered.shown)
    assert "m:7:2" in [b.callback_data for row in keyboard.inline_keyboard for b in row]


def test_unanswered_listing_escapes_and_says_when_there_is_nothing() -> None:
    row = Unanswered("ما <b>الهدية</b>؟", 3, 2, 1, datetime(2025, 3, 10, tzinfo=UTC))
    html = render_unanswered([row], 7)
    assert "• ما <b>الهدية</b>؟ — سُئل 3 · بلا إجابة 2 · 👎 1" in parse_telegram_html(html)
    assert "لا أسئلة بلا إجابة" in parse_telegram_html(render_unanswered([], 7))
