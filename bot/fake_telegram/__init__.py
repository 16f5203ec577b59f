"""A fake Telegram Bot API server and a driver that plays the users, for end-to-end tests and demos.

The real python-telegram-bot client talks to it over loopback HTTP via `base_url=fake.base_url`.
"""

from bot.fake_telegram.driver import FakeTelegram
from bot.fake_telegram.html import EntityParseError, parse_telegram_html

__all__ = ["EntityParseError", "FakeTelegram", "parse_telegram_html"]
