"""The embedding worker: a small corpus embedded before the bot starts, a large one in the background while
questions are answered from words, new articles after a poke, and a failing encoder that stops nothing."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from retrieval import Retriever
from retrieval.semantic.worker import EmbeddingWorker
from tests.doubles import HashingEncoder


def complete(retriever: Retriever, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        have, total = retriever.vector_coverage
        if have == total:
            return True
        time.sleep(0.05)
    return False


def test_a_small_corpus_is_embedded_before_start_returns(tmp_path: Path, data_dir: Path) -> None:
    retriever = Retriever.open(tmp_path / "isnad.db", encoder=HashingEncoder())
    retriever.sync(data_dir)
    worker = EmbeddingWorker(retriever, HashingEncoder)
    try:
        worker.start()
        have, total = retriever.vector_coverage
        assert have == total > 0
    finally:
        worker.stop()


def test_a_large_corpus_is_embedded_in_the_background_and_new_articles_after_a_poke(tmp_path: Path, data_dir: Path) -> None:
    retriever = Retriever.open(tmp_path / "isnad.db", encoder=HashingEncoder())
    retriever.sync(data_dir)
    worker = EmbeddingWorker(retriever, HashingEncoder)
    try:
        worker.start(foreground_texts=0)  # as if the corpus were large: start returns at once
        assert retriever.ask("متى زار بينيت موسكو؟").found  # answered meanwhile
        assert complete(retriever)
        (data_dir / "new.txt").write_text("افتتاح متحف الخط العربي\nافتتح الوزير متحف الخط العربي في الرباط.\n", encoding="utf-8")
        retriever.sync(data_dir)
        assert retriever.vector_coverage[0] < retriever.vector_coverage[1]
        worker.poke()
        assert complete(retriever)
    finally:
        worker.stop()


class FailingEncoder(HashingEncoder):
    failures = 0

    def passages(self, texts: list[str]) -> np.ndarray:
        FailingEncoder.failures += 1
        raise RuntimeError("the engine failed")


def test_a_failing_encoder_is_logged_and_answers_go_on(tmp_path: Path, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    retriever = Retriever.open(tmp_path / "isnad.db", encoder=HashingEncoder())
    retriever.sync(data_dir)
    worker = EmbeddingWorker(retriever, FailingEncoder)
    with caplog.at_level(logging.ERROR):
        worker.start()
        worker.stop()
    assert FailingEncoder.failures >= 1 and "embedding failed" in caplog.text
    answer = retriever.ask("متى زار بينيت موسكو؟")
    assert answer.found and answer.model == "lexical"


def test_a_database_that_cannot_be_written_stops_nothing(tmp_path: Path, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "isnad.db"
    retriever = Retriever.open(db, encoder=HashingEncoder())
    retriever.sync(data_dir)
    with sqlite3.connect(db) as connection:  # a vectors table that refuses every write
        connection.execute("DROP TABLE vectors")
        connection.execute("CREATE TABLE vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL CHECK (0)) WITHOUT ROWID")
    worker = EmbeddingWorker(retriever, HashingEncoder)
    with caplog.at_level(logging.ERROR):
        worker.start()
        worker.stop()
    assert "embedding failed" in caplog.text
    assert retriever.ask("متى زار بينيت موسكو؟").found
