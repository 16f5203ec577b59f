"""The fake Bot API, driven through the real python-telegram-bot client over loopback HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.fake_telegram import FakeTelegram

CHAT = 42
GROUP = -1001234567890


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """A python-telegram-bot `Bot` talking to the fake, with one private chat already open."""
    fake_telegram.user_says(CHAT, "مرحبا")
    async with Bot(fake_telegram.token, base_url=fake_telegram.base_url) as client:
        yield client


def api_client(fake: FakeTelegram, **options: Any) -> httpx.AsyncClient:
    """A plain HTTP client for the fake's Bot API, for what python-telegram-bot never sends."""
    return httpx.AsyncClient(base_url=f"{fake.base_url}{fake.token}/", **options)


def keyboard(*callback_data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"زر {data}", callback_data=data)] for data in callback_data])


async def test_get_me_describes_the_test_bot(bot: Bot, fake_telegram: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.username, me.is_bot, me.first_name) == (fake_telegram.bot_username, True, "isnad")
    assert fake_telegram.base_url.startswith("http://127.0.0.1:") and fake_telegram.base_url.endswith("/bot")


async def test_html_message_comes_back_as_telegram_shows_it(bot: Bot, fake_telegram: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "<b>بوتين</b> &amp; نتنياهو", parse_mode="HTML")
    assert sent.text == "بوتين & نتنياهو"
    assert [(entity.type, entity.offset, entity.length) for entity in sent.entities] == [("bold", 0, 5)]
    assert sent.from_user.username == fake_telegram.bot_username
    [record] = await fake_telegram.await_messages(CHAT)
    assert record["text"] == "<b>بوتين</b> &amp; نتنياهو"
    assert record["plain_text"] == "بوتين & نتنياهو"
    assert (record["message_id"], record["parse_mode"], record["reply_markup"]) == (
        sent.message_id,
        "HTML",
        None,
    )


@pytest.mark.parametrize("text", ["a < b", "<b>x", "&foo;", "<p>فقرة</p>"])
async def test_invalid_html_is_a_bad_request(bot: Bot, fake_telegram: FakeTelegram, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)parse entities"):
        await bot.send_message(CHAT, text, parse_mode="HTML")
    assert fake_telegram.messages(CHAT) == []


async def test_length_limit_counts_text_after_parsing(bot: Bot) -> None:
    fits = "<b>" + "ب" * 4096 + "</b>"
    assert len((await bot.send_message(CHAT, fits, parse_mode="HTML")).text) == 4096
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(CHAT, "ب" * 4097)


async def test_sending_to_an_unknown_chat_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(7, "hello")


async def test_get_updates_delivers_until_confirmed_by_offset(bot: Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_says(CHAT, "ما الخبر؟")
    updates = await bot.get_updates()
    assert [update.message.text for update in updates] == ["مرحبا", "ما الخبر؟"]
    assert await bot.get_updates(limit=1) == updates[:1]
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()
    assert await bot.get_updates() == ()


async def test_long_poll_returns_as_soon_as_a_user_writes(bot: Bot, fake_telegram: FakeTelegram) -> None:
    [first] = await bot.get_updates()
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=first.update_id + 1, timeout=5))
    await asyncio.sleep(0.2)
    fake_telegram.user_says(CHAT, "سؤال")
    [update] = await poll
    assert update.message.text == "سؤال"
    assert time.monotonic() - started < 1.5


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    [first] = await bot.get_updates()
    started = time.monotonic()
    assert await bot.get_updates(offset=first.update_id + 1, timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_raises_retry_after(bot: Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(CHAT, "x")
    assert flood.value.retry_after in (7, timedelta(seconds=7))
    assert (await bot.send_message(CHAT, "x")).text == "x"


async def test_server_errors_are_network_errors_for_the_next_calls_only(bot: Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendmessage", status=502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(CHAT, "x")
    await bot.send_message(CHAT, "x")
    assert [method for method, _ in fake_telegram.calls].count("sendMessage") == 3
    assert len(fake_telegram.messages(CHAT)) == 1


async def test_delay_slows_only_the_next_calls(bot: Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.delay("sendChatAction", 0.5)
    started = time.monotonic()
    await bot.send_chat_action(CHAT, "typing")
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    await bot.send_chat_action(CHAT, "typing")
    assert time.monotonic() - started < 0.5
    assert fake_telegram.chat_actions(CHAT) == ["typing", "typing"]


async def test_callback_data_is_limited_to_64_bytes(bot: Bot) -> None:
    await bot.send_message(CHAT, "اختر", reply_markup=keyboard("ب" * 32))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "اختر", reply_markup=keyboard("ب" * 33))  # 66 bytes in UTF-8


async def test_edits_apply_to_the_message_and_identical_ones_are_refused(bot: Bot, fake_telegram: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "جارٍ البحث…", reply_markup=keyboard("more"))
    edited = await bot.edit_message_text("<i>وجدت</i>", CHAT, sent.message_id, parse_mode="HTML")
    assert (edited.text, edited.reply_markup) == ("وجدت", None)  # an edit without markup drops the keyboard
    edit = await fake_telegram.await_edit(CHAT)
    assert (edit["message_id"], edit["text"], edit["plain_text"]) == (sent.message_id, "<i>وجدت</i>", "وجدت")
    [record] = fake_telegram.messages(CHAT)
    assert (record["text"], record["reply_markup"]) == ("<i>وجدت</i>", None)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("<i>وجدت</i>", CHAT, sent.message_id, parse_mode="HTML")
    await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=keyboard("again"))
    [button] = fake_telegram.messages(CHAT)[0]["reply_markup"]["inline_keyboard"][0]
    assert button["callback_data"] == "again"
    assert len(fake_telegram.edits(CHAT)) == 1


async def test_pressed_button_reaches_the_bot_and_its_answer_is_recorded(bot: Bot, fake_telegram: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "المزيد؟", reply_markup=keyboard("more:1"))
    with pytest.raises(ValueError, match="no button"):
        fake_telegram.press_button(CHAT, sent.message_id, "other")
    press = fake_telegram.press_button(CHAT, sent.message_id, "more:1")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert (query.id, query.data, query.message.message_id) == (press["id"], "more:1", sent.message_id)
    await query.answer("تم")
    assert fake_telegram.callback_answers == [{"callback_query_id": press["id"], "text": "تم"}]
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await query.answer()


async def test_user_messages_get_command_and_mention_entities(bot: Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_says(GROUP, "/ask@isnad_test_bot من قال؟", user_id=7, chat_type="supergroup")
    fake_telegram.user_says(GROUP, "😀 @isnad_test_bot ماذا حدث؟", user_id=7, chat_type="supergroup")
    command, mention = [update.message for update in (await bot.get_updates())[1:]]
    assert command.chat.type == "supergroup" and command.from_user.id == 7
    assert [(e.type, e.offset, e.length) for e in command.entities] == [("bot_command", 0, 19)]
    assert [(e.type, e.offset, e.length) for e in mention.entities] == [("mention", 3, 15)]  # 😀 is 2 units
    assert mention.parse_entities() == {mention.entities[0]: "@isnad_test_bot"}


async def test_replies_link_to_the_users_message(bot: Bot, fake_telegram: FakeTelegram) -> None:
    question = fake_telegram.user_says(CHAT, "سؤال")
    sent = await bot.send_message(CHAT, "جواب", reply_to_message_id=question["message_id"])
    assert sent.reply_to_message.text == "سؤال"
    assert (await fake_telegram.await_messages(CHAT))[0]["reply_to_message_id"] == question["message_id"]
    answer = fake_telegram.user_says(CHAT, "شكرا", reply_to_message_id=sent.message_id)
    assert answer["reply_to_message"]["message_id"] == sent.message_id
    with pytest.raises(BadRequest, match=r"(?i)replied not found"):
        await bot.send_message(CHAT, "جواب", reply_to_message_id=999)


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document", "location"])
async def test_users_can_send_messages_without_text(bot: Bot, fake_telegram: FakeTelegram, kind: str) -> None:
    fake_telegram.user_sends(CHAT, kind)
    message = (await bot.get_updates())[-1].message
    assert message.text is None and getattr(message, kind)


async def test_commands_are_stored_and_read_back(bot: Bot, fake_telegram: FakeTelegram) -> None:
    await bot.set_my_commands([("ask", "اسأل عن الأخبار"), ("help", "مساعدة")])
    assert [command.command for command in await bot.get_my_commands()] == ["ask", "help"]
    assert fake_telegram.commands == [
        {"command": "ask", "description": "اسأل عن الأخبار"},
        {"command": "help", "description": "مساعدة"},
    ]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Ask-Me", "x")])


async def test_wrong_token_unknown_method_and_json_bodies(fake_telegram: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG-TOKEN-abcdefghijklmnopqrstuvwxyz", base_url=fake_telegram.base_url):
            pass
    fake_telegram.user_says(CHAT, "مرحبا")
    async with api_client(fake_telegram) as client:
        missing = await client.post("sendCarrierPigeon", json={})
        assert missing.status_code == 404 and missing.json()["ok"] is False
        sent = await client.post("sendMessage", json={"chat_id": CHAT, "text": "عبر JSON"})
        assert sent.json()["result"]["text"] == "عبر JSON"
        got = await client.get("getMe")
        assert got.json()["result"]["username"] == fake_telegram.bot_username


async def test_a_hundred_concurrent_slow_requests_are_served_in_parallel(fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_says(CHAT, "مرحبا")
    fake_telegram.delay("sendMessage", 0.3, times=150)
    url = f"{fake_telegram.base_url}{fake_telegram.token}/sendMessage"

    async def send(session: aiohttp.ClientSession, n: int) -> int:
        async with session.post(url, data={"chat_id": str(CHAT), "text": f"رد {n}"}) as reply:
            return (await reply.json())["result"]["message_id"]

    # aiohttp as the client: httpx's connection pool, not the server, is the bottleneck at this load.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:
        started = time.monotonic()
        ids = await asyncio.gather(*(send(session, n) for n in range(150)))
        assert time.monotonic() - started < 2  # one after another would take 45 s
    assert sorted(ids) == list(range(2, 152))  # message 1 is the user's


def test_stop_ends_open_long_polls_at_once(fake_telegram: FakeTelegram) -> None:
    url = f"{fake_telegram.base_url}{fake_telegram.token}/getUpdates"
    replies: list[dict[str, Any]] = []
    poller = threading.Thread(target=lambda: replies.append(httpx.post(url, data={"timeout": "30"}).json()))
    poller.start()
    time.sleep(0.2)
    started = time.monotonic()
    fake_telegram.stop()
    poller.join()
    assert time.monotonic() - started < 1
    assert replies == [{"ok": True, "result": []}]


async def test_await_messages_times_out_with_an_explanation(bot: Bot, fake_telegram: FakeTelegram) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "<b>غير مغلق", parse_mode="HTML")
    with pytest.raises(TimeoutError, match=r"(?s)no 1 new message.*refused sendMessage: .*parse entities"):
        await fake_telegram.await_messages(CHAT, timeout=0.2)


async def test_blocking_waits_are_refused_inside_an_event_loop(fake_telegram: FakeTelegram) -> None:
    with pytest.raises(RuntimeError, match="await_messages"):
        fake_telegram.wait_for_messages(CHAT, timeout=0.1)


def test_wait_for_messages_blocks_until_the_bot_sends(fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_says(CHAT, "مرحبا")
    url = f"{fake_telegram.base_url}{fake_telegram.token}/sendMessage"

    def reply_later() -> None:
        time.sleep(0.2)
        for text in ("أول", "ثان"):
            httpx.post(url, data={"chat_id": str(CHAT), "text": text})

    threading.Thread(target=reply_later).start()
    assert [record["text"] for record in fake_telegram.wait_for_messages(CHAT, count=2, timeout=5)] == [
        "أول",
        "ثان",
    ]
    with pytest.raises(TimeoutError, match="2 already waited for"):
        fake_telegram.wait_for_messages(CHAT, timeout=0.1)


async def test_an_application_polls_and_echoes(fake_telegram: FakeTelegram) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Repeat the user's text."""
        await update.message.reply_text(update.message.text)

    app = ApplicationBuilder().token(fake_telegram.token).base_url(fake_telegram.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        fake_telegram.user_says(CHAT, "هل تسمعني؟")
        [reply] = await fake_telegram.await_messages(CHAT, timeout=5)
        assert reply["text"] == "هل تسمعني؟"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert "getUpdates" in [method for method, _ in fake_telegram.calls]
