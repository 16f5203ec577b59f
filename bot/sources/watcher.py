"""The watched folder: files another program drops into the data folder (a CMS export, rsync) are picked up
without /reload. Every ISNAD_SYNC_SECONDS a cheap look (names, sizes, modification times; nothing is read);
a file still being written (changed since the last look) waits for the next one; then one incremental sync.
The archives the bot writes itself (channel posts, feed entries: whole lines, one write each) need no settling:
they are synced at the first look that sees them, so a post is answerable within ISNAD_SYNC_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from retrieval.answers import IngestReport
from retrieval.corpus.articles import find_article_files

logger = logging.getLogger(__name__)
Look = dict[str, tuple[int, int]]


class FolderWatcher:
    """Says when the folder's article files changed and have stopped changing since the last sync."""

    def __init__(self, folder: Path, own: tuple[str, ...] = ()) -> None:
        self.folder = Path(folder)
        self.own = tuple(f"{name.rstrip('/')}/" for name in own)  # sub-folders the bot writes whole lines into
        self._synced = self.look()
        self._last = self._synced

    def look(self) -> Look:
        """(size, mtime) of every article file, by name."""
        seen: Look = {}
        for path in find_article_files(self.folder):
            with contextlib.suppress(OSError):  # gone between listing and stat: the next look sees it gone
                stat = path.stat()
                seen[path.relative_to(self.folder).as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return seen

    def settled_change(self) -> bool:
        """True once the folder differs from the last sync and, but for the bot's own archives, looks the same as
        at the previous look."""
        now = self.look()
        changing = {name for name in now.keys() | self._last.keys() if now.get(name) != self._last.get(name)}
        settled = now != self._synced and all(self.own and name.startswith(self.own) for name in changing)
        self._last = now
        return settled

    def synced(self) -> None:
        self._synced = self._last


async def watch(
    folder: Path, seconds: float, sync: Callable[[], IngestReport], lock: asyncio.Lock, own: tuple[str, ...] = ()
) -> None:
    """Look every ``seconds``; on a settled change, run ``sync`` in a worker thread (one change of the corpus at
    a time: a reload or upload in progress defers it). Never stops on an error: logged, looked at again."""
    watcher = await asyncio.to_thread(FolderWatcher, folder, own)
    while True:
        await asyncio.sleep(seconds)
        try:
            if not await asyncio.to_thread(watcher.settled_change) or lock.locked():
                continue
            async with lock:
                report = await asyncio.to_thread(sync)
            watcher.synced()
            logger.info(
                "The data folder changed: %d added, %d updated, %d removed, %d problems",
                len(report.added), len(report.updated), len(report.removed), len(report.problems),
            )
        except Exception:  # the watcher must not stop; the next look tries again
            logger.exception("Syncing the changed data folder failed; retrying at the next look")
