"""Telegram's HTML parse mode: turn message HTML into plain text and entities, or reject it as Telegram does.

Rules from https://core.telegram.org/bots/api#html-style: only the tags b/strong, i/em, u/ins,
s/strike/del, span class="tg-spoiler", tg-spoiler, a href, code, pre, blockquote [expandable] and
tg-emoji; tags properly nested and closed; entities &lt; &gt; &amp; &quot; and numeric ones only.
A bare `<` or `&` is an error (the documented rule; the real server keeps an unknown `&` literally, so
this check is stricter and a bot that passes it is safe). A bare `>` is accepted, as Telegram does.
Error messages and UTF-8 byte offsets imitate Telegram's; entity offsets are in UTF-16 code units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_ENTITY = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|(lt|gt|amp|quot));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[^\s>]*")
_END_TAG = re.compile(r"</([^\s>]*)\s*>")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z-]+")
_QUOTED_VALUE = re.compile(r""""([^"]*)"|'([^']*)'""")
_UNQUOTED_VALUE = re.compile(r"""[^\s"'>]+""")
_SPACE = re.compile(r"\s*")

ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message says what is wrong and where, like Telegram's."""


def utf16_length(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit of Telegram's entity offsets and lengths."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def parse_telegram_html(html: str) -> str:
    """The plain text a user sees for `html` sent with parse_mode=HTML; raises `EntityParseError`."""
    return parse_telegram_html_entities(html)[0]


def parse_telegram_html_entities(html: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and Bot API `MessageEntity` dicts for `html`; raises `EntityParseError`."""
    return _HtmlParser(html).parse()


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag: where its text begins and what its entity will carry."""

    name: str
    offset: int
    extra: dict[str, str] = field(default_factory=dict)
    entity_type: str = ""


class _HtmlParser:
    """One pass over the HTML, emitting plain text and closing entities as end tags arrive."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.chunks: list[str] = []
        self.position = 0  # in UTF-16 code units
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        """Run the whole parse."""
        html, index = self.html, 0
        while index < len(html):
            char = html[index]
            if char == "&":
                decoded, index = self._entity(index)
                self._emit(decoded)
            elif char == "<" and html.startswith("</", index):
                index = self._end_tag(index)
            elif char == "<":
                index = self._start_tag(index)
            else:
                next_special = _next_special(html, index)
                self._emit(html[index:next_special])
                index = next_special
        if self.stack:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.chunks), self.entities

    def _emit(self, text: str) -> None:
        self.chunks.append(text)
        self.position += utf16_length(text)

    def _byte_offset(self, index: int) -> int:
        return len(self.html[:index].encode("utf-8"))

    def _entity(self, index: int) -> tuple[str, int]:
        """Decode the HTML entity starting at `index`; returns the character and the index after it."""
        match = _ENTITY.match(self.html, index)
        if match is None:
            raise EntityParseError(
                f"Character '&' at byte offset {self._byte_offset(index)} is not a supported HTML entity; escape it as &amp;"
            )
        decimal, hexadecimal, name = match.groups()
        if name:
            return _NAMED_ENTITIES[name], match.end()
        code_point = int(decimal) if decimal else int(hexadecimal, 16)
        if not 0 < code_point <= 0x10FFFF or 0xD800 <= code_point <= 0xDFFF:
            raise EntityParseError(f"Invalid numeric HTML entity at byte offset {self._byte_offset(index)}")
        return chr(code_point), match.end()

    def _decode_value(self, value: str, index: int) -> str:
        """Decode entities in an attribute value that starts at `index` of the HTML."""
        decoded: list[str] = []
        position = 0
        while (ampersand := value.find("&", position)) != -1:
            decoded.append(value[position:ampersand])
            char, end = self._entity(index + ampersand)
            decoded.append(char)
            position = end - index
        decoded.append(value[position:])
        return "".join(decoded)

    def _start_tag(self, index: int) -> int:
        """Open the tag at `index`; returns the index after its `>`."""
        html = self.html
        name_match = _TAG_NAME.match(html, index + 1)
        name = name_match.group().lower()
        if name_match.end() >= len(html):
            raise EntityParseError(f"Unclosed start tag at byte offset {self._byte_offset(index)}")
        if name not in ENTITY_TYPES:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {self._byte_offset(index)}')
        attributes, end = self._attributes(name, name_match.end(), index)
        tag = _OpenTag(name=name, offset=self.position, entity_type=ENTITY_TYPES[name])
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte_offset(index)}')
        if name == "a":
            tag.extra["url"] = attributes.get("href", "")
        elif name == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise EntityParseError(f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {self._byte_offset(index)}')
            tag.extra["custom_emoji_id"] = emoji_id
        elif name == "code" and attributes.get("class", "").startswith("language-"):
            tag.extra["language"] = attributes["class"].removeprefix("language-")
        elif name == "blockquote" and "expandable" in attributes:
            tag.entity_type = "expandable_blockquote"
        self.stack.append(tag)
        return end

    def _attributes(self, tag: str, index: int, tag_start: int) -> tuple[dict[str, str], int]:
        """Read `name="value"` pairs up to the closing `>`; returns them and the index after `>`."""
        html = self.html
        attributes: dict[str, str] = {}
        while True:
            index = _SPACE.match(html, index).end()
            if index >= len(html):
                raise EntityParseError(f"Unclosed start tag at byte offset {self._byte_offset(tag_start)}")
            if html[index] == ">":
                return attributes, index + 1
            name_match = _ATTRIBUTE_NAME.match(html, index)
            if name_match is None:
                raise EntityParseError(f'Unexpected character in the tag "{tag}" at byte offset {self._byte_offset(index)}')
            name = name_match.group().lower()
            index = _SPACE.match(html, name_match.end()).end()
            if not html.startswith("=", index):
                attributes[name] = ""
                continue
            index = _SPACE.match(html, index + 1).end()
            value_match = _QUOTED_VALUE.match(html, index) or _UNQUOTED_VALUE.match(html, index)
            if value_match is None and html.startswith(('"', "'"), index):
                raise EntityParseError(f"Unclosed start tag at byte offset {self._byte_offset(tag_start)}")
            if value_match is None:
                raise EntityParseError(
                    f'Expected a value of the attribute "{name}" of the tag "{tag}" at byte offset {self._byte_offset(index)}'
                )
            raw = next((group for group in value_match.groups() if group is not None), value_match.group())
            value_start = value_match.start() + (1 if value_match.groups() else 0)
            attributes[name] = self._decode_value(raw, value_start)
            index = value_match.end()

    def _end_tag(self, index: int) -> int:
        """Close the innermost open tag, which must be the one named at `index`; returns the index after."""
        match = _END_TAG.match(self.html, index)
        if match is None:
            raise EntityParseError(f"Unclosed end tag at byte offset {self._byte_offset(index)}")
        name = match.group(1).lower()
        if not self.stack:
            raise EntityParseError(f'Unexpected end tag "{name}" at byte offset {self._byte_offset(index)}')
        tag = self.stack.pop()
        if name != tag.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {self._byte_offset(index)}, expected "</{tag.name}>", found "</{name}>"'
            )
        length = self.position - tag.offset
        parent = self.stack[-1] if self.stack else None
        language = tag.extra.pop("language", None) if tag.name == "code" else None
        if tag.name == "code" and parent is not None and parent.name == "pre":
            # <pre><code class="language-x"> is one pre entity carrying the language, not two entities.
            if language:
                parent.extra["language"] = language
        elif length > 0 and not (tag.name == "a" and not tag.extra["url"]):
            self.entities.append({"type": tag.entity_type, "offset": tag.offset, "length": length, **tag.extra})
        return match.end()


def _next_special(html: str, index: int) -> int:
    """Index of the next `<` or `&` at or after `index`, or the end of the text."""
    positions = [found for found in (html.find("<", index), html.find("&", index)) if found != -1]
    return min(positions, default=len(html))
