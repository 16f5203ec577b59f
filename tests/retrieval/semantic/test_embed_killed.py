"""`kill -9` in the middle of `isnad embed` (a real process, the real encoder, a real SIGKILL): the database is
consistent, at most the batch in flight is lost, and the next run embeds only what is missing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from retrieval import Retriever
from retrieval.semantic.encoder import embeddable
from retrieval.semantic.vectors import text_key
from tests.conftest import SEEDS


def isnad(*args: str, cwd: Path, encoder: str = "e5") -> subprocess.Popen:
    environment = {**os.environ, "ISNAD_ENCODER": encoder}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def stored(db: Path) -> int:
    with sqlite3.connect(db, timeout=10) as connection:
        return connection.execute("SELECT count(*) FROM vectors").fetchone()[0]


def test_killed_mid_embed_loses_at_most_a_batch_and_the_next_run_embeds_the_rest(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEEDS, data)
    db = tmp_path / "isnad.db"
    assert isnad("ingest", "--data", str(data), "--db", str(db), cwd=tmp_path, encoder="none").wait(timeout=120) == 0
    index = Retriever.open(db).index
    texts = [index.sentence_text(i) for i in range(index.n_sentences)] + list(index.titles_)
    distinct = {text_key(t) for t in texts if embeddable(t)}

    process = isnad("embed", "--db", str(db), cwd=tmp_path)
    deadline = time.monotonic() + 120
    while stored(db) == 0 and time.monotonic() < deadline:  # the first batch is in
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    output = process.communicate(timeout=10)[0]
    assert process.returncode == -signal.SIGKILL, output

    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    kept = stored(db)
    assert 0 < kept < len(distinct)

    again = isnad("embed", "--db", str(db), cwd=tmp_path)
    output = again.communicate(timeout=300)[0]
    assert again.returncode == 0, output
    embedded = int(re.search(r"embedded ([\d,]+) now", output).group(1).replace(",", ""))
    assert embedded == len(distinct) - kept  # only what was missing
    assert stored(db) == len(distinct)
    assert re.search(rf"vectors: {len(texts)} of {len(texts)} texts \(100%\)", output), output
