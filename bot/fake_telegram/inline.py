"""answerInlineQuery's results, checked as Telegram checks them (the limits a real bot runs into).

At most 50 results; each a known type with a unique id of 1 to 64 bytes; an article needs a title and an
input_message_content whose message_text is 1 to 4096 characters and, in HTML, parses as Telegram's HTML.
"""

from __future__ import annotations

from typing import Any

from bot.fake_telegram.html import EntityParseError, parse_telegram_html_entities

MAX_RESULTS = 50
MAX_ID_BYTES = 64
MAX_TEXT_LENGTH = 4096
_TYPES = frozenset({"article"})


class InlineResultError(ValueError):
    """What Telegram would answer with a 400 for these results."""


def check_results(results: Any) -> None:
    """Raise InlineResultError with Telegram's kind of message if the results would be refused."""
    if not isinstance(results, list):
        raise InlineResultError("results must be an array")
    if len(results) > MAX_RESULTS:
        raise InlineResultError("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        if not isinstance(result, dict) or result.get("type") not in _TYPES:
            raise InlineResultError("RESULT_TYPE_INVALID")
        result_id = str(result.get("id", ""))
        if not 1 <= len(result_id.encode()) <= MAX_ID_BYTES:
            raise InlineResultError("RESULT_ID_INVALID")
        if result_id in seen:
            raise InlineResultError("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        if not result.get("title"):
            raise InlineResultError("RESULT_TITLE_EMPTY")
        content = result.get("input_message_content") or {}
        text = content.get("message_text")
        if not isinstance(text, str) or not text.strip():
            raise InlineResultError("MESSAGE_EMPTY")
        if str(content.get("parse_mode") or "").lower() == "html":
            try:
                text, _ = parse_telegram_html_entities(text)
            except EntityParseError as error:
                raise InlineResultError(f"can't parse entities: {error}") from error
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT_LENGTH:
            raise InlineResultError("MESSAGE_TOO_LONG")
