"""Counting index terms, chunk after chunk, with one growing vocabulary.

Each distinct whitespace-separated chunk of text is tokenized once and each distinct token analyzed once
(light stem, skeleton, Snowball, ISRI root, character n-grams: about 70 µs a token); a text's counts are then
(text × token occurrences) @ (token × its terms). What it keeps grows with the vocabulary, never with the
texts counted: a build streams the corpus through one ``TermCounter``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from array import array
from collections.abc import Iterator, Sequence
from functools import partial
from multiprocessing.pool import Pool

import numpy as np
from scipy import sparse

from retrieval.text.arabic import token_cues, token_features, token_terms, tokenize

log = logging.getLogger(__name__)
# SaudiNewsNet has 260,000 distinct tokens, 18 s of analysis on one core. A chunk with at least this many new
# tokens is analyzed by one process per core ("spawn": a sync runs beside the bot's threads, and forking a
# threaded process is unsafe); the pool is started once and kept for the rest of the build.
PARALLEL_MIN_TOKENS = 20_000
_CHUNK_TOKENS = 10_000

Analyzed = tuple[tuple[str, ...], int, int]  # a token's terms (word terms first), how many are word terms, its cue flags


class TermCounter:
    """Term counts of texts, one batch at a time, in a vocabulary shared by every batch (term -> column).

    ``count`` returns each text's counts and cue flags; ``vocabulary`` and ``is_word`` (which columns are a
    form of a whole word, not only a character n-gram) cover every batch counted so far.
    """

    def __init__(self, ngrams: tuple[int, int] | None, workers: int | None = None) -> None:
        self.ngrams = ngrams
        self.workers = min(os.cpu_count() or 1, 4) if workers is None else workers
        self.vocabulary: dict[str, int] = {}
        self._token_ids: dict[str, int] = {}
        self._chunk_tokens: dict[str, tuple[int, ...]] = {}
        self._term_indptr = array("q", [0])
        self._term_indices = array("i")
        self._cues = bytearray()
        self._is_word = bytearray()
        self._pool: Pool | None = None

    @property
    def is_word(self) -> np.ndarray:
        return np.frombuffer(bytes(self._is_word), dtype=bool)

    def count(self, texts: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """(texts × vocabulary) term counts, and each text's cue flags (the bitwise or of its tokens')."""
        occurrences = array("i")
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        new_tokens: list[str] = []
        for n, text in enumerate(texts, start=1):
            # tokenize(text) is the tokens of its whitespace-separated chunks in turn (normalization never joins
            # across whitespace), and a news archive repeats its words: each distinct chunk is tokenized once.
            for chunk in text.split():
                ids = self._chunk_tokens.get(chunk)
                if ids is None:
                    ids = self._chunk_tokens[chunk] = tuple(self._token_id(token, new_tokens) for token in tokenize(chunk))
                occurrences.extend(ids)
            indptr[n] = len(occurrences)
        self._add_tokens(new_tokens)
        n_tokens, n_terms = len(self._token_ids), len(self.vocabulary)
        occurrence_ids = np.frombuffer(occurrences, dtype=np.int32) if occurrences else np.zeros(0, dtype=np.int32)
        text_tokens = sparse.csr_matrix(
            (np.ones(len(occurrence_ids), dtype=np.float32), occurrence_ids, indptr), shape=(len(texts), n_tokens)
        )
        term_indices = np.frombuffer(self._term_indices, dtype=np.int32) if self._term_indices else np.zeros(0, dtype=np.int32)
        token_terms_matrix = sparse.csr_matrix(
            (np.ones(len(term_indices), dtype=np.float32), term_indices, np.frombuffer(self._term_indptr, dtype=np.int64)),
            shape=(n_tokens, n_terms),
        )
        counts = (text_tokens @ token_terms_matrix).tocsr()
        flags = np.zeros(len(texts), dtype=np.uint8)
        nonempty = np.flatnonzero(np.diff(indptr))
        if len(nonempty):
            cues = np.frombuffer(bytes(self._cues), dtype=np.uint8)
            flags[nonempty] = np.bitwise_or.reduceat(cues[occurrence_ids], indptr[nonempty])
        return counts, flags

    def _token_id(self, token: str, new_tokens: list[str]) -> int:
        uid = self._token_ids.get(token)
        if uid is None:
            uid = self._token_ids[token] = len(self._token_ids)
            new_tokens.append(token)
        return uid

    def _add_tokens(self, tokens: list[str]) -> None:
        """Analyze the tokens first seen in this batch; their terms join the vocabulary in order."""
        for terms, n_words, cue in self._analyze(tokens):
            for at, term in enumerate(terms):
                column = self.vocabulary.get(term)
                if column is None:
                    column = self.vocabulary[term] = len(self.vocabulary)
                    self._is_word.append(0)
                if at < n_words:
                    self._is_word[column] = 1
                self._term_indices.append(column)
            self._term_indptr.append(len(self._term_indices))
            self._cues.append(cue)

    def _analyze(self, tokens: list[str]) -> Iterator[Analyzed]:
        if self.workers < 2 or len(tokens) < PARALLEL_MIN_TOKENS:
            return iter(_analyze_chunk(tokens, self.ngrams))
        if self._pool is None:
            try:
                self._pool = multiprocessing.get_context("spawn").Pool(self.workers)
            except OSError as why:  # no processes to be had here (a sandbox, a limit): one core it is
                log.warning("analyzing on one core: %s", why)
                self.workers = 1
                return iter(_analyze_chunk(tokens, self.ngrams))
        return _analyze_in_pool(self._pool, tokens, self.ngrams)

    def close(self) -> None:
        """Stop the analyzing processes, if any were started."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None


def _analyze_in_pool(pool: Pool, tokens: list[str], ngrams: tuple[int, int] | None) -> Iterator[Analyzed]:
    chunks = [tokens[i : i + _CHUNK_TOKENS] for i in range(0, len(tokens), _CHUNK_TOKENS)]
    for analyzed in pool.imap(partial(_analyze_chunk, ngrams=ngrams), chunks):
        yield from analyzed


def _analyze_chunk(tokens: list[str], ngrams: tuple[int, int] | None) -> list[Analyzed]:
    return [(token_terms(token, ngrams), len(token_features(token)), token_cues(token)) for token in tokens]
