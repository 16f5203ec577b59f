"""Benchmarks of the sources, each on a throwaway copy of the corpus (the data folder and database are never
touched), through the fake Bot API and a local web:

    isnad bench-upload ../news-1000.jsonl   # an admin's upload: seconds to the report and to the first answer
    isnad bench-channel --posts 5           # a channel post: seconds until the bot quotes it, against SYNC + 5 s
    isnad bench-feeds --entries 1000        # a feed of 1,000 entries: one poll, one sync, RSS over 20 polls
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.app import build_application, configure_logging, polling
from bot.config import Settings
from bot.fake_telegram import FakeTelegram
from bot.query_log import QueryLog
from bot.sources.fake_web import FeedSite, rss
from bot.sources.feeds import FeedReader
from retrieval import Retriever

ADMIN = 4242
ASKER = 4343
CHANNEL = "bench_channel"
QUOTE = re.compile(r"^\d+\. «(.*)» \[\d+\]$", re.MULTILINE)  # a numbered quote line of an answer


def run_upload_bench(settings: Settings, path: Path) -> int:
    """Upload ``path`` to a bot on a copy of the corpus; print how long until the report and the first answer."""
    configure_logging("WARNING")
    if not path.is_file():
        print(f"isnad bench-upload: {path} not found")
        return 1
    return asyncio.run(_bench(settings, path))


@asynccontextmanager
async def scratch_bot(settings: Settings, **options: Any) -> AsyncIterator[tuple[FakeTelegram, Retriever]]:
    """A bot on a copy of the settings' data folder (synced into a new database) and a fake Telegram."""
    with tempfile.TemporaryDirectory(prefix="isnad-bench-") as scratch:
        folder = Path(scratch) / "data"
        started = time.perf_counter()
        shutil.copytree(settings.data_dir, folder)
        db = Path(scratch) / "isnad.db"
        retriever = await asyncio.to_thread(Retriever.open, db)
        report = await asyncio.to_thread(retriever.sync, folder)
        print(f"a copy of {settings.data_dir}: {report.documents:,} articles, {report.sentences:,} sentences, "
              f"ready in {time.perf_counter() - started:.1f} s")
        query_log = QueryLog(db)
        try:
            with FakeTelegram() as fake:
                bench = replace(settings, data_dir=folder, db_path=db, telegram_token=fake.token, telegram_api_url=fake.base_url,
                                telegram_file_url=None, admin_ids=frozenset({ADMIN}), **options)
                async with polling(build_application(bench, retriever, query_log)):
                    yield fake, retriever
        finally:
            query_log.close()


async def _bench(settings: Settings, path: Path) -> int:
    data = path.read_bytes()
    question = _first_title(data, path)
    async with scratch_bot(settings) as (fake, _):
        started = time.perf_counter()
        fake.user_sends_file(ADMIN, path.name, data, user_id=ADMIN)
        await fake.await_messages(ADMIN)
        report = (await fake.await_edit(ADMIN, timeout=3600))["plain_text"]
        reported = time.perf_counter() - started
        fake.user_says(ASKER, question)
        [reply] = await fake.await_messages(ASKER, timeout=60)
        answered = time.perf_counter() - started
    print(report)
    print(f"\n{len(data) / 1e6:.1f} MB sent: report after {reported:.2f} s, first answer from the new articles after {answered:.2f} s")
    print(f"asked «{question}»: {'quoted' if '«' in reply['plain_text'] else 'not answered'}")
    return 0


def _first_title(data: bytes, path: Path) -> str:
    """A question the new articles answer: the title of the first one (or the first line of a .txt)."""
    first = data.decode("utf-8-sig", errors="replace").strip().split("\n", 1)[0]
    if path.suffix == ".jsonl":
        try:
            return str(json.loads(first).get("title") or first)[:200]
        except (ValueError, AttributeError):
            return first[:200]
    return first[:200]


def run_channel_bench(settings: Settings, posts: int, sync_seconds: float) -> int:
    """Post ``posts`` news items in a listed channel, spread over the watched folder's cycle; print how long each
    took to be quoted by the bot, asked in a chat."""
    configure_logging("WARNING")
    return asyncio.run(_channel_bench(settings, posts, sync_seconds))


async def _channel_bench(settings: Settings, posts: int, sync_seconds: float) -> int:
    seconds = []
    chats = itertools.count(ASKER)  # a chat a question: the flood limit is per person
    async with scratch_bot(settings, channels=(CHANNEL,), sync_seconds=sync_seconds) as (fake, _):
        for n in range(posts):
            await asyncio.sleep(sync_seconds * ((0.37 * n) % 1))  # land at different points of the sync cycle
            name = _made_up_name(n)
            started = time.perf_counter()
            fake.channel_posts(-100777, CHANNEL, text=f"افتتاح مرصد {name}\nافتتحت الهيئة مرصد {name} الفلكي في المدينة صباح اليوم.")
            while time.perf_counter() - started < 10 * sync_seconds + 60:
                chat = next(chats)
                fake.user_says(chat, f"متى افتتح مرصد {name}؟")
                [reply] = await fake.await_messages(chat, timeout=60)
                if name in "".join(quote for quote in QUOTE.findall(reply["plain_text"])):
                    seconds.append(time.perf_counter() - started)
                    print(f"post {n + 1}: quoted after {seconds[-1]:.2f} s")
                    break
                await asyncio.sleep(0.2)
            else:
                print(f"post {n + 1}: never quoted")
    if seconds:
        print(f"\n{len(seconds)} of {posts} posts answerable: mean {statistics.mean(seconds):.2f} s, "
              f"max {max(seconds):.2f} s (target: ISNAD_SYNC_SECONDS + 5 = {sync_seconds + 5:g} s)")
    return 0 if len(seconds) == posts else 1


def run_feed_bench(settings: Settings, entries: int, polls: int) -> int:
    """A local feed of ``entries`` entries (full text in the feed, no ETag: every poll reads it whole), polled
    ``polls`` times into a copy of the data folder: the first poll's articles, one sync, and RSS after each poll."""
    configure_logging("WARNING")
    site = FeedSite()
    items = [
        {"title": f"مؤشر السوق في الجلسة {n}", "link": f"{site.url}/news/{n}",
         "content": f"<p>أغلق مؤشر السوق في الجلسة {n} على ارتفاع قدره {n % 97} نقطة.</p><p>وبلغت قيمة التداول {n * 3} مليون.</p>"}
        for n in range(entries)
    ]
    feed = site.serve("/feed.xml", rss("سوق المال", items))
    try:
        with tempfile.TemporaryDirectory(prefix="isnad-feeds-") as scratch:
            folder = Path(scratch) / "data"
            shutil.copytree(settings.data_dir, folder)
            retriever = Retriever.open(Path(scratch) / "isnad.db")
            before = retriever.sync(folder).documents
            reader = FeedReader(folder, minutes=1)
            rss_mib = []
            for poll in range(polls):
                started = time.perf_counter()
                report = reader.poll([feed], now=poll * 60.0)
                polled = time.perf_counter() - started
                if poll == 0:
                    started = time.perf_counter()
                    synced = retriever.sync(folder)
                    print(f"poll 1: {report.added:,} entries archived in {polled:.2f} s; one sync: {len(synced.added):,} "
                          f"articles added and indexed in {time.perf_counter() - started:.2f} s")
                elif report.added:
                    print(f"poll {poll + 1}: {report.added} entries archived again (should be 0)")
                rss_mib.append(_rss_mib())
            held = retriever.sync(folder).documents - before
            reader.close()
    finally:
        site.close()
    print(f"polls 2–{polls}: {polls - 1} × {entries:,} entries read, 0 archived; articles held from the feed: {held:,}")
    print("RSS after each poll (MiB): " + " ".join(f"{value:.0f}" for value in rss_mib))
    print(f"RSS growth from poll 2 to poll {polls}: {rss_mib[-1] - rss_mib[1]:+.1f} MiB")
    return 0 if held == entries else 1


def _rss_mib() -> float:
    """The process's resident memory now (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _made_up_name(n: int) -> str:
    """A word no corpus holds, so only the new post can answer a question about it."""
    syllables = ("زن", "بر", "قا", "مو", "سي", "طا", "لو", "فر", "كي", "دا")
    return "".join(syllables[int(d)] for d in f"{n + 1:03d}") + "ان"
