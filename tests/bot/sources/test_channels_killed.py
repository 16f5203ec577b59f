"""`kill -9` during a burst of channel posts, twice, then a restart: every post is in the folder exactly once (a real
`isnad bot` process on the fake Telegram, real files, a real SIGKILL)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.fake_telegram import FakeTelegram
from tests.conftest import SEEDS

CHANNEL = -1001234
POSTS = 80


def bot_process(fake: FakeTelegram, tmp_path: Path) -> subprocess.Popen:
    environment = {
        **os.environ, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "ISNAD_CHANNELS": "news_channel",
        "ISNAD_DATA": str(tmp_path / "data"), "ISNAD_DB": str(tmp_path / "isnad.db"), "ISNAD_ENCODER": "none",
        "ISNAD_SYNC_SECONDS": "1", "ISNAD_LOG_LEVEL": "INFO",
    }
    log = (tmp_path / "bot.log").open("a")
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "bot"], cwd=tmp_path, env=environment, stdout=log, stderr=log)


def held_posts(archive: Path) -> list[int]:
    if not archive.exists():
        return []
    return [json.loads(line)["post"] for line in archive.read_text(encoding="utf-8").splitlines()]  # a half line fails here


def wait_until(condition, seconds: float, what: str, tmp_path: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}; the bot's log:\n{(tmp_path / 'bot.log').read_text()[-3000:]}")
        time.sleep(0.02)


def test_killed_during_a_burst_of_posts_loses_none_and_doubles_none(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "data")
    archive = tmp_path / "data" / "channels" / "news_channel.jsonl"
    with FakeTelegram() as fake:

        def burst() -> None:
            for n in range(POSTS):
                fake.channel_posts(CHANNEL, "news_channel", text=f"خبر عاجل رقم {n}\nأعلنت الوزارة اليوم القرار رقم {n} في المدينة.")
                time.sleep(0.03)

        process = bot_process(fake, tmp_path)
        try:
            wait_until(lambda: fake.polling_status()[0], 120, "the bot never polled", tmp_path)
            poster = threading.Thread(target=burst)
            poster.start()
            for share in (0.15, 0.4):  # killed twice in the middle of the burst, restarted each time
                wait_until(lambda share=share: len(held_posts(archive)) >= POSTS * share, 60, "posts never arrived", tmp_path)
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
                process = bot_process(fake, tmp_path)
            poster.join()
            wait_until(lambda: len(held_posts(archive)) >= POSTS and fake.polling_status()[1] == 0, 120, "posts were lost", tmp_path)
            time.sleep(1)  # anything delivered twice would be written by now
        finally:
            process.kill()
            process.wait(timeout=30)
        ids = held_posts(archive)
        assert sorted(ids) == sorted(set(ids)) and len(ids) == POSTS
