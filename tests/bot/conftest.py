"""Fixtures for the bot's tests: a running fake Telegram Bot API server."""

from collections.abc import Iterator

import pytest

from bot.fake_telegram import FakeTelegram


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A started `FakeTelegram`; point python-telegram-bot at `fake_telegram.base_url`."""
    with FakeTelegram() as fake:
        yield fake
