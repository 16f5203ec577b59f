"""The watched folder: a file dropped into the data folder by another program becomes answerable without
/reload; a file still being written waits until it stops changing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.fake_telegram import FakeTelegram
from bot.sources.watcher import FolderWatcher
from tests.bot.running import make_corpus, quotes_of, running_bot

DROPPED = "افتتاح متحف الخط العربي في الرباط\nافتتح وزير الثقافة المغربي متحف الخط العربي في مدينة الرباط يوم الخميس.\n"


def test_a_file_still_being_written_waits_for_the_next_look(tmp_path: Path) -> None:
    watcher = FolderWatcher(tmp_path)
    assert not watcher.settled_change()  # nothing changed
    (tmp_path / "new.txt").write_text("عنوان\nسطر أول", encoding="utf-8")
    assert not watcher.settled_change()  # changed since the last look: may still be written
    with (tmp_path / "new.txt").open("a", encoding="utf-8") as growing:
        growing.write("\nسطر ثان.\n")
    assert not watcher.settled_change()  # still growing
    assert watcher.settled_change()  # the same as at the last look: settled
    watcher.synced()
    assert not watcher.settled_change()  # nothing new since the sync
    (tmp_path / "new.txt").unlink()
    assert not watcher.settled_change() and watcher.settled_change()  # a removal is a change too


def test_the_bot_s_own_archives_need_no_settling(tmp_path: Path) -> None:
    watcher = FolderWatcher(tmp_path, own=("channels", "feeds"))
    (tmp_path / "channels").mkdir()
    (tmp_path / "channels" / "news.jsonl").write_text('{"post": 1, "content": "نص"}\n', encoding="utf-8")
    assert watcher.settled_change()  # written whole lines by the bot: synced at the first look
    watcher.synced()
    (tmp_path / "channels" / "news.jsonl").write_text('{"post": 1, "content": "نص"}\n{"post": 2, "content": "آخر"}\n')
    (tmp_path / "export.txt").write_text("عنوان\nسطر", encoding="utf-8")
    assert not watcher.settled_change()  # another program's file may still be written: the look waits
    assert watcher.settled_change()


async def test_a_dropped_file_is_answerable_without_reload(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    corpus = make_corpus(tmp_path)
    async with running_bot(corpus, fake_telegram, sync_seconds=0.2) as bot:
        assert not quotes_of(await bot.ask(1, "أين افتتح متحف الخط العربي؟"))
        (corpus.data_dir / "dropped.txt").write_text(DROPPED, encoding="utf-8")
        for _ in range(50):
            await asyncio.sleep(0.2)
            if corpus.retriever.stats().documents == 6:
                break
        reply = await bot.ask(1, "أين افتتح متحف الخط العربي؟")
        assert any("الرباط" in quote for quote in quotes_of(reply))
