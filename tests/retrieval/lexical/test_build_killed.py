"""`kill -9` at any point of a streaming build: the previous index stays on disk and loads, and the next build
removes the abandoned folder and finishes the work (a real process, real files, a real SIGKILL)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrieval import Retriever
from retrieval.corpus.store import Store
from retrieval.engine import index_folder
from retrieval.lexical.index import IndexParams, TfidfIndex
from retrieval.ranking.rank import RankingParams
from tests.conftest import PROJECT, SEEDS
from tests.retrieval.test_killed import synthetic_archive

BUILD = """
import sys
from pathlib import Path
from retrieval.corpus.store import Store
from retrieval.engine import build_index, index_folder
from retrieval.lexical.index import IndexParams
store = Store(Path(sys.argv[1]))
build_index(store, index_folder(store.path), IndexParams(), lambda line: print(line, flush=True), chunk_articles=500)
"""


@pytest.mark.parametrize("moment", ["counted 1,500 articles", "merging the postings"])
def test_a_build_killed_leaves_the_previous_index_and_the_next_one_finishes(tmp_path: Path, moment: str) -> None:
    db = tmp_path / "isnad.db"
    Retriever.open(db).sync(SEEDS)
    store = Store(db)
    previous = store.corpus_version
    (tmp_path / "data").mkdir()
    synthetic_archive(tmp_path / "data" / "synthetic.jsonl", 3000)
    for seed in SEEDS.glob("*.txt"):
        (tmp_path / "data" / seed.name).write_bytes(seed.read_bytes())
    store.ingest(tmp_path / "data")
    store.close()

    process = subprocess.Popen([sys.executable, "-c", BUILD, str(db)], cwd=PROJECT, stdout=subprocess.PIPE, text=True)
    deadline, seen = time.monotonic() + 120, ""
    while moment not in seen and time.monotonic() < deadline and process.poll() is None:
        seen += process.stdout.readline()
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL, seen

    folder = index_folder(db)
    old = TfidfIndex.load(folder, IndexParams(), previous)  # the previous index, whole, still on disk
    answer = Retriever(db, old, RankingParams()).ask("متى زار بينيت موسكو؟")
    assert answer.found and any("موسكو" in quote.text for quote in answer.quotes)
    assert list(tmp_path.glob("isnad.db.index.new-*"))  # what the killed build left

    reopened = Retriever.open(db)  # the next run finishes the work
    assert reopened.index.corpus_version_ != previous and reopened.stats().documents == 5 + 3000
    assert "خبر اصطناعي رقم 1234" in reopened.ask("خبر اصطناعي رقم 1234").quotes[0].title
    assert not list(tmp_path.glob("isnad.db.index.*"))  # the abandoned folder removed
