"""Term counting: in worker processes as in one, and batch after batch as all at once."""

import os
import signal
from collections import Counter
from functools import reduce
from operator import or_
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import IndexWriteError
from retrieval.lexical import terms
from retrieval.lexical.terms import TermCounter
from retrieval.text.arabic import token_cues, token_features, token_terms, tokenize
from tests.conftest import SEEDS


def seed_texts() -> list[str]:
    return [line for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def counted(counter: TermCounter, batches: list[list[str]]) -> list[dict[str, int]]:
    """Each text's counts by term, whatever the columns' order."""
    names = None
    rows = []
    for batch in batches:
        counts, _ = counter.count(batch)
        names = {column: term for term, column in counter.vocabulary.items()}
        rows += [{names[int(c)]: int(v) for c, v in zip(counts[i].indices, counts[i].data, strict=True)} for i in range(len(batch))]
    return rows


def test_tokens_analyzed_in_processes_count_what_one_process_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terms, "PARALLEL_MIN_TOKENS", 10)
    monkeypatch.setattr(terms, "_CHUNK_TOKENS", 100)  # several chunks for the two workers
    texts = seed_texts()
    alone, pooled = TermCounter((3, 4), workers=1), TermCounter((3, 4), workers=2)
    try:
        assert counted(pooled, [texts]) == counted(alone, [texts])
        assert pooled.vocabulary == alone.vocabulary
        assert np.array_equal(pooled.is_word, alone.is_word)
    finally:
        pooled.close()


def test_counting_in_batches_counts_what_one_batch_counts(tmp_path: Path) -> None:
    texts = seed_texts()
    whole, batched = TermCounter((3, 4), workers=1), TermCounter((3, 4), workers=1)
    assert counted(batched, [texts[:7], texts[7:20], texts[20:]]) == counted(whole, [texts])
    assert set(batched.vocabulary) == set(whole.vocabulary)
    word_terms = {t for t, c in whole.vocabulary.items() if whole.is_word[c]}
    assert {t for t, c in batched.vocabulary.items() if batched.is_word[c]} == word_terms


def test_counts_are_each_texts_terms_token_by_token() -> None:
    """Against the plain reading: every token of the text, every term of each token, counted; cues or-ed."""
    texts = [*seed_texts()[:12], "", "  ", "بينيت  بينيت، بينت!", "2021 في 22 أكتوبر", "موسكو/كييف 22-10-2021"]  # a chunk of several tokens
    counter = TermCounter((3, 4), workers=1)
    expected = [Counter(t for token in tokenize(text) for t in token_terms(token, (3, 4))) for text in texts]
    rows = counted(counter, [texts[:5], texts[5:]])
    assert rows == [dict(e) for e in expected]
    _, flags = TermCounter((3, 4), workers=1).count(texts)
    assert flags.tolist() == [reduce(or_, (token_cues(token) for token in tokenize(text)), 0) for text in texts]
    words = {t for text in texts for token in tokenize(text) for t in token_features(token)}
    assert {t for t, c in counter.vocabulary.items() if counter.is_word[c]} == words


def test_an_analyzing_process_killed_fails_the_count_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terms, "PARALLEL_MIN_TOKENS", 10)
    monkeypatch.setattr(terms, "_CHUNK_TOKENS", 2_000)  # pieces long enough to be killed in the middle of
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    rng = np.random.default_rng(0)
    tokens = list(dict.fromkeys("".join(rng.choice(list(letters), 7)) for _ in range(30_000)))
    counter = TermCounter((3, 4), workers=2)
    try:
        pieces = counter._analyze(tokens)
        next(pieces)  # the workers are at work
        for pid in list(counter._pool._processes):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(IndexWriteError, match="analyzing process"):
            list(pieces)
    finally:
        counter.close()
