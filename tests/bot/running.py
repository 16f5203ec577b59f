"""Builders for the bot's end-to-end tests: a corpus on real SQLite, a bot polling the fake Telegram, and
readers of its replies."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import build_application, polling
from bot.config import PROJECT_ROOT, Settings
from bot.fake_telegram import FakeTelegram
from bot.query_log import QueryLog
from retrieval import Retriever

ADMIN = 777
QUOTE_LINE = re.compile(r"^(\d+)\. «(.*)» \[(\d+)\]$", re.MULTILINE)


@dataclass
class Corpus:
    data_dir: Path
    db_path: Path
    retriever: Retriever


@dataclass
class RunningBot:
    fake: FakeTelegram
    corpus: Corpus
    query_log: QueryLog

    async def ask(self, chat_id: int, text: str, timeout: float = 10.0, **kwargs: Any) -> dict:
        """A user writes in a chat; the bot's one reply."""
        self.fake.user_says(chat_id, text, **kwargs)
        [reply] = await self.fake.await_messages(chat_id, 1, timeout)
        return reply

    async def press(self, chat_id: int, message: dict, data: str, **kwargs: Any) -> None:
        self.fake.press_button(chat_id, message["message_id"], data, **kwargs)


def make_corpus(folder: Path) -> Corpus:
    data_dir = folder / "data"
    shutil.copytree(PROJECT_ROOT / "data", data_dir)
    db_path = folder / "isnad.db"
    retriever = Retriever.open(db_path)
    retriever.sync(data_dir)
    return Corpus(data_dir, db_path, retriever)


@asynccontextmanager
async def running_bot(corpus: Corpus, fake: FakeTelegram, **options: Any) -> AsyncIterator[RunningBot]:
    settings = Settings(
        data_dir=corpus.data_dir,
        db_path=corpus.db_path,
        telegram_token=fake.token,
        telegram_api_url=fake.base_url,
        admin_ids=frozenset({ADMIN}),
        **options,
    )
    query_log = QueryLog(corpus.db_path)
    try:
        async with polling(build_application(settings, corpus.retriever, query_log)):
            yield RunningBot(fake, corpus, query_log)
    finally:
        query_log.close()


def quotes_of(reply: dict) -> list[str]:
    return [match.group(2) for match in QUOTE_LINE.finditer(reply["plain_text"])]


def buttons(reply: dict) -> list[str]:
    markup = reply.get("reply_markup") or {"inline_keyboard": []}
    return [button["callback_data"] for row in markup["inline_keyboard"] for button in row]
