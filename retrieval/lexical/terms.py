"""Counting index terms, chunk after chunk, with one growing vocabulary.

Each distinct whitespace-separated chunk of text is tokenized once and each distinct token analyzed once
(light stem, skeleton, Snowball, ISRI root, character n-grams: about 35 µs a token); a text's counts are then
(text × token occurrences) @ (token × its terms). What it keeps grows with the vocabulary, never with the
texts counted: a build streams the corpus through one ``TermCounter``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from array import array
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from itertools import chain
from typing import NamedTuple

import numpy as np
from scipy import sparse

from retrieval.errors import IndexWriteError
from retrieval.lexical.rows import ranges
from retrieval.text.arabic import token_cues, token_features, token_terms, tokenize

log = logging.getLogger(__name__)
# SaudiNewsNet has 260,000 distinct tokens, 9 s of analysis on one core. From the first chunk with at least
# this many new tokens on, tokens are analyzed by one process per core ("spawn": a sync runs beside the bot's
# threads, and forking a threaded process is unsafe), while the counting process writes the chunk before.
PARALLEL_MIN_TOKENS = 20_000
_CHUNK_TOKENS = 10_000
_SPLIT_TEXTS = 5_000


class Analyzed(NamedTuple):
    """The terms of some tokens, token after token, each token's word terms first; sent back from a worker as
    one string and three arrays, which pickle in a fraction of the time of a tuple of strings a token."""

    terms: str  # joined by newlines: no term holds one (tokens are letters and digits)
    lengths: np.ndarray  # each token's number of terms
    n_words: np.ndarray  # … of which are word terms (the rest, its stem's character n-grams)
    cues: bytes  # each token's cue flags


class Submitted(NamedTuple):
    """A batch submitted for counting: its chunks, where each text's end, and its new tokens' analysis under way."""

    number: int  # 1 for the counter's first batch
    chunk_ids: np.ndarray  # each whitespace-separated chunk of the texts in turn
    text_ends: np.ndarray  # how many chunks the texts hold, through each text
    n_tokens: int  # the tokens known once this batch is tokenized
    analyzed: Iterator[Analyzed]  # its new tokens' terms, as the workers send them


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
        self._chunk_ids: dict[str, int] = {}  # each distinct whitespace-separated chunk seen, and its tokens (CSR)
        self._chunk_indptr = array("q", [0])
        self._chunk_tokens = array("i")
        self._term_indptr = array("q", [0])
        self._term_indices = array("i")
        self._cues = bytearray()
        self._is_word = bytearray()
        self._pool: ProcessPoolExecutor | None = None
        self._submitted = self._collected = 0

    @property
    def is_word(self) -> np.ndarray:
        return np.frombuffer(bytes(self._is_word), dtype=bool)

    def count(self, texts: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """(texts × vocabulary) term counts, and each text's cue flags (the bitwise or of its tokens')."""
        return self.collect(self.submit(texts))

    def submit(self, texts: Sequence[str]) -> Submitted:
        """Start counting a batch: its chunks are tokenized and its new tokens sent to the worker processes,
        which analyze them while the caller goes on (with the previous batch, say). ``collect`` finishes it;
        batches are collected in the order they were submitted."""
        # tokenize(text) is the tokens of its whitespace-separated chunks in turn (normalization never joins
        # across whitespace), and a news archive repeats its words: each distinct chunk is tokenized once, and
        # the chunks of a batch are looked up by C loops (map, dict.fromkeys), not a Python loop a word.
        new_tokens: list[str] = []
        chunk_ids, lengths = [], []
        for at in range(0, len(texts), _SPLIT_TEXTS):  # a slice at a time: a chunk's million words, split, are 80 MB of strings
            split = [text.split() for text in texts[at : at + _SPLIT_TEXTS]]
            chunks = list(chain.from_iterable(split))
            for chunk in dict.fromkeys(chunks):
                if chunk not in self._chunk_ids:
                    self._chunk_ids[chunk] = len(self._chunk_ids)
                    self._chunk_tokens.extend(self._token_id(token, new_tokens) for token in tokenize(chunk))
                    self._chunk_indptr.append(len(self._chunk_tokens))
            chunk_ids.append(np.fromiter(map(self._chunk_ids.__getitem__, chunks), dtype=np.int64, count=len(chunks)))
            lengths += [len(words) for words in split]
        self._submitted += 1
        return Submitted(
            self._submitted, np.concatenate(chunk_ids or [np.zeros(0, np.int64)]), np.cumsum(lengths, dtype=np.int64),
            len(self._token_ids), self._analyze(new_tokens),
        )

    def collect(self, batch: Submitted) -> tuple[sparse.csr_matrix, np.ndarray]:
        """A submitted batch's term counts and cue flags, as ``count`` gives them."""
        if batch.number != self._collected + 1:
            raise RuntimeError(f"batch {batch.number} collected after batch {self._collected}: collect them in order")
        self._collected += 1
        self._add_tokens(batch.analyzed)
        chunk_indptr = np.frombuffer(self._chunk_indptr, dtype=np.int64)
        first, lengths = chunk_indptr[batch.chunk_ids], np.diff(chunk_indptr)[batch.chunk_ids]
        occurrence_ids = np.frombuffer(self._chunk_tokens, dtype=np.int32)[ranges(first, lengths)]
        indptr = np.concatenate(([0], np.cumsum(lengths)))[np.concatenate(([0], batch.text_ends))]
        n_texts, n_terms = len(batch.text_ends), len(self.vocabulary)
        text_tokens = sparse.csr_matrix(
            (np.ones(len(occurrence_ids), dtype=np.float32), occurrence_ids, indptr), shape=(n_texts, batch.n_tokens)
        )
        term_indptr = np.frombuffer(self._term_indptr, dtype=np.int64)[: batch.n_tokens + 1]
        term_indices = np.frombuffer(self._term_indices, dtype=np.int32)[: term_indptr[-1]]
        token_terms_matrix = sparse.csr_matrix(
            (np.ones(len(term_indices), dtype=np.float32), term_indices, term_indptr), shape=(batch.n_tokens, n_terms)
        )
        counts = (text_tokens @ token_terms_matrix).tocsr()
        flags = np.zeros(n_texts, dtype=np.uint8)
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

    def _add_tokens(self, batch: Iterator[Analyzed]) -> None:
        """The terms of the tokens first seen in a batch join the vocabulary, in order."""
        for analyzed in batch:
            terms = analyzed.terms.split("\n") if analyzed.terms else []
            columns = list(map(self.vocabulary.get, terms))  # one C loop; the new terms, a few percent, one by one
            for at in [i for i, column in enumerate(columns) if column is None]:
                column = columns[at] = self.vocabulary.setdefault(terms[at], len(self.vocabulary))
                if column == len(self._is_word):  # new here, not earlier in the chunk
                    self._is_word.append(0)
            columns_array = np.array(columns, dtype=np.int32)
            starts = np.cumsum(analyzed.lengths, dtype=np.int64) - analyzed.lengths
            is_word = np.frombuffer(self._is_word, dtype=np.uint8)
            is_word[columns_array[ranges(starts, analyzed.n_words)]] = 1
            del is_word  # a view pins the bytearray's size
            self._term_indptr.extend((len(self._term_indices) + starts + analyzed.lengths).tolist())
            self._term_indices.frombytes(columns_array.tobytes())
            self._cues.extend(analyzed.cues)

    def _analyze(self, tokens: list[str]) -> Iterator[Analyzed]:
        if self.workers < 2 or (self._pool is None and len(tokens) < PARALLEL_MIN_TOKENS):  # once started, always used
            return iter([_analyze_chunk(tokens, self.ngrams)])
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            return _analyze_in_pool(self._pool, tokens, self.ngrams)
        except OSError as why:  # no processes to be had here (a sandbox, a limit): one core it is
            log.warning("analyzing on one core: %s", why)
            self.close()
            self.workers = 1
            return iter([_analyze_chunk(tokens, self.ngrams)])

    def close(self) -> None:
        """Stop the analyzing processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _analyze_in_pool(pool: ProcessPoolExecutor, tokens: list[str], ngrams: tuple[int, int] | None) -> Iterator[Analyzed]:
    chunks = [tokens[i : i + _CHUNK_TOKENS] for i in range(0, len(tokens), _CHUNK_TOKENS)]
    return _awaited(pool.map(partial(_analyze_chunk, ngrams=ngrams), chunks))  # every piece submitted now


def _awaited(results: Iterator[Analyzed]) -> Iterator[Analyzed]:
    """The pieces' results in order; a worker killed meanwhile (out of memory, say) fails the build, whose
    previous index goes on serving, instead of leaving it waiting for a piece that will never come."""
    try:
        yield from results
    except BrokenProcessPool as why:
        raise IndexWriteError(
            "an analyzing process ended abruptly (killed? out of memory?): the index was not written, and the previous "
            "index still serves"
        ) from why


def _analyze_chunk(tokens: list[str], ngrams: tuple[int, int] | None) -> Analyzed:
    terms = [token_terms(token, ngrams) for token in tokens]
    return Analyzed(
        "\n".join(chain.from_iterable(terms)),
        np.array([len(t) for t in terms], dtype=np.int64),
        np.array([len(token_features(token)) for token in tokens], dtype=np.int64),
        bytes(token_cues(token) for token in tokens),
    )
