"""Telegram's HTML parse mode as the fake Bot API checks it: what is shown, what entities, what is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.fake_telegram.html import (
    EntityParseError,
    parse_telegram_html,
    parse_telegram_html_entities,
    utf16_length,
)

VALID = [
    ("<b>بوتين</b> &amp; نتنياهو", "بوتين & نتنياهو"),
    ("نص عادي بلا وسوم", "نص عادي بلا وسوم"),
    ("&lt;b&gt; ليست وسمًا", "<b> ليست وسمًا"),
    ("&quot;اقتباس&quot;", '"اقتباس"'),
    ("&#1576;&#x62A;", "بت"),
    ("a > b", "a > b"),
    ("<strong>1</strong><i>2</i><em>3</em><u>4</u><ins>5</ins>", "12345"),
    ("<s>6</s><strike>7</strike><del>8</del>", "678"),
    ('<span class="tg-spoiler">سر</span><tg-spoiler>سر</tg-spoiler>', "سرسر"),
    ('<a href="https://example.com/?a=1&amp;b=2">المصدر</a>', "المصدر"),
    ("<code>x &lt; y</code>", "x < y"),
    ('<pre><code class="language-python">print(1)</code></pre>', "print(1)"),
    ("<blockquote expandable>«قال الوزير»</blockquote>", "«قال الوزير»"),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
    ("<B>تكبير</B>", "تكبير"),
    ("<b>غامق <i>ومائل</i></b>\nسطر", "غامق ومائل\nسطر"),
]

INVALID = [
    ("<b>x", "Can't find end tag"),
    ("a < b", 'Unsupported start tag ""'),
    ("&foo;", "'&'"),
    ("بوتين & نتنياهو", "'&'"),
    ("&amp", "'&'"),
    ("<b><i>x</b></i>", "Unmatched end tag"),
    ("x</b>", "Unexpected end tag"),
    ("<br>سطر", 'Unsupported start tag "br"'),
    ("<p>فقرة</p>", 'Unsupported start tag "p"'),
    ("<span>x</span>", "tg-spoiler"),
    ('<tg-emoji emoji-id="x">👍</tg-emoji>', "emoji-id"),
    ('<a href="x', "Unclosed start tag"),
    ("&#0;", "numeric"),
]


@pytest.mark.parametrize(("html", "shown"), VALID)
def test_valid_html_is_shown_without_tags(html: str, shown: str) -> None:
    assert parse_telegram_html(html) == shown


@pytest.mark.parametrize(("html", "reason"), INVALID)
def test_invalid_html_is_refused_with_telegrams_reason(html: str, reason: str) -> None:
    with pytest.raises(EntityParseError, match=re.escape(reason)):
        parse_telegram_html(html)


def test_byte_offsets_count_utf8_bytes_like_telegram() -> None:
    with pytest.raises(EntityParseError, match="byte offset 11"):
        parse_telegram_html("بوتين <p>")  # five two-byte letters and a space


@pytest.mark.parametrize(
    ("html", "entities"),
    [
        ("<b>بوتين</b> &amp; نتنياهو", [{"type": "bold", "offset": 0, "length": 5}]),
        ("😀<i>x</i>", [{"type": "italic", "offset": 2, "length": 1}]),
        (
            '<a href="https://t.me">رابط</a>',
            [{"type": "text_link", "offset": 0, "length": 4, "url": "https://t.me"}],
        ),
        (
            '<pre><code class="language-python">x</code></pre>',
            [{"type": "pre", "offset": 0, "length": 1, "language": "python"}],
        ),
        (
            "<blockquote expandable>q</blockquote>",
            [{"type": "expandable_blockquote", "offset": 0, "length": 1}],
        ),
        (
            "<b>ab<i>c</i></b>",
            [{"type": "bold", "offset": 0, "length": 3}, {"type": "italic", "offset": 2, "length": 1}],
        ),
        ("<b></b>x", []),
    ],
)
def test_entities_have_utf16_offsets(html: str, entities: list[dict[str, Any]]) -> None:
    assert parse_telegram_html_entities(html)[1] == entities


@pytest.mark.parametrize(("text", "length"), [("", 0), ("بوتين", 5), ("😀", 2), ("a😀b", 4)])
def test_utf16_length(text: str, length: int) -> None:
    assert utf16_length(text) == length
