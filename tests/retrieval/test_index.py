"""The index's term counting: analyzing tokens in worker processes gives what one process gives."""

import pytest

from retrieval import index
from retrieval.arabic import tokenize
from tests.conftest import SEEDS


def test_tokens_analyzed_in_processes_match_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = list(dict.fromkeys(t for path in sorted(SEEDS.glob("*.txt")) for t in tokenize(path.read_text(encoding="utf-8"))))
    monkeypatch.setattr(index, "_CHUNK_TOKENS", 100)  # several chunks for the two workers
    assert list(index._analyze_in_processes(tokens, (3, 4), workers=2)) == index._analyze_chunk(tokens, (3, 4))
