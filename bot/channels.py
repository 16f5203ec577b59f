"""Telegram channels as sources: every post (text, or a media caption) and every edit in a channel listed in
ISNAD_CHANNELS becomes an article in the data folder, one `.jsonl` archive a channel (`channels/<name>.jsonl`,
appended; an edit rewrites its line). The folder stays the one source of truth: the watched folder's sync
(``bot/watcher.py``) picks the posts up, at most every ISNAD_SYNC_SECONDS, so a burst is one sync. A post
from a channel not listed is ignored (anyone can add a bot to their channel) and logged once per channel.

An appended line is one write() on a file opened for appending, so a kill leaves no half line; an edit
rewrites the archive beside it and renames it over. Posts Telegram delivers again after a restart are
recognized by their message id and not written twice.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from telegram import Chat, Message

from bot.archives import append_record, read_records, record_line, replace_lines, source_text
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
