"""End to end: the real python-telegram-bot client over loopback HTTP against the fake Bot API server,
with a real Retriever on a temporary copy of data/ and a temporary database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import TokenRedactor, configure_logging, run_bot
from bot.config import PROJECT_ROOT, Settings
from bot.demo import run_demo
from bot.fake_telegram import FakeTelegram, parse_telegram_html
from bot.loadtest import run_loadtest
from bot.rendering import (
    ADMIN_ONLY_TEXT,
    EMPTY_ASK_TEXT,
    ERROR_TEXT,
    EXPIRED_BUTTON_TEXT,
    NOT_ARABIC_TEXT,
    NOT_TEXT_TEXT,
    PARAGRAPH_GONE_TEXT,
    RELOAD_STARTED_TEXT,
    SLOW_DOWN_TEXT,
    UNKNOWN_COMMAND_TEXT,
    UPLOAD_ADMIN_ONLY_TEXT,
    UPLOAD_STARTED_TEXT,
)
from bot.sources.bench import run_upload_bench
from tests.bot.running import ADMIN, QUOTE_LINE, Corpus, RunningBot, buttons, make_corpus, quotes_of, running_bot
from tests.conftest import with_thresholds
from tests.retrieval.test_killed import synthetic_archive

GROUP = -1001
ANSWERED = "متى زار بينيت موسكو؟"
UNANSWERED = "كيف أطبخ المجدرة بالعدس؟"
QUESTIONS = (
    ANSWERED,
    "ماذا قال بوتين عن سوريا؟",
    "كم دقيقة استمرت مكالمة نتنياهو مع بوتين؟",
    "من هو رئيس وزراء إسرائيل؟",
    UNANSWERED,
)
SOURCE_LINE = re.compile(r"^\[(\d+)\] (.*) — الفقرة (\d+)$", re.MULTILINE)
NO_ANSWER = "لم أجد في المقالات ما يجيب عن سؤالك"
NEW_ARTICLE = (
    "افتتاح متحف الخط العربي في الرباط\n\n"
    "افتتح وزير الثقافة المغربي متحف الخط العربي في مدينة الرباط يوم الخميس الماضي.\n\n"
    "ويضم المتحف أكثر من ثلاثمئة مخطوطة نادرة جُمعت من مكتبات المغرب والأندلس.\n"
)
NEW_QUESTION = "أين افتتح متحف الخط العربي؟"


def corpus_texts(corpus: Corpus) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in corpus.data_dir.iterdir()]


async def quiet(fake: FakeTelegram, chat_id: int, seconds: float = 0.5) -> None:
    """Assert the bot sends nothing more to the chat for a while."""
    before = len(fake.messages(chat_id))
    await asyncio.sleep(seconds)
    assert len(fake.messages(chat_id)) == before


async def test_start_and_help(bot: RunningBot) -> None:
    start = await bot.ask(1, "/start")
    text = start["plain_text"]
    assert start["parse_mode"] == "HTML"
    assert "5 مقالات" in text
    assert "مكالمة مفاجئة: بوتين يتواصل مع نتنياهو لأول مرة منذ 2023" in text
    assert "/ask" in text and "@isnad_test_bot" in text
    examples = [data for data in buttons(start) if data.startswith("x:")]
    assert 2 <= len(examples) <= 3, start["reply_markup"]
    assert (await bot.ask(1, "/help"))["plain_text"] == text
    assert [command["command"] for command in bot.fake.commands] == ["ask", "help", "new", "start"]

    await bot.press(1, start, examples[0])
    [answer] = await bot.fake.await_messages(1)
    assert quotes_of(answer)


async def test_question_answered_with_verbatim_quote_and_citation(bot: RunningBot) -> None:
    reply = await bot.ask(2, ANSWERED)
    assert bot.fake.chat_actions(2) == ["typing"]
    quotes = quotes_of(reply)
    assert quotes, reply["plain_text"]
    texts = corpus_texts(bot.corpus)
    for quote in quotes:
        assert any(quote in text for text in texts), f"not verbatim: {quote}"
    assert any("بينيت" in quote and "موسكو" in quote for quote in quotes)
    sources = SOURCE_LINE.findall(reply["plain_text"])
    assert sources and all(title for _, title, _ in sources)

    query_id = int(buttons(reply)[0].split(":")[1])
    logged = bot.query_log.get(query_id)
    assert (logged.chat_id, logged.user_id, logged.question, logged.found) == (2, 2, ANSWERED, True)
    first = logged.quotes[0]
    assert first.text == quotes[0]
    assert first.text in bot.corpus.retriever.paragraph(first.doc_id, first.paragraph)
    citation = QUOTE_LINE.search(reply["plain_text"]).group(3)
    assert (citation, first.title, str(first.paragraph)) in sources


async def test_no_answer_says_so(bot: RunningBot) -> None:
    reply = await bot.ask(3, UNANSWERED)
    assert NO_ANSWER in reply["plain_text"]
    assert UNANSWERED in reply["plain_text"]
    assert not quotes_of(reply)
    assert [data.split(":")[0] for data in buttons(reply)] == ["f", "f"]
    query_id = int(buttons(reply)[0].split(":")[1])
    assert bot.query_log.get(query_id).found is False
    assert "لا تذكر المقالات: «أطبخ»، «المجدرة»، «بالعدس»" in reply["plain_text"]  # as the question writes them


DATED_ARTICLE = """---
title: زرقشوف يفتتح جسر بلقمطير
source: صحيفة الاختبار
url: https://example.org/news?id=1&lang=ar
published: 2015-07-22
---
افتتح الوزير زرقشوف جسر بلقمطير أمس الأحد 19 يوليو بحضور المسؤولين.
ويبلغ طول الجسر 1200 متر، وكلف بناؤه نحو 40 مليون ريال.
وتشهد مدينة بلقمطير حركة سياحية نشطة في فصل الصيف.
"""


async def test_citations_name_outlet_and_date_and_the_answer_is_bold(own_bot: RunningBot) -> None:
    (own_bot.corpus.data_dir / "bridge.txt").write_text(DATED_ARTICLE, encoding="utf-8")
    own_bot.corpus.retriever.sync(own_bot.corpus.data_dir)
    reply = await own_bot.ask(6, "متى افتتح زرقشوف جسر بلقمطير؟")
    sentence = "افتتح الوزير زرقشوف جسر بلقمطير أمس الأحد 19 يوليو بحضور المسؤولين."
    assert quotes_of(reply)[0] == sentence  # still verbatim
    assert "<b>أمس الأحد 19 يوليو</b>" in reply["text"]  # the time the question asked for, in bold
    assert "(تاريخ المقال: 2015-07-22)" in reply["plain_text"]  # أمس needs its article's date
    assert "زرقشوف يفتتح جسر بلقمطير — صحيفة الاختبار، 2015-07-22 — الفقرة 1" in reply["plain_text"]
    assert 'href="https://example.org/news?id=1&amp;lang=ar"' in reply["text"]
    howmany = await own_bot.ask(6, "كم يبلغ طول جسر بلقمطير؟")
    assert "<b>1200</b>" in howmany["text"] and "<b>40 مليون</b>" in howmany["text"]
    # The weak third quote (a sentence about the town, not the bridge) waits behind "more".
    assert len(quotes_of(howmany)) == 2 and "حركة سياحية" not in howmany["plain_text"]
    more = next(b for b in buttons(howmany) if b.startswith("m:"))
    await own_bot.press(6, howmany, more)
    [rest] = await own_bot.fake.await_messages(6)
    assert quotes_of(rest) == ["وتشهد مدينة بلقمطير حركة سياحية نشطة في فصل الصيف."]


async def test_a_weak_best_match_is_offered_as_the_closest_not_as_the_answer(own_bot: RunningBot) -> None:
    retriever = own_bot.corpus.retriever
    # Every question now falls between the two thresholds: not sure enough to answer, worth offering.
    retriever.models = with_thresholds(retriever.models, answer=1.0, closest=0.0)
    reply = await own_bot.ask(5, "متى زار بينيت موسكو؟")
    text = reply["plain_text"]
    assert NO_ANSWER in text and "ليس إجابة مؤكدة" in text
    assert not quotes_of(reply)
    closest = retriever.ask("متى زار بينيت موسكو؟").closest
    assert closest is not None and f"«{closest.text}»" in text and closest.title in text


async def test_inline_mode_lists_quotes_to_send_and_examples_for_an_empty_query(bot: RunningBot) -> None:
    asked = bot.fake.user_inline_query(21, ANSWERED, chat_type="group")
    answer = await bot.fake.await_inline_answer(asked["id"])
    results = answer["results"]
    assert 1 <= len(results) <= 5 and answer["cache_time"] == 300
    expected = bot.corpus.retriever.ask(ANSWERED, 5)
    assert [r["input_message_content"]["message_text"].count("«") for r in results] == [1] * len(results)
    first = parse_telegram_html(results[0]["input_message_content"]["message_text"])
    assert f"«{expected.quotes[0].text}»" in first and "— الفقرة" in first  # the quote and its source, verbatim
    assert results[0]["description"].startswith(expected.quotes[0].title)
    logged = list(csv.reader(io.StringIO(bot.query_log.export_csv())))
    assert any(row[4] == ANSWERED and row[2] == "" and row[3] == "21" for row in logged)  # logged, with no chat

    empty = await bot.fake.await_inline_answer(bot.fake.user_inline_query(21, "")["id"])
    assert [r["title"] for r in empty["results"]]  # the examples the corpus answers, each with its answer
    assert all("«" in r["input_message_content"]["message_text"] for r in empty["results"])

    none = await bot.fake.await_inline_answer(bot.fake.user_inline_query(21, UNANSWERED)["id"])
    assert [r["title"] for r in none["results"]] == ["لا إجابة في المقالات"]
    assert NO_ANSWER in parse_telegram_html(none["results"][0]["input_message_content"]["message_text"])

    assert (await bot.fake.await_inline_answer(bot.fake.user_inline_query(21, "hello")["id"]))["results"] == []


HOSTILE = [
    "\u200bمتى\u200c زار\u200d بينيت\u200e موسكو\u200f؟",  # zero-width and direction marks inside the words
    "\u202eمتى زار بينيت موسكو؟\u202c",  # a right-to-left override around it
    "\u064e\u064f\u0650\u0651\u0652" * 20,  # only diacritics
    "متى visited Bennett موسكو? 2022",  # mixed scripts
    "<b>متى</b> زار <a href='javascript:x'>بينيت</a> موسكو؟ &amp; </i>",  # HTML
    "**متى** زار _بينيت_ `موسكو`؟ [x](http://y)",  # Markdown
    "متى زار بينيت موسكو؟ " * 5000,  # 100 KB
    "\ufeff\u2066\u2069",  # nothing but invisible characters
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_text_gets_valid_html_or_a_polite_refusal(bot: RunningBot, text: str) -> None:
    reply = await bot.ask(31, text)  # the fake Telegram refuses invalid HTML and over-long messages: a reply is valid
    assert ERROR_TEXT not in reply["plain_text"]
    assert len(reply["plain_text"].encode("utf-16-le")) // 2 <= 4096
    await quiet(bot.fake, 31, 0.2)  # one reply, no more


async def test_groups_answer_only_when_addressed(bot: RunningBot) -> None:
    fake = bot.fake
    group = {"chat_type": "group", "user_id": 55}
    fake.user_says(GROUP, "صباح الخير يا جماعة، هل رأيتم الأخبار؟", **group)
    fake.user_sends(GROUP, "sticker", chat_type="group", user_id=55)
    await quiet(fake, GROUP)

    asked = fake.user_says(GROUP, f"/ask {ANSWERED}", **group)
    [reply] = await fake.await_messages(GROUP)
    assert reply["reply_to_message_id"] == asked["message_id"]
    assert quotes_of(reply)

    asked = fake.user_says(GROUP, f"/ask@isnad_test_bot {ANSWERED}", **group)
    [reply] = await fake.await_messages(GROUP)
    assert reply["reply_to_message_id"] == asked["message_id"]

    mention = fake.user_says(GROUP, f"@isnad_test_bot {ANSWERED}", **group)
    [reply] = await fake.await_messages(GROUP)
    assert reply["reply_to_message_id"] == mention["message_id"]
    assert f"🔎 {ANSWERED}" in reply["plain_text"]  # the mention is not part of the question

    follow_up = fake.user_says(GROUP, "ماذا قال بوتين عن سوريا؟", reply_to_message_id=reply["message_id"], **group)
    [reply] = await fake.await_messages(GROUP)
    assert reply["reply_to_message_id"] == follow_up["message_id"]
    assert quotes_of(reply)

    # A bare follow-up («ومتى؟») replied to an answer is read with that answer's question, and says how.
    bare = fake.user_says(GROUP, "ومتى؟", reply_to_message_id=reply["message_id"], **group)
    [reply] = await fake.await_messages(GROUP)
    assert reply["reply_to_message_id"] == bare["message_id"]
    assert "فهمت سؤالك: ومتى؟ (عن: بوتين سوريا" in reply["plain_text"] and quotes_of(reply)

    fake.user_says(GROUP, "/ask", **group)
    [reply] = await fake.await_messages(GROUP)
    assert reply["plain_text"] == EMPTY_ASK_TEXT

    fake.user_says(GROUP, "@someone_else ما رأيك؟", **group)
    fake.user_says(GROUP, "/other_command", **group)
    await quiet(fake, GROUP)


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document", "location"])
async def test_non_text_gets_a_polite_reply(bot: RunningBot, kind: str) -> None:
    bot.fake.user_sends(4, kind)
    [reply] = await bot.fake.await_messages(4)
    assert reply["plain_text"] == NOT_TEXT_TEXT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("😀👍🎉", NOT_ARABIC_TEXT),
        ("When did Bennett visit Moscow?", NOT_ARABIC_TEXT),
        ("؟؟؟ 123", NOT_ARABIC_TEXT),
        ("/nonsense", UNKNOWN_COMMAND_TEXT),
    ],
)
async def test_text_that_is_not_a_question(bot: RunningBot, text: str, expected: str) -> None:
    assert (await bot.ask(5, text))["plain_text"] == expected


async def test_overlong_message(bot: RunningBot) -> None:
    reply = await bot.ask(5, "متى زار بينيت موسكو " * 40)
    assert "رسالتك طويلة" in reply["plain_text"]
    assert "500" in reply["plain_text"]


async def test_html_special_characters_are_echoed_safely(bot: RunningBot) -> None:
    question = 'ماذا قال <b>بوتين</b> & نتنياهو عن "سوريا" <i>؟'
    reply = await bot.ask(6, question)
    assert f"🔎 {question}" in reply["plain_text"] or f"«{question}»" in reply["plain_text"]
    assert "&lt;b&gt;بوتين&lt;/b&gt; &amp; نتنياهو" in reply["text"]
    assert parse_telegram_html(reply["text"]) == reply["plain_text"]
    assert not bot.fake.rejections


async def test_buttons_more_paragraph_feedback(bot: RunningBot) -> None:
    fake = bot.fake
    reply = await bot.ask(7, "ماذا قال بوتين عن سوريا؟")
    data = buttons(reply)
    query_id = int(data[0].split(":")[1])
    assert data == [f"p:{query_id}:{n}" for n in range(3)] + [
        f"m:{query_id}:3",
        f"f:{query_id}:+1",
        f"f:{query_id}:-1",
    ]

    await bot.press(7, reply, f"m:{query_id}:3")
    [more] = await fake.await_messages(7)
    assert re.search(r"^4\. «", more["plain_text"], re.MULTILINE)
    assert f"p:{query_id}:3" in buttons(more)
    assert set(quotes_of(more)).isdisjoint(quotes_of(reply))

    await bot.press(7, more, f"p:{query_id}:3")
    [paragraph] = await fake.await_messages(7)
    assert quotes_of(more)[0] in paragraph["plain_text"]
    assert "الفقرة" in paragraph["plain_text"] and "<b>" in paragraph["text"]

    await bot.press(7, reply, f"f:{query_id}:-1")
    await bot.press(7, reply, f"f:{query_id}:+1")
    for _ in range(50):
        if len(fake.callback_answers) >= 4:
            break
        await asyncio.sleep(0.05)
    assert "👍" in fake.callback_answers[-1]["text"]
    assert bot.query_log.get(query_id).feedback == 1

    fake.press_button(7, reply["message_id"], "p:999999:0", strict=False)
    fake.press_button(7, reply["message_id"], "something-old", strict=False)
    for _ in range(50):
        if len(fake.callback_answers) >= 6:
            break
        await asyncio.sleep(0.05)
    assert [answer.get("text") for answer in fake.callback_answers[-2:]] == [EXPIRED_BUTTON_TEXT] * 2


FORGED = [
    "p:1:99999",  # a quote position the question never had
    "p:99999999999999999999:0",  # an id past any integer SQLite holds
    "m:-1:3",
    "f:1:+5",
    "x:999",  # an example that does not exist
    "p:1",
    "\u202e💥<b>&",
    "",
]


async def test_forged_and_stale_buttons_get_a_polite_reply_and_no_error(own_bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    reply = await own_bot.ask(19, ANSWERED)
    query_id = int(buttons(reply)[0].split(":")[1])
    forged = [*FORGED, f"p:{query_id}:0"]
    # The article the quote came from is gone after a reload: its paragraph button is now stale.
    for path in own_bot.corpus.data_dir.iterdir():
        path.unlink()
    own_bot.corpus.retriever.sync(own_bot.corpus.data_dir)
    for data in forged:
        own_bot.fake.press_button(19, reply["message_id"], data, strict=False)
    for _ in range(100):
        if len(own_bot.fake.callback_answers) >= len(forged):
            break
        await asyncio.sleep(0.05)
    answers = [a.get("text") for a in own_bot.fake.callback_answers]
    assert len(answers) == len(forged)
    assert all(text in (EXPIRED_BUTTON_TEXT, PARAGRAPH_GONE_TEXT) for text in answers), answers
    assert PARAGRAPH_GONE_TEXT in answers
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_admin_commands_in_a_group_go_by_the_user_id(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.admin")
    for command in ("/stats", "/unanswered", "/export", "/reload", "/add"):
        bot.fake.user_says(GROUP + 1, command, chat_type="group", user_id=56)
        [reply] = await bot.fake.await_messages(GROUP + 1)
        assert reply["plain_text"] == ADMIN_ONLY_TEXT
    assert len([r for r in caplog.records if "user 56" in r.getMessage()]) == 5
    bot.fake.user_says(GROUP + 1, "/stats", chat_type="group", user_id=ADMIN)
    [stats] = await bot.fake.await_messages(GROUP + 1)
    assert "إحصاءات إسناد" in stats["plain_text"]


async def test_non_admins_are_refused_and_logged(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.admin")
    for command in ("/reload", "/stats", "/unanswered"):
        assert (await bot.ask(8, command, user_id=8))["plain_text"] == ADMIN_ONLY_TEXT
    refusals = [record.getMessage() for record in caplog.records if "Refused" in record.getMessage()]
    assert len(refusals) == 3 and all("user 8" in message for message in refusals)


async def test_admin_stats(bot: RunningBot) -> None:
    await bot.ask(9, ANSWERED)
    await bot.ask(9, UNANSWERED)
    stats = (await bot.ask(ADMIN, "/stats"))["plain_text"]
    assert "المقالات: 5" in stats
    assert re.search(r"الأسئلة اليوم: \d+ · المجموع: \d+", stats)
    assert "بلا إجابة:" in stats and "الوسيط" in stats and "p95" in stats and "👍" in stats
    assert UNANSWERED in stats.split("آخر الأسئلة بلا إجابة:")[1]
    today = datetime.now(UTC).date().isoformat()
    assert re.search(rf"{today}: \d+ · \d+% · \d+%", stats)  # today's share of no answer and of 👎
    assert len(re.findall(r"^\d{4}-\d\d-\d\d: ", stats, re.MULTILINE)) == 7


async def test_admin_unanswered_lists_the_misses_most_asked_first(own_bot: RunningBot) -> None:
    for _ in range(2):
        await own_bot.ask(11, UNANSWERED)
    disliked = await own_bot.ask(11, ANSWERED)
    query_id = int(next(b for b in buttons(disliked) if b.startswith("f:")).split(":")[1])
    await own_bot.press(11, disliked, f"f:{query_id}:-1")
    for _ in range(100):  # the 👎 is stored when the bot handles the button
        if own_bot.query_log.get(query_id).feedback == -1:
            break
        await asyncio.sleep(0.02)
    listing = (await own_bot.ask(ADMIN, "/unanswered"))["plain_text"]
    lines = listing.splitlines()
    assert "آخر 7 أيام" in lines[0]
    assert lines[1] == f"• {UNANSWERED} — سُئل 2 · بلا إجابة 2"
    assert lines[2] == f"• {ANSWERED} — سُئل 1 · 👎 1"
    assert "بين 1 و365" in (await own_bot.ask(ADMIN, "/unanswered abc"))["plain_text"]
    assert "آخر 30 أيام" in (await own_bot.ask(ADMIN, "/unanswered 30"))["plain_text"]


async def test_admin_export_sends_the_query_log_as_a_csv_file(own_bot: RunningBot) -> None:
    await own_bot.ask(12, ANSWERED)
    await own_bot.ask(12, UNANSWERED)
    reply = await own_bot.ask(ADMIN, "/export")
    document = reply["document"]
    assert re.fullmatch(r"isnad-queries-\d{8}-\d{4}\.csv", document["file_name"])
    assert reply["plain_text"] == "سجل الأسئلة: 2 سؤالًا."
    rows = list(csv.reader(io.StringIO(document["data"].decode("utf-8-sig"))))
    assert rows[0][:6] == ["id", "asked_at", "chat_id", "user_id", "question", "answered"]
    assert [(row[4], row[5]) for row in rows[1:]] == [(ANSWERED, "yes"), (UNANSWERED, "no")]
    assert (await own_bot.ask(13, "/export", user_id=13))["plain_text"] == ADMIN_ONLY_TEXT

    await own_bot.ask(12, f"ما هذا الرمز {own_bot.fake.token}؟")  # someone pastes the token into a question
    exported = (await own_bot.ask(ADMIN, "/export"))["document"]["data"].decode("utf-8-sig")
    assert own_bot.fake.token not in exported and "ما هذا الرمز <token>؟" in exported


async def test_admin_reload_during_traffic(own_bot: RunningBot) -> None:
    fake, corpus = own_bot.fake, own_bot.corpus
    assert NO_ANSWER in (await own_bot.ask(10, NEW_QUESTION))["plain_text"]
    (corpus.data_dir / "900_museum.txt").write_text(NEW_ARTICLE, encoding="utf-8")

    chats = range(100, 120)
    for chat_id in chats:
        fake.user_says(chat_id, QUESTIONS[chat_id % len(QUESTIONS)])
    fake.user_says(ADMIN, "/reload")
    for chat_id in chats:
        fake.user_says(chat_id, QUESTIONS[(chat_id + 1) % len(QUESTIONS)])

    [notice] = await fake.await_messages(ADMIN)
    assert notice["plain_text"] == RELOAD_STARTED_TEXT
    report = (await fake.await_edit(ADMIN))["plain_text"]
    assert "أُضيف 1 · حُدّث 0 · حُذف 0" in report
    assert "900_museum" in report and "6 مقالات" in report
    for chat_id in chats:
        replies = await fake.await_messages(chat_id, 2, timeout=20)
        assert all(ERROR_TEXT not in reply["plain_text"] for reply in replies)

    reply = await own_bot.ask(10, NEW_QUESTION)
    assert any("متحف الخط العربي" in quote for quote in quotes_of(reply)), reply["plain_text"]


UPLOAD = "\n".join(
    json.dumps(article, ensure_ascii=False)
    for article in [
        {"title": "افتتاح سوق زرقشوف الشعبي", "content": "افتتحت بلدية بلقمطير سوق زرقشوف الشعبي يوم الخميس.", "source": "صحيفة الاختبار"},
        {"title": "مهرجان بلقمطير للتمور", "content": "يستمر مهرجان بلقمطير للتمور عشرة أيام ويشارك فيه 120 مزارعا."},
    ]
)


async def upload(bot: RunningBot, name: str, data: bytes, user_id: int = ADMIN) -> str:
    """An admin sends a file; the bot's report (the notice, edited), as the admin reads it."""
    bot.fake.user_sends_file(user_id, name, data, user_id=user_id)
    [notice] = await bot.fake.await_messages(user_id)
    if notice["plain_text"] != UPLOAD_STARTED_TEXT:
        return notice["plain_text"]
    return (await bot.fake.await_edit(user_id, timeout=30))["plain_text"]


async def test_an_admin_adds_articles_by_sending_a_file(own_bot: RunningBot) -> None:
    folder = own_bot.corpus.data_dir
    before = sorted(p.name for p in folder.iterdir())
    report = await upload(own_bot, "../../مقالات جديدة.jsonl", UPLOAD.encode())
    assert "✅ أُضيف الملف" in report and "(مقالان) باسم مقالات_جديدة.jsonl" in report, report
    assert "أُضيف 2 · حُدّث 0 · حُذف 0" in report
    assert sorted(p.name for p in folder.iterdir()) == sorted([*before, "مقالات_جديدة.jsonl"])  # inside the folder, safely named
    reply = await own_bot.ask(14, "كم مزارعا يشارك في مهرجان بلقمطير للتمور؟")
    assert "يشارك فيه 120 مزارعا" in quotes_of(reply)[0]

    # The same name again, other articles: saved beside it, nothing overwritten, and the report says so.
    other = json.dumps({"title": "جسر زرقشوف", "content": "يربط جسر زرقشوف ضفتي نهر بلقمطير منذ 1990."}, ensure_ascii=False)
    report = await upload(own_bot, "مقالات جديدة.jsonl", other.encode())
    assert "باسم مقالات_جديدة-2.jsonl" in report and "لم يُستبدل" in report
    assert (folder / "مقالات_جديدة.jsonl").read_text(encoding="utf-8") == UPLOAD

    # /add replied to a text message makes it an article.
    text = own_bot.fake.user_says(ADMIN, "متحف زرقشوف\nافتتح متحف زرقشوف للفنون أبوابه للزوار يوم السبت.", user_id=ADMIN)
    await own_bot.fake.await_messages(ADMIN)  # the bot takes the text as a question first
    own_bot.fake.user_says(ADMIN, "/add", user_id=ADMIN, reply_to_message_id=text["message_id"])
    [notice] = await own_bot.fake.await_messages(ADMIN)
    assert notice["plain_text"] == UPLOAD_STARTED_TEXT
    assert "أُضيف 1" in (await own_bot.fake.await_edit(ADMIN, timeout=30))["plain_text"]
    assert "متحف زرقشوف للفنون" in quotes_of(await own_bot.ask(14, "متى افتتح متحف زرقشوف للفنون؟"))[0]


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("a.jsonl", (UPLOAD + "\n{not json\n").encode(), "السطر 3: malformed JSON"),
        ("a.txt", "مقال".encode("utf-16"), "not UTF-8"),
        ("a.txt", b"\x00\x01binary", "binary file"),
        ("a.pdf", b"%PDF-1.4", "only .txt and .jsonl"),
        ("a.txt", b"   \n", "empty file"),
        ("dup.txt", (PROJECT_ROOT / "data" / "001_811697c30d2ef955.txt").read_bytes(), "the same article as 001_811697c30d2ef955"),
    ],
)
async def test_a_bad_upload_is_refused_by_line_and_changes_nothing(own_bot: RunningBot, name: str, data: bytes, said: str) -> None:
    folder = own_bot.corpus.data_dir
    before = sorted(p.name for p in folder.iterdir())
    report = await upload(own_bot, name, data)
    assert "❌ لم أُضف الملف" in report and "لم يتغير شيء" in report and said in report, report
    assert sorted(p.name for p in folder.iterdir()) == before


async def test_a_non_admin_upload_is_refused(own_bot: RunningBot) -> None:
    folder = own_bot.corpus.data_dir
    before = sorted(p.name for p in folder.iterdir())
    assert await upload(own_bot, "a.jsonl", UPLOAD.encode(), user_id=15) == UPLOAD_ADMIN_ONLY_TEXT
    own_bot.fake.user_says(15, "/add", user_id=15)
    assert (await own_bot.fake.await_messages(15))[0]["plain_text"] == ADMIN_ONLY_TEXT
    assert sorted(p.name for p in folder.iterdir()) == before


async def test_a_full_disk_stops_the_log_not_the_answers(own_bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.handlers")
    db = own_bot.query_log._db
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full", for real
    for _ in range(3):
        filler = "ملء " * 3000  # long questions fill the last pages
        own_bot.fake.user_says(16, filler[:400])
        await own_bot.fake.await_messages(16)
    replies = [await own_bot.ask(16, ANSWERED) for _ in range(3)]
    assert all(quotes_of(reply) for reply in replies)  # every question still answered
    assert not buttons(replies[-1])  # nothing logged for its buttons to refer to
    warnings = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per message
    db.execute("PRAGMA max_page_count = 1073741823")  # the disk has room again
    reply = await own_bot.ask(16, ANSWERED)
    assert buttons(reply) and any("writable again" in r.getMessage() for r in caplog.records)
    query_id = int(buttons(reply)[0].split(":")[1])
    assert own_bot.query_log.get(query_id).question == ANSWERED


async def test_a_flood_gets_one_slow_down_then_silence_and_slows_no_one_else(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    async with running_bot(make_corpus(tmp_path), fake_telegram, flood_per_minute=4) as bot:
        fake = bot.fake
        for _ in range(9):  # one account floods
            fake.user_says(17, ANSWERED)
        other = await bot.ask(18, ANSWERED)  # meanwhile someone else asks
        assert quotes_of(other)
        replies = await fake.await_messages(17, 5, timeout=20)
        await quiet(fake, 17, 0.5)  # and then nothing more
        answered = [r for r in replies if quotes_of(r)]
        assert len(answered) == 4 and [r["plain_text"] for r in replies if not quotes_of(r)] == [SLOW_DOWN_TEXT]
        # Button presses have their own limit: the fifth in a minute gets one alert, the rest a silent stop.
        feedback = next(b for b in buttons(answered[0]) if b.startswith("f:"))
        for _ in range(7):
            await bot.press(17, answered[0], feedback)
        await asyncio.sleep(0.5)
        alerts = [a.get("text") for a in fake.callback_answers]
        assert alerts.count(SLOW_DOWN_TEXT) == 1 and len(alerts) == 7


async def test_failed_reload_keeps_the_old_index(own_bot: RunningBot) -> None:
    shutil.rmtree(own_bot.corpus.data_dir)
    await own_bot.ask(ADMIN, "/reload")
    report = (await own_bot.fake.await_edit(ADMIN))["plain_text"]
    assert "فشلت إعادة التحميل" in report
    assert quotes_of(await own_bot.ask(11, ANSWERED))


async def test_one_reload_at_a_time(own_bot: RunningBot) -> None:
    fake = own_bot.fake
    fake.delay("sendMessage", 0.5)  # holds the first reload's notice, so the second arrives during it
    fake.user_says(ADMIN, "/reload")
    await asyncio.sleep(0.2)
    fake.user_says(ADMIN, "/reload")
    first, second = await fake.await_messages(ADMIN, 2)
    texts = {first["plain_text"], second["plain_text"]}
    assert any("جارية الآن" in text for text in texts)
    assert "اكتملت إعادة التحميل" in (await fake.await_edit(ADMIN))["plain_text"]


async def test_flood_control_429_is_waited_out(bot: RunningBot) -> None:
    bot.fake.fail_next("sendMessage", status=429, retry_after=1)
    started = time.monotonic()
    reply = await bot.ask(12, ANSWERED)
    assert time.monotonic() - started >= 1.0
    assert quotes_of(reply)
    assert [method for method, _, _ in bot.fake.rejections] == ["sendMessage"]


async def test_5xx_on_send_is_retried(bot: RunningBot) -> None:
    bot.fake.fail_next("sendMessage", status=500, times=2)
    assert quotes_of(await bot.ask(13, ANSWERED))
    assert len(bot.fake.messages(13)) == 1


async def test_getupdates_5xx_then_recovery_loses_nothing(bot: RunningBot) -> None:
    fake = bot.fake
    fake.fail_next("getUpdates", status=502, times=2)
    assert quotes_of(await bot.ask(14, ANSWERED, timeout=15))
    fake.user_says(14, UNANSWERED)  # sent while polls are failing (or after they have recovered)
    fake.user_says(14, "ماذا قال بوتين عن سوريا؟")
    replies = await fake.await_messages(14, 2, timeout=15)
    assert sum(NO_ANSWER in reply["plain_text"] for reply in replies) == 1
    assert [method for method, _, _ in fake.rejections].count("getUpdates") == 2
    await quiet(fake, 14, 0.3)  # and nothing answered twice


async def test_50_chats_at_once_lose_nothing(bot: RunningBot) -> None:
    chats = range(1000, 1050)
    for chat_id in chats:
        bot.fake.user_says(chat_id, QUESTIONS[chat_id % len(QUESTIONS)])
    replies = await asyncio.gather(*(bot.fake.await_messages(chat_id, 1, timeout=30) for chat_id in chats))
    for chat_id, [reply] in zip(chats, replies, strict=True):
        question = QUESTIONS[chat_id % len(QUESTIONS)]
        assert question in reply["plain_text"]
        assert ERROR_TEXT not in reply["plain_text"]


async def test_a_crash_is_reported_and_the_question_kept(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(bot.corpus.retriever, "ask", broken)
    reply = await bot.ask(15, "سؤال سيتعطل عند الإجابة؟")
    assert reply["plain_text"] == ERROR_TEXT
    with sqlite3.connect(bot.corpus.db_path) as connection:
        kept = connection.execute("SELECT question, found FROM queries WHERE chat_id = 15").fetchall()
    assert kept == [("سؤال سيتعطل عند الإجابة؟", None)]


def test_run_bot_without_a_token_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path, db_path=tmp_path / "isnad.db")
    assert run_bot(settings) == 2
    error = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in error and "isnad demo" in error
    assert run_bot(Settings(data_dir=tmp_path, db_path=tmp_path / "isnad.db", telegram_token="oops")) == 2
    assert not (tmp_path / "isnad.db").exists()


def test_the_token_never_reaches_the_logs(capsys: pytest.CaptureFixture[str]) -> None:
    token = "123456:SECRET-abcdefghijklmnopqrstuvwxyz0123"
    configure_logging("INFO", token)
    assert logging.getLogger("httpx").level == logging.WARNING
    logger = logging.getLogger("test.redaction")
    handler = logging.StreamHandler()
    handler.addFilter(TokenRedactor(token))
    logger.addHandler(handler)
    try:
        logger.warning("POST https://api.telegram.org/bot%s/getMe failed", token)
    finally:
        logger.removeHandler(handler)
    error = capsys.readouterr().err
    assert token not in error and "bot<token>/getMe" in error


def test_demo_with_piped_input(corpus: Corpus) -> None:
    settings = Settings(data_dir=corpus.data_dir, db_path=corpus.db_path)
    out = io.StringIO()
    typed = io.StringIO(f"{ANSWERED}\n1\n9\n/stats\n/inline {ANSWERED}\nhello\n")
    log_file = corpus.db_path.with_name("demo-test.log")
    assert run_demo(settings, stdin=typed, stdout=out, log_file=log_file) == 0
    transcript = out.getvalue()
    assert f"log lines go to {log_file}" in transcript
    assert "Bot @" in log_file.read_text(encoding="utf-8")  # the bot's own log lines, in the file
    assert " INFO " not in transcript
    assert "جرّب أحد هذه الأسئلة" in transcript  # /start is shown first
    assert f"أنت ▸ {ANSWERED}" in transcript
    assert re.search(r"^1\. «.+» \[1\]$", transcript, re.MULTILINE)
    assert "[1] 📄 1" in transcript and re.search(r"\[\d\] 👍", transcript)
    assert "— الفقرة" in transcript
    assert "(لا يوجد زر رقم 9)" in transcript
    assert "إحصاءات إسناد" in transcript  # the person at the keyboard is an admin
    assert re.search(r"\(وضع السطر: [1-5] نتيجة\)\n  1\. ", transcript)  # what inline mode would list
    assert NOT_ARABIC_TEXT in transcript
    assert transcript.rstrip().endswith("مع السلامة!")


def test_loadtest_reports_nothing_lost(corpus: Corpus, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=corpus.data_dir, db_path=corpus.db_path)
    assert run_loadtest(settings, chats=5, questions_per_chat=2) == 0
    report = capsys.readouterr().out
    assert re.search(r"^answered\s+10$", report, re.MULTILINE)
    assert re.search(r"^lost\s+0$", report, re.MULTILINE)
    assert re.search(r"^latency\s+p50 \d+ ms · p99 \d+ ms$", report, re.MULTILINE)


def test_upload_bench_times_a_file_until_it_is_answerable(corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "two.jsonl"
    archive.write_text(UPLOAD, encoding="utf-8")
    before = sorted(p.name for p in corpus.data_dir.iterdir())
    assert run_upload_bench(Settings(data_dir=corpus.data_dir, db_path=corpus.db_path), archive) == 0
    out = capsys.readouterr().out
    assert "أُضيف 2 · حُدّث 0" in out
    assert re.search(r"report after \d+\.\d\d s, first answer from the new articles after \d+\.\d\d s", out)
    assert "quoted" in out
    assert sorted(p.name for p in corpus.data_dir.iterdir()) == before  # a copy of the corpus, never the corpus


@pytest.mark.parametrize("telegram_down", [False, True], ids=["telegram up", "telegram failing at start"])
def test_isnad_bot_on_a_fresh_database(tmp_path: Path, fake_telegram: FakeTelegram, telegram_down: bool) -> None:
    """`run_bot` in its own process: ingests into a new ISNAD_DB, polls, answers, stops cleanly on SIGINT;
    with Telegram failing at start (getMe slow, then answering 502 twice), it retries until it is back."""
    if telegram_down:
        fake_telegram.fail_next("getMe", status=502, times=2)
        fake_telegram.delay("getMe", 3.0)
    environment = {
        **os.environ,
        "ISNAD_DATA": str(PROJECT_ROOT / "data"),
        "ISNAD_DB": str(tmp_path / "fresh.db"),
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_URL": fake_telegram.base_url,
        "ISNAD_LOG_LEVEL": "DEBUG",
    }
    script = "from bot.app import run_bot; from bot.config import Settings; raise SystemExit(run_bot(Settings.from_env(dotenv=False)))"
    log_path = tmp_path / "bot.log"  # a file, not a pipe: DEBUG logs would fill a pipe and block the bot
    with log_path.open("w") as log_file:
        process = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=environment, stderr=log_file)
    fake_telegram.user_says(20, ANSWERED)
    deadline = time.monotonic() + 60
    while not fake_telegram.messages(20) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    exited_early = process.poll() is not None
    process.send_signal(signal.SIGINT)
    process.wait(timeout=15)
    logs = log_path.read_text()
    assert not exited_early, f"isnad bot exited early:\n{logs}"
    assert quotes_of(fake_telegram.messages(20)[0])
    assert process.returncode == 0, logs
    assert fake_telegram.token not in logs
    assert "Bot @isnad_test_bot is up" in logs
    if telegram_down:
        assert logs.count("getMe failed (Bad Gateway); retrying in") == 2, logs  # a clear line for each failed attempt


def test_killed_mid_reload_the_bot_restarts_consistent_and_finishes_the_work(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    """`kill -9` while a /reload builds the new index: after a restart the database is consistent, every
    question answered before is in the query log, the bot answers, and its start-up sync finishes the work."""
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    environment = {
        **os.environ,
        "ISNAD_DATA": str(data),
        "ISNAD_DB": str(tmp_path / "isnad.db"),
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_URL": fake_telegram.base_url,
        "ADMIN_IDS": str(ADMIN),
    }
    script = "from bot.app import run_bot; from bot.config import Settings; raise SystemExit(run_bot(Settings.from_env(dotenv=False)))"

    def start() -> subprocess.Popen:
        with (tmp_path / "bot.log").open("a") as log_file:
            return subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=environment, stderr=log_file)

    def reply(chat_id: int, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fake_telegram.messages(chat_id):
                return fake_telegram.messages(chat_id)[-1]
            time.sleep(0.05)
        raise AssertionError((tmp_path / "bot.log").read_text())

    bot = start()
    try:
        for chat_id in (41, 42):
            fake_telegram.user_says(chat_id, ANSWERED)
            assert quotes_of(reply(chat_id))
        synthetic_archive(data / "synthetic.jsonl", 3000)
        fake_telegram.user_says(ADMIN, "/reload")
        assert reply(ADMIN)["plain_text"] == RELOAD_STARTED_TEXT
        time.sleep(1.5)  # ingesting 3,000 articles and building their index takes several seconds
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
    finally:
        bot.kill()
    assert not [m for m in fake_telegram.messages(ADMIN) if "اكتملت" in m["plain_text"]], "the reload finished before the kill"

    with sqlite3.connect(tmp_path / "isnad.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        asked = [row[0] for row in connection.execute("SELECT chat_id FROM queries ORDER BY id")]
    assert asked[:2] == [41, 42]  # every question answered before the kill is in the log

    bot = start()  # its start-up sync finishes the interrupted work
    try:
        fake_telegram.user_says(43, "خبر اصطناعي رقم 1234")
        assert "خبر اصطناعي رقم 1234" in reply(43, timeout=120)["plain_text"]
    finally:
        bot.send_signal(signal.SIGINT)
        bot.wait(timeout=15)


def test_isnad_bot_with_a_rejected_token(tmp_path: Path, fake_telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(
        data_dir=PROJECT_ROOT / "data",
        db_path=tmp_path / "isnad.db",
        telegram_token="654321:REVOKED-abcdefghijklmnopqrstuvwxyz",
        telegram_api_url=fake_telegram.base_url,
    )
    assert run_bot(settings) == 2
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
