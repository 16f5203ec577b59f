"""The sources' benchmarks run end to end on a small scale and print their numbers (never asserted as timings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings
from bot.sources.bench import run_channel_bench, run_feed_bench
from tests.bot.running import Corpus


def test_the_channel_bench_times_posts_until_they_are_quoted(corpus: Corpus, capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.name for p in corpus.data_dir.iterdir())
    assert run_channel_bench(Settings(data_dir=corpus.data_dir, db_path=corpus.db_path, encoder="none"), 2, 0.5) == 0
    out = capsys.readouterr().out
    summary = r"^2 of 2 posts answerable: mean \d+\.\d\d s, max \d+\.\d\d s \(target: ISNAD_SYNC_SECONDS \+ 5 = 5\.5 s\)$"
    assert re.search(summary, out, re.M)
    assert sorted(p.name for p in corpus.data_dir.iterdir()) == before  # a copy of the corpus, never the corpus


def test_the_feed_bench_polls_one_feed_many_times(corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_feed_bench(Settings(data_dir=corpus.data_dir, db_path=tmp_path / "unused.db"), 40, 3) == 0
    out = capsys.readouterr().out
    assert re.search(r"^poll 1: 40 entries archived in \d+\.\d\d s; one sync: 40 articles added and indexed in \d+\.\d\d s$", out, re.M)
    assert "polls 2–3: 2 × 40 entries read, 0 archived; articles held from the feed: 40" in out
    assert re.search(r"^RSS growth from poll 2 to poll 3: [+-]\d+\.\d MiB$", out, re.M)
