"""Telegram channels as sources: every post (text, or a media caption) and every edit in a channel listed in
ISNAD_CHANNELS becomes an article in the data folder, one `.jsonl` archive a channel (`channels/<name>.jsonl`,
appended; an edit rewrites its line). The folder stays the one source of truth: the watched folder's sync
(``bot/sources/watcher.py``) picks the posts up, at most every ISNAD_SYNC_SECONDS, so a burst is one sync. A post
from a channel not listed is ignored (anyone can add a bot to their channel) and logged once per channel.

Posts are written as they arrive, by the request that fetches updates (`ArchivingRequest`), before the updates
are handed on, and so before the next getUpdates confirms them to Telegram: a kill at any moment loses no post
(one not yet written was not confirmed, and Telegram delivers it again) and doubles none (a post delivered
again is recognized by its message id). An appended line is one write() on a file opened for appending, so a
kill leaves no half line; an edit rewrites the archive beside it and renames it over.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import Chat, Message
from telegram.request import HTTPXRequest

from bot.sources.archives import append_record, read_records, record_line, replace_lines, source_text
from retrieval.corpus.articles import derive_title
from retrieval.semantic.encoder import embeddable

logger = logging.getLogger(__name__)
FOLDER = "channels"


class ChannelArchive:
    """The posts of the listed channels, kept as article archives in the data folder."""

    def __init__(self, data_dir: Path, channels: Iterable[str]) -> None:
        self.folder = Path(data_dir) / FOLDER
        self.listed = frozenset(c.strip().lstrip("@").lower() for c in channels if c.strip())
        self._lock = threading.Lock()
        self._known: dict[Path, set[int]] = {}  # archive → message ids it holds
        self._refused: set[int] = set()

    def is_listed(self, chat: Chat) -> bool:
        return str(chat.id) in self.listed or (chat.username or "").lower() in self.listed

    def record(self, message: Message, edited: bool) -> str:
        """Write a post (or its edit) into its channel's archive; what happened, for the log."""
        chat = message.chat
        if not self.is_listed(chat):
            if chat.id not in self._refused:
                self._refused.add(chat.id)
                logger.warning("Ignoring posts of channel %s (%s): not in ISNAD_CHANNELS", chat.id, chat.title)
            return "not listed"
        text = source_text(message.text or message.caption or "")
        if not embeddable(text):
            logger.info("Skipping post %s of channel %s: no text (a sticker, a photo without caption)", message.message_id, chat.id)
            return "no text"
        record = article(message, text)
        archive = self.folder / f"{_name(chat.username or str(chat.id))}.jsonl"
        with self._lock:
            known = self._ids(archive)
            if message.message_id in known:
                if not edited:
                    return "already held"
                held = read_records(archive)
                replace_lines(archive, [record_line(record) if _post(old) == message.message_id else line for old, line in held])
                return "updated"
            append_record(archive, record)
            known.add(message.message_id)
            return "added"

    def record_updates(self, payload: bytes) -> None:
        """Write the channel posts and edits of a getUpdates response. Never raises: what cannot be written is logged."""
        try:
            updates = json.loads(payload).get("result") or []
        except (ValueError, AttributeError):
            return  # not ours to judge: python-telegram-bot reports a response it cannot read
        for update in updates:
            post = update.get("channel_post") or update.get("edited_channel_post") if isinstance(update, dict) else None
            if not isinstance(post, dict):
                continue
            try:
                message = Message.de_json(post, None)
                done = self.record(message, edited="edited_channel_post" in update)
            except OSError as error:  # never an error message posted into the channel: logged
                logger.error("Could not write post %s of channel %s into the data folder: %s",
                             post.get("message_id"), (post.get("chat") or {}).get("id"), error)
                continue
            except Exception:  # a post python-telegram-bot cannot read either: logged, the others go on
                logger.exception("Could not read channel post %s", post.get("message_id"))
                continue
            logger.info("Channel %s post %s: %s", message.chat.id, message.message_id, done)

    def summary(self) -> list[ChannelSummary]:
        """Each listed channel's archive: posts held, the latest post's date, and posts dated today."""
        today = datetime.now(UTC).date().isoformat()
        summaries = []
        for channel in sorted(self.listed):
            dates = [str(r["date"]) for r, _ in read_records(self.folder / f"{_name(channel)}.jsonl") if r and r.get("date")]
            summaries.append(ChannelSummary(channel, len(dates), max(dates) if dates else None, dates.count(today)))
        return summaries

    def _ids(self, archive: Path) -> set[int]:
        if archive not in self._known:
            self._known[archive] = {_post(record) for record, _ in read_records(archive)}
        return self._known[archive]


class ArchivingRequest(HTTPXRequest):
    """The request that fetches updates: the channel posts in a getUpdates response are written into their archives
    before the response is handed on (see the module docstring)."""

    def __init__(self, archive: ChannelArchive, **timeouts: float) -> None:
        super().__init__(connection_pool_size=1, **timeouts)
        self.archive = archive

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, *args, **kwargs)
        if code == 200 and url.endswith("/getUpdates"):
            await asyncio.to_thread(self.archive.record_updates, payload)
        return code, payload


@dataclass(frozen=True)
class ChannelSummary:
    channel: str
    posts: int
    latest: str | None  # the latest post's date
    today: int


def article(message: Message, text: str) -> dict:
    """A post as an archive line: its title (the first line when it reads as a headline), its text, the
    channel as outlet, its date, and its public address."""
    title = derive_title(text)
    first, _, rest = text.partition("\n")
    content = rest.strip() if first.strip() == title and rest.strip() else text
    chat = message.chat
    url = f"https://t.me/{chat.username}/{message.message_id}" if chat.username else None
    return {
        "post": message.message_id, "title": title, "content": content, "source": chat.title or chat.username,
        "date": message.date.date().isoformat(), **({"url": url} if url else {}),
    }


def _post(record: dict | None) -> int:
    """The message id a line holds (-1 for a line that is not one of ours: kept as it is)."""
    try:
        return int(record["post"]) if record else -1
    except (KeyError, TypeError, ValueError):
        return -1


def _name(channel: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", channel) or "channel"
