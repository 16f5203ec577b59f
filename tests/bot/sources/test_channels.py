"""Channels as sources (issue 17, item 1): a listed channel's posts and edits become articles in the data
folder, answerable after the next look at the folder; other channels, and posts with no text, write nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Chat, Message

from bot.fake_telegram import FakeTelegram
from bot.rendering import ADMIN_ONLY_TEXT
from bot.sources.channels import ChannelArchive
from tests.bot.running import ADMIN, make_corpus, quotes_of, running_bot

CHANNEL, OTHER = -1001234, -1009999
POST = "افتتاح متحف الخط العربي في الرباط\nافتتح وزير الثقافة المغربي متحف الخط العربي في مدينة الرباط يوم الخميس."
EDIT = "افتتاح متحف الخط العربي في الرباط\nافتتح وزير الثقافة المغربي متحف الخط العربي في مدينة فاس يوم الخميس."


async def answerable(bot, question: str, expected: str, seconds: float = 10.0) -> dict:
    for _ in range(int(seconds / 0.25)):
        await asyncio.sleep(0.25)
        reply = await bot.ask(1, question)
        if any(expected in quote for quote in quotes_of(reply)):
            return reply
    raise AssertionError(f"«{expected}» never answered «{question}»")


async def test_a_listed_channel_s_posts_and_edits_become_articles(
    tmp_path: Path, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = make_corpus(tmp_path)
    archive = corpus.data_dir / "channels" / "news_channel.jsonl"
    with caplog.at_level(logging.INFO):
        async with running_bot(corpus, fake_telegram, sync_seconds=0.2, channels=("@News_Channel",)) as bot:
            post = fake_telegram.channel_posts(CHANNEL, "news_channel", text=POST, title="قناة الأخبار")
            reply = await answerable(bot, "أين افتتح متحف الخط العربي؟", "الرباط")
            assert "https://t.me/news_channel/" in reply["text"] + json.dumps(reply)  # the post's public address
            line = json.loads(archive.read_text(encoding="utf-8"))
            assert line["title"] == "افتتاح متحف الخط العربي في الرباط" and line["source"] == "قناة الأخبار"
            assert line["url"] == f"https://t.me/news_channel/{post['message_id']}"

            fake_telegram.channel_posts(CHANNEL, "news_channel", text=EDIT, edit_of=post["message_id"])
            await answerable(bot, "أين افتتح متحف الخط العربي؟", "فاس")
            assert len(archive.read_text(encoding="utf-8").splitlines()) == 1  # the edit replaced its line

            fake_telegram.channel_posts(CHANNEL, "news_channel")  # a photo without caption
            fake_telegram.channel_posts(CHANNEL, "news_channel", caption="وصل الوفد الأردني إلى عمّان مساء الأحد.")
            fake_telegram.channel_posts(OTHER, "someone_else", text="خبر من قناة لم تُدرج في القائمة عن مدينة طنجة.")
            fake_telegram.channel_posts(OTHER, "someone_else", text="خبر آخر من القناة نفسها.")
            await answerable(bot, "متى وصل الوفد الأردني؟", "عمّان")
            sources = (await bot.ask(ADMIN, "/sources"))["plain_text"]
            assert "@news_channel: 2 منشور" in sources and "اليوم 2" in sources and "كل 0.2 ثانية" in sources
            assert (await bot.ask(5, "/sources"))["plain_text"] == ADMIN_ONLY_TEXT  # admins only
    assert len(archive.read_text(encoding="utf-8").splitlines()) == 2
    assert not (corpus.data_dir / "channels" / "someone_else.jsonl").exists()
    assert caplog.text.count("not in ISNAD_CHANNELS") == 1  # logged once per channel


def test_a_post_delivered_again_is_not_written_twice(tmp_path: Path) -> None:
    archive = ChannelArchive(tmp_path, ["news_channel"])
    post = Message(7, datetime.now(UTC), Chat(CHANNEL, "channel", title="قناة", username="news_channel"), text=POST)
    assert archive.record(post, edited=False) == "added"
    again = ChannelArchive(tmp_path, ["news_channel"])  # after a restart: the archive is read back
    assert again.record(post, edited=False) == "already held"
    assert len((tmp_path / "channels" / "news_channel.jsonl").read_text(encoding="utf-8").splitlines()) == 1


async def test_a_data_folder_that_cannot_be_written_is_logged_not_posted_into_the_channel(
    tmp_path: Path, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = make_corpus(tmp_path)
    (corpus.data_dir / "channels").write_text("a file where the folder should be", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        async with running_bot(corpus, fake_telegram, channels=("news_channel",)):
            fake_telegram.channel_posts(CHANNEL, "news_channel", text=POST)
            for _ in range(40):
                await asyncio.sleep(0.1)
                if "Could not write post" in caplog.text:
                    break
    assert "Could not write post" in caplog.text
    assert not fake_telegram.messages(CHANNEL)  # nothing was posted into the channel


@pytest.mark.parametrize(("text", "caption", "held"), [
    ("😀" * 4096, None, None),  # a post of emoji only: nothing to read
    (None, "<b>\u202bوصل الوفد\u202c</b> إلى عمّان\u200f مساء الأحد.", "<b>وصل الوفد</b> إلى عمّان مساء الأحد."),
    ("عنوان الخبر\r\n\r\n\r\nنص الخبر\x07 في سطره.", None, "نص الخبر في سطره."),
])
def test_odd_posts(tmp_path: Path, text: str | None, caption: str | None, held: str | None) -> None:
    """A caption's HTML is text (Telegram sends captions as text), direction controls and control characters go."""
    archive = ChannelArchive(tmp_path, ["news_channel"])
    post = Message(9, datetime.now(UTC), Chat(CHANNEL, "channel", title="قناة", username="news_channel"), text=text, caption=caption)
    assert archive.record(post, edited=False) == ("no text" if held is None else "added")
    lines = (tmp_path / "channels" / "news_channel.jsonl").read_text(encoding="utf-8").splitlines() if held else []
    assert [json.loads(line)["content"] for line in lines] == ([held] if held else [])


async def test_the_admins_are_told_when_the_bot_is_made_a_channel_administrator(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    async with running_bot(make_corpus(tmp_path), fake_telegram, channels=("news_channel",)) as bot:
        await bot.ask(ADMIN, "/start")  # the bot can write only to those who opened a chat with it
        fake_telegram.channel_admin(CHANNEL, "news_channel", by=5)
        [listed] = await fake_telegram.await_messages(ADMIN, 1)
        assert "صرتُ مشرفًا في القناة «قناة الأخبار» (@news_channel): منشوراتها الجديدة تدخل المقالات." in listed["text"]
        fake_telegram.channel_admin(OTHER, "someone_else", by=5, title="قناة أخرى")
        [unlisted] = await fake_telegram.await_messages(ADMIN, 1)
        assert "ليست في ISNAD_CHANNELS" in unlisted["text"]
        fake_telegram.channel_admin(CHANNEL, "news_channel", by=5, status="left")
        [removed] = await fake_telegram.await_messages(ADMIN, 1)
        assert "لم أعد مشرفًا في القناة «قناة الأخبار»" in removed["text"]
    assert not fake_telegram.messages(5)  # whoever added the bot is not written to
