"""Fixtures for the bot's tests: a running fake Telegram Bot API server, a seed corpus, a bot on it."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.fake_telegram import FakeTelegram
from tests.bot.running import Corpus, RunningBot, make_corpus, running_bot


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A started `FakeTelegram`; point python-telegram-bot at `fake_telegram.base_url`."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
async def bot(corpus: Corpus, fake_telegram: FakeTelegram) -> AsyncIterator[RunningBot]:
    async with running_bot(corpus, fake_telegram) as running:
        yield running


@pytest.fixture
async def own_bot(tmp_path: Path, fake_telegram: FakeTelegram) -> AsyncIterator[RunningBot]:
    """A bot on a corpus of its own, which the test may change."""
    async with running_bot(make_corpus(tmp_path), fake_telegram) as running:
        yield running
