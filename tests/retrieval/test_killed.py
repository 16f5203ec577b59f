"""`kill -9` in the middle of `isnad ingest`: the database stays consistent, an index serves, and the next
sync finishes the work (a real process, real files, a real SIGKILL)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from retrieval import Retriever
from tests.conftest import SEEDS

VOCABULARY = "وزير مدينة مشروع افتتح أعلن اجتماع تقرير مجلس شركة مليون طريق مستشفى جامعة طلاب مهرجان سوق مياه كهرباء"
WORDS = VOCABULARY.split()


def synthetic_archive(path: Path, articles: int) -> None:
    """Enough articles that indexing them takes a few seconds: time to be killed in the middle."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        for n in range(articles):
            sentences = [" ".join(rng.choice(WORDS) for _ in range(14)) + f" رقم {n}-{k}." for k in range(12)]
            out.write(json.dumps({"title": f"خبر اصطناعي رقم {n}", "content": "\n".join(sentences)}, ensure_ascii=False) + "\n")


def isnad(*args: str, cwd: Path) -> subprocess.Popen:
    environment = {**os.environ, "ISNAD_LOG_LEVEL": "INFO", "ISNAD_ENCODER": "none"}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_killed_mid_ingest_leaves_a_consistent_corpus_and_the_next_sync_finishes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SEEDS, data)
    db = tmp_path / "isnad.db"
    assert isnad("ingest", "--data", str(data), "--db", str(db), cwd=tmp_path).wait(timeout=120) == 0
    synthetic_archive(data / "synthetic.jsonl", 3000)

    process = isnad("ingest", "--data", str(data), "--db", str(db), cwd=tmp_path)
    deadline = time.monotonic() + 60
    seen = ""
    while "building the index" not in seen and time.monotonic() < deadline:  # the articles are in; the index is being built
        seen += process.stdout.readline()
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, seen

    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    retriever = Retriever.open(db)  # the index of the stored corpus: the saved one if it matches, else rebuilt
    answer = retriever.ask("متى زار بينيت موسكو؟")
    assert answer.found and any("موسكو" in quote.text for quote in answer.quotes)
    report = retriever.sync(data)  # the next sync finishes the work
    assert report.documents == 5 + 3000
    assert "خبر اصطناعي رقم 1234" in retriever.ask("خبر اصطناعي رقم 1234").quotes[0].title
    assert not list(tmp_path.glob("isnad.db.index.new-*"))  # no half-written index left beside it
