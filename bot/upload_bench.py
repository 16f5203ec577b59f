"""`isnad bench-upload FILE`: the time from an admin sending an article file in a chat to its articles being
answerable, through the fake Bot API (getFile and the file address included), on a copy of the data folder.

    isnad bench-upload ../news-1000.jsonl      # prints the report, the seconds to it and to the first answer

It measures on a throwaway copy of the corpus: the data folder and database are never touched.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bot.app import build_application, configure_logging, polling
from bot.config import Settings
from bot.fake_telegram import FakeTelegram
from bot.query_log import QueryLog
from retrieval import Retriever

ADMIN = 4242
ASKER = 4343


def run_upload_bench(settings: Settings, path: Path) -> int:
    """Upload ``path`` to a bot on a copy of the corpus; print how long until the report and the first answer."""
    configure_logging("WARNING")
    if not path.is_file():
        print(f"isnad bench-upload: {path} not found")
        return 1
    return asyncio.run(_bench(settings, path))


async def _bench(settings: Settings, path: Path) -> int:
    data = path.read_bytes()
    question = _first_title(data, path)
    with tempfile.TemporaryDirectory(prefix="isnad-upload-") as scratch:
        folder = Path(scratch) / "data"
        shutil.copytree(settings.data_dir, folder)
        db = Path(scratch) / "isnad.db"
        retriever = await asyncio.to_thread(Retriever.open, db)
        await asyncio.to_thread(retriever.sync, folder)
        query_log = QueryLog(db)
        try:
            with FakeTelegram() as fake:
                bench = replace(settings, data_dir=folder, db_path=db, telegram_token=fake.token, telegram_api_url=fake.base_url,
                                telegram_file_url=None, admin_ids=frozenset({ADMIN}))
                async with polling(build_application(bench, retriever, query_log)):
                    started = time.perf_counter()
                    fake.user_sends_file(ADMIN, path.name, data, user_id=ADMIN)
                    await fake.await_messages(ADMIN)
                    report = (await fake.await_edit(ADMIN, timeout=3600))["plain_text"]
                    reported = time.perf_counter() - started
                    fake.user_says(ASKER, question)
                    [reply] = await fake.await_messages(ASKER, timeout=60)
                    answered = time.perf_counter() - started
        finally:
            query_log.close()
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
