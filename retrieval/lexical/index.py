"""The TF-IDF index over passages and sentences, kept term-major so a question touches only its terms' postings.

Weights: w(t, x) = (1 + ln tf(t, x)) · idf(t), idf(t) = ln((1 + n) / (1 + df(t))) + 1 with df counted over
passages, every row L2-normalized, so a dot product is a cosine. A passage's counts are the sum of its
sentences' counts (sentences are analyzed once).

Built by ``retrieval/lexical/build.py`` (chunk by chunk, in bounded memory) into a folder beside the database:
raw arrays (memory-mapped when loaded, so a restart is fast and the OS shares pages; ``storage.py``), the
vocabulary, and `meta.json` with the parameters, the analyzer version and the corpus version it was built
from; a folder that does not match is refused.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property, partial
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy import sparse

from retrieval.answers import CorpusStats, IngestReport
from retrieval.errors import IndexMismatch
from retrieval.lexical.counts import PackedCounts
from retrieval.lexical.rows import (
    BLOCK_BITS,
    decode_rows,
    encode_rows,
    find_in_lists,
    high_blocks,
    join_halves,
    narrowest,
    ranges,
    widen_blocks,
)
from retrieval.lexical.storage import (
    ArrayFile,
    TextFile,
    new_staging,
    read_array,
    read_whole,
    swap_in,
    write_array,
    write_metadata,
)
from retrieval.lexical.vocabulary import Vocabulary
from retrieval.text.arabic import ANALYZER_VERSION, analyze
from retrieval.text.sentences import SENTENCE_CLOSERS

log = logging.getLogger(__name__)
FORMAT_VERSION = 6  # 4: raw arrays named in meta.json, built chunk by chunk; 5: the vocabulary as arrays;
# 6: sentence counts in half a byte (counts.py)
# Articles changed since the last full build, as a share of the corpus, past which a sync rebuilds: known
# terms keep their idf when articles are appended, and a tenth of the corpus is where that starts to drift.
MAX_STALE_SHARE = 0.1
# Arrays read with pread rather than through their maps (storage.ArrayFile): a question's terms' passage postings,
# a few dozen lists scattered over the largest arrays of the index.
READ_NOT_MAPPED = ("p_lo", "p_tf")
TITLE_WEIGHT = 2  # an article's title terms count this many times in its whole-article row (BM25F-like)


@dataclass(frozen=True)
class IndexParams:
    analyzer: str = ANALYZER_VERSION
    format: int = FORMAT_VERSION
    sublinear_tf: bool = True
    ngrams: tuple[int, int] | None = (3, 4)

    def text_analyzer(self) -> Callable[[str], list[str]]:
        return partial(analyze, ngrams=self.ngrams)


@dataclass
class CorpusTables:
    """The corpus as parallel arrays, sentence-major; what the index is built from and answers with."""

    doc_ids: list[str]
    titles: list[str]
    urls: list[str | None]
    sentence_texts: Sequence[str]
    sent_doc: np.ndarray  # int32, index into doc_ids
    sent_paragraph: np.ndarray  # int32, 1-based
    sent_number: np.ndarray  # int32, 1-based in its document
    sent_start: np.ndarray  # int32, character offsets into the document text
    sent_end: np.ndarray
    pass_first: np.ndarray  # int32, global sentence index, inclusive
    pass_last: np.ndarray


class TfidfIndex:
    """Passages and sentences of one corpus version, vectorized; see the module docstring."""

    _ARRAYS = (
        "sent_doc", "sent_paragraph", "sent_number", "sent_start", "sent_end", "pass_first", "pass_last",
        "text_offsets", "text_bytes", "idf", "s_norm", "p_norm", "s_flags", "doc_alive",
        "p_indptr", "p_lo", "p_blocks", "p_tf", "s_indptr", "s_lo", "s_blocks", "s_tf_packed", "s_tf_over_at", "s_tf_over",
        "d_indptr", "d_lo", "d_blocks", "d_tf", "d_len", "t_indptr", "t_indices", "t_tf", "is_word",
    )

    def __init__(self, params: IndexParams | None = None) -> None:
        self.params = params or IndexParams()
        self._scratch = threading.local()
        self.files_: dict[str, ArrayFile] = {}

    def can_extend(self, change: IngestReport) -> bool:
        """Whether ``extend`` may absorb this change: idf is not recomputed for known terms, so the articles
        changed since the last full build (these included) must stay under MAX_STALE_SHARE of the corpus."""
        changed = len(change.added) + len(change.updated) + len(change.removed)
        alive = int(np.count_nonzero(self.doc_alive_))
        return alive > 0 and self.stale_documents_ + changed <= MAX_STALE_SHARE * alive

    def extend(self, delta: TfidfIndex, retired: set[str], corpus_version: str) -> TfidfIndex:
        """A new index: this one with ``delta``'s articles (an index of the new articles alone) appended and the
        ``retired`` ones marked dead.

        Appending costs what the new articles cost plus one copy of the arrays (read with read-ahead: read_whole), instead of a
        full rebuild. Known terms keep their idf; new terms get one from the current passage count. Dead
        articles stay in the arrays (never answered) until the next full build, which ``can_extend`` forces
        once enough of the corpus has changed.
        """
        with read_whole([getattr(index, name + "_") for index in (self, delta) for name in self._ARRAYS]):
            return self._extended(delta, retired, corpus_version)

    def _extended(self, delta: TfidfIndex, retired: set[str], corpus_version: str) -> TfidfIndex:
        new = TfidfIndex(self.params)
        new.corpus_version_ = corpus_version
        latest = {doc_id: i for i, doc_id in enumerate(self.doc_ids_) if self.doc_alive_[i]}
        alive = np.array(self.doc_alive_, dtype=bool)
        alive[[latest[d] for d in retired if d in latest]] = False
        new.doc_alive_ = np.concatenate([alive, np.ones(len(delta.doc_ids_), dtype=bool)])
        new.doc_ids_, new.titles_, new.urls_ = (
            self.doc_ids_ + delta.doc_ids_, self.titles_ + delta.titles_, self.urls_ + delta.urls_
        )
        new.stale_documents_ = self.stale_documents_ + len(delta.doc_ids_) + len(retired)
        if not delta.doc_ids_:
            for name in self._ARRAYS:
                if name != "doc_alive":
                    setattr(new, name + "_", getattr(self, name + "_"))
            new.vocabulary_ = self.vocabulary_
            return new
        n_docs, n_sentences, n_passages = len(self.doc_ids_), self.n_sentences, self.n_passages
        shifts = {"sent_doc": n_docs, "pass_first": n_sentences, "pass_last": n_sentences}
        for name in ("sent_doc", "sent_paragraph", "sent_number", "sent_start", "sent_end", "pass_first", "pass_last",
                     "s_flags", "s_norm", "p_norm", "text_bytes"):
            setattr(new, name + "_", np.concatenate([getattr(self, name + "_"), getattr(delta, name + "_") + shifts.get(name, 0)]))
        new.text_offsets_ = np.concatenate([self.text_offsets_[:-1], delta.text_offsets_ + self.text_offsets_[-1]])

        # The delta's own vocabulary, mapped into this one (new terms appended).
        delta_terms = delta.vocabulary_.terms()
        column_of = self.vocabulary_.columns(delta_terms)
        unknown = np.flatnonzero(column_of < 0)
        n_known = len(self.vocabulary_)
        n_terms = n_known + len(unknown)
        column_of[unknown] = np.arange(n_known, n_terms)
        column_of = column_of.astype(np.int32)
        new.vocabulary_ = self.vocabulary_.extended([delta_terms[i] for i in unknown.tolist()])
        new.is_word_ = np.zeros(n_terms, dtype=bool)
        new.is_word_[:n_known] = self.is_word_
        new.is_word_[column_of] |= delta.is_word_
        # Sentence and title rows: appended (their columns renumbered, then re-sorted within each row). The
        # existing rows keep their encoding (rows.py): only their block counts widen when the vocabulary does.
        delta_columns = decode_rows(delta.s_indptr_, delta.s_lo_, delta.s_blocks_, delta.n_blocks)
        rows = sparse.csr_matrix(
            (delta.sentence_tf.all(), column_of[delta_columns], delta.s_indptr_), shape=(delta.n_sentences, n_terms)
        ).sorted_indices()
        indptr, columns, tf = _compact(rows)
        lo, blocks = encode_rows(indptr, columns, high_blocks(n_terms))
        new.s_indptr_ = np.concatenate([self.s_indptr_[:-1], indptr + self.s_indptr_[-1]])
        new.s_lo_ = np.concatenate([self.s_lo_, lo])
        counts = self.sentence_tf.appended(tf)
        new.s_tf_packed_, new.s_tf_over_at_, new.s_tf_over_ = counts.packed, counts.over_at, counts.over
        new.s_blocks_ = np.concatenate([widen_blocks(self.s_blocks_, self.n_blocks, high_blocks(n_terms)), narrowest(blocks)])
        titles = sparse.csr_matrix((delta.t_tf_, column_of[delta.t_indices_], delta.t_indptr_), shape=(len(delta.doc_ids_), n_terms))
        new.t_indptr_, new.t_indices_, new.t_tf_ = _append_rows((self.t_indptr_, self.t_indices_, self.t_tf_), titles)
        new.d_len_ = np.concatenate([self.d_len_, delta.d_len_])
        # Postings: each term's new postings go after its old ones (new passage and article ids are all higher),
        # inserted as they are stored, so the corpus's postings are copied once and never decoded.
        delta_passages = decode_rows(delta.p_indptr_, delta.p_lo_, delta.p_blocks_, delta.passage_blocks)
        (new.p_indptr_, new.p_lo_, new.p_blocks_, new.p_tf_), added_per_term = _append_postings(
            (self.p_indptr_, self.p_lo_, self.p_blocks_, self.p_tf_), self.passage_blocks,
            (delta.p_indptr_, delta_passages, delta.p_tf_), column_of, n_terms, n_passages, high_blocks(n_passages + delta.n_passages),
        )
        delta_articles = decode_rows(delta.d_indptr_, delta.d_lo_, delta.d_blocks_, delta.document_blocks)
        (new.d_indptr_, new.d_lo_, new.d_blocks_, new.d_tf_), _ = _append_postings(
            (self.d_indptr_, self.d_lo_, self.d_blocks_, self.d_tf_), self.document_blocks,
            (delta.d_indptr_, delta_articles, delta.d_tf_), column_of, n_terms, n_docs, high_blocks(len(new.doc_ids_)),
        )
        # Known terms keep their idf (and so every stored norm stays right); new terms' idf from the new size.
        total_passages = n_passages + delta.n_passages
        new_df = added_per_term[n_known:]
        new.idf_ = np.concatenate([self.idf_, (np.log((1 + total_passages) / (1 + new_df)) + 1).astype(np.float32)])
        # The delta's norms used its own idf: recompute them with the merged one.
        new.s_norm_[n_sentences:] = row_norms(rows.indptr, rows.indices, rows.data, new.idf_, self._tf_table)
        passages = (membership(delta.pass_first_, delta.pass_last_, delta.n_sentences) @ rows).tocsr()
        new.p_norm_[n_passages:] = row_norms(passages.indptr, passages.indices, passages.data, new.idf_, self._tf_table)
        return new

    def stats(self, titles: int = 10) -> CorpusStats:
        """Living articles, passages and sentences, and the first titles."""
        alive_sentences = self.doc_alive_[self.sent_doc_]
        alive_passages = alive_sentences[self.pass_first_] if self.n_passages else alive_sentences[:0]
        names = [t for t, a in zip(self.titles_, self.doc_alive_, strict=True) if a][:titles]
        return CorpusStats(
            int(np.count_nonzero(self.doc_alive_)), int(np.count_nonzero(alive_passages)),
            int(np.count_nonzero(alive_sentences)), tuple(names),
        )

    @cached_property
    def has_dead(self) -> bool:
        return not bool(np.all(self.doc_alive_))

    @cached_property
    def _tf_table(self) -> np.ndarray:
        """The tf weight of every one-byte count, for lookups."""
        return self.tf_weight(np.arange(MAX_TF + 1))

    def tf_weight(self, tf: np.ndarray) -> np.ndarray:
        return tf_weights(tf, self.params.sublinear_tf)

    # -- persistence --------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the index to ``folder`` atomically: written beside it, then swapped in by rename."""
        folder = Path(folder)
        staging, lock = new_staging(folder)
        try:
            arrays = {name: write_array(staging, name, np.asarray(getattr(self, name + "_"))) for name in self._ARRAYS}
            documents = {"doc_ids": self.doc_ids_, "titles": self.titles_, "urls": self.urls_}
            write_metadata(staging, asdict(self.params), self.corpus_version_, self.stale_documents_, arrays, self.vocabulary_, documents)
        except BaseException:
            lock.close()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        lock.close()
        swap_in(staging, folder)

    @classmethod
    def load(cls, folder: Path, params: IndexParams, corpus_version: str) -> TfidfIndex:
        """The saved index, memory-mapped; IndexMismatch if it is missing, stale or built otherwise."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise IndexMismatch(f"no readable index at {folder}") from error
        if meta.get("params") != json.loads(json.dumps(asdict(params))):
            raise IndexMismatch(f"index at {folder} was built with {meta.get('params')}, not {asdict(params)}")
        if meta.get("corpus_version") != corpus_version:
            raise IndexMismatch(f"index at {folder} is for another version of the corpus")
        index = cls(params)
        index.corpus_version_ = corpus_version
        index.stale_documents_ = int(meta.get("stale_documents", 0))
        try:
            for name in cls._ARRAYS:
                setattr(index, name + "_", read_array(folder, name, *meta["arrays"][name]))
            index.texts_ = TextFile(folder / "text_bytes.bin")
            index.files_ = {name: ArrayFile(folder / f"{name}.bin", meta["arrays"][name][0]) for name in READ_NOT_MAPPED}
            index.vocabulary_ = Vocabulary.load(folder, meta["arrays"])
            documents = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, pickle.UnpicklingError) as error:
            raise IndexMismatch(f"index at {folder} is damaged: {error}") from error
        index.doc_ids_, index.titles_, index.urls_ = documents["doc_ids"], documents["titles"], documents["urls"]
        return index

    # -- reading ------------------------------------------------------------------------------------------
    @property
    def n_sentences(self) -> int:
        return len(self.sent_doc_)

    @property
    def n_passages(self) -> int:
        return len(self.pass_first_)

    def sentence_text(self, i: int) -> str:
        return self.texts_.read(int(self.text_offsets_[i]), int(self.text_offsets_[i + 1]))

    def sentence_texts(self, block: int = 1 << 22) -> Iterator[str]:
        """Every sentence's text in order, read a block of about ``block`` bytes at a time (the text file is
        advised random access: read a sentence at a time from a cold cache, it took a disk read a page)."""
        offsets = np.asarray(self.text_offsets_, dtype=np.int64)
        first = 0
        while first < self.n_sentences:
            last = max(first + 1, int(np.searchsorted(offsets, offsets[first] + block, side="right")) - 1)
            last = min(last, self.n_sentences)
            data = self.texts_.read_bytes(int(offsets[first]), int(offsets[last]))
            base = int(offsets[first])
            bounds = (offsets[first : last + 1] - base).tolist()
            yield from (data[a:b].decode("utf-8") for a, b in pairwise(bounds))
            first = last

    def weigh(self, occurrences: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(sorted columns, L2-normalized sublinear tf-idf weights) of a text whose terms are these columns (one an
        occurrence; -1, an unknown term, is dropped)."""
        found = np.sort(np.asarray(occurrences, dtype=np.int64))
        found = found[found >= 0]
        if not len(found):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        starts = np.flatnonzero(np.concatenate(([True], found[1:] != found[:-1])))
        columns, tf = found[starts], np.diff(np.append(starts, len(found))).astype(np.float32)
        weights = self.tf_weight(tf) * self.idf_[columns]
        return columns, weights / np.linalg.norm(weights)

    def passage_frequencies(self, columns: np.ndarray) -> np.ndarray:
        """How many passages hold each of these terms: the length of its posting list."""
        return self.p_indptr_[columns + 1] - self.p_indptr_[columns]

    def passage_scores(self, columns: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, their part of cos(q, passage) from these terms), for every passage holding one of them.

        Reads the terms' postings only; a dense accumulator sized by the highest passage id avoids sorting them.
        """
        if not len(columns):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        starts, ends = self.p_indptr_[columns].tolist(), self.p_indptr_[columns + 1].tolist()
        rows = join_halves(self._gather("p_lo", starts, ends), self.p_blocks_, columns, self.passage_blocks)
        tf = self._gather("p_tf", starts, ends)
        factors = np.repeat(weights * self.idf_[columns], np.subtract(ends, starts))
        dense = np.bincount(rows, weights=self._tf_table.take(tf) * factors)
        # Marking the postings' passages and scanning the marks beats sorting the postings (and np.unique's hash).
        marked = np.zeros(len(dense), dtype=bool)
        marked[rows] = True
        ids = np.flatnonzero(marked)
        return ids, (dense.take(ids) / self.p_norm_.take(ids)).astype(np.float32)

    def document_candidates(self, columns: np.ndarray, weights: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """Articles holding the query's rarer word terms, their (partial) BM25 score, and whether it is exact.

        Reads the postings of the rarest of ``columns`` up to ``budget`` of them, as candidate passages do.
        BM25 (k1 = 1.2, b = 0.75) over whole articles, title included: an article names its topic in the title
        and lead, which the sentence that answers often does not repeat.
        """
        frequencies = self.d_indptr_[columns + 1] - self.d_indptr_[columns]
        order = np.argsort(frequencies, kind="stable")
        essential = max(1, int(np.searchsorted(np.cumsum(frequencies[order]), budget, side="right")))
        rare = np.sort(order[:essential])
        starts, ends = self.d_indptr_[columns[rare]].tolist(), self.d_indptr_[columns[rare] + 1].tolist()
        if not sum(e - s for s, e in zip(starts, ends, strict=True)):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), True
        low = np.concatenate([self.d_lo_[s:e] for s, e in zip(starts, ends, strict=True)])
        rows = join_halves(low, self.d_blocks_, columns[rare], self.document_blocks)
        tf = np.concatenate([self.d_tf_[s:e] for s, e in zip(starts, ends, strict=True)]).astype(np.float32)
        factors = np.repeat(weights[rare] * self.document_idf(columns[rare]), np.subtract(ends, starts))
        dense = np.bincount(rows, weights=self._bm25_tf(tf, self.d_len_.take(rows)) * factors)
        ids = np.flatnonzero(dense != 0)  # articles are few next to postings: scanning them beats sorting the postings
        return ids, dense[ids].astype(np.float32), essential == len(columns)

    def document_scores(self, doc_ids: np.ndarray, columns: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(exact BM25 of these articles, their title counts and their text counts of ``columns``), read from
        their title rows and the word terms' article postings."""
        title_tf = self.matches(doc_ids, columns, rows="t").counts()
        tf = np.zeros((len(doc_ids), len(columns)), dtype=np.float32)
        # Each word term's postings are sorted by article: a binary search finds the candidates in them,
        # touching a few pages instead of every sentence row of every candidate. A candidate is searched for in
        # the block of 65,536 articles it falls in (rows.py); every term and candidate in one search.
        word = np.flatnonzero(self.is_word_[columns])
        if len(word) and len(doc_ids):
            counts = self.d_blocks_.reshape(-1, self.document_blocks)[columns[word]].astype(np.int64)  # (terms, blocks)
            starts = self.d_indptr_[columns[word]][:, None] + np.cumsum(counts, axis=1) - counts
            block = doc_ids >> BLOCK_BITS
            targets = np.tile((doc_ids & 0xFFFF).astype(np.uint16), len(word))
            position, found = find_in_lists(self.d_lo_, starts[:, block].ravel(), counts[:, block].ravel(), targets)
            tf[:, word] = np.where(found, self.d_tf_.take(position, mode="clip"), 0).reshape(len(word), len(doc_ids)).T
        text_tf = np.maximum(tf - TITLE_WEIGHT * title_tf, 0)
        factors = weights * self.document_idf(columns)
        return (self._bm25_tf(tf, self.d_len_[doc_ids][:, None]) @ factors).astype(np.float32), title_tf, text_tf

    def document_idf(self, columns: np.ndarray) -> np.ndarray:
        """BM25's idf over articles: ln(1 + (n - df + 0.5) / (df + 0.5))."""
        df = (self.d_indptr_[columns + 1] - self.d_indptr_[columns]).astype(np.float32)
        return np.log1p((len(self.doc_ids_) - df + 0.5) / (df + 0.5)).astype(np.float32)

    def _bm25_tf(self, tf: np.ndarray, length: np.ndarray, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
        return tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / self.mean_document_length))

    @cached_property
    def mean_document_length(self) -> float:
        return float(np.mean(self.d_len_)) if len(self.d_len_) else 1.0

    @cached_property
    def doc_position(self) -> dict[str, int]:
        """Each living article's position, by its id."""
        return {doc_id: i for i, doc_id in enumerate(self.doc_ids_) if self.doc_alive_[i]}

    @cached_property
    def doc_first(self) -> np.ndarray:
        """Each article's first sentence (sentences are stored article by article)."""
        return np.searchsorted(self.sent_doc_, np.arange(len(self.doc_ids_)), side="left")

    @cached_property
    def doc_last(self) -> np.ndarray:
        """Each article's last sentence (first - 1 for an article without sentences)."""
        return np.searchsorted(self.sent_doc_, np.arange(len(self.doc_ids_)), side="right") - 1

    def matches(self, row_ids: np.ndarray, columns: np.ndarray, rows: str = "s") -> QueryMatches:
        """The postings of these sentence rows that are among the query's sorted ``columns``: which row (its
        position in ``row_ids``), which column, what count. ``rows="t"`` reads the title rows instead (one per
        article).

        The rows are read as slices, one per run of consecutive rows (a passage's sentences, overlapping windows:
        a few dozen runs for 450 sentences); nothing outside them is read, and rows and positions are computed for
        the hits only. Membership is a lookup in a vocabulary-sized table of query positions (one per thread,
        reset after use), five times faster than a binary search per posting.
        """
        indptr = self.s_indptr_ if rows == "s" else self.t_indptr_
        first = indptr[row_ids]
        ends = np.cumsum(indptr[row_ids + 1] - first)
        runs = np.flatnonzero(np.concatenate(([True], row_ids[1:] - row_ids[:-1] != 1)))  # where a run of consecutive rows starts
        run_first, run_last = first[runs].tolist(), indptr[np.append(row_ids[runs[1:] - 1], row_ids[-1:]) + 1].tolist()
        values = self.s_lo_ if rows == "s" else self.t_indices_
        gathered = np.concatenate([values[a:b] for a, b in zip(run_first, run_last, strict=True)] or [values[:0]])
        found = join_halves(gathered, self.s_blocks_, row_ids, self.n_blocks) if rows == "s" else gathered
        table = self._position_table()
        table[columns] = np.arange(1, len(columns) + 1)
        try:
            at = table.take(found)  # take: twice as fast as fancy indexing for a gather this size
        finally:
            table[columns] = 0
        hit = np.flatnonzero(at != 0)  # a boolean scan: numpy's flatnonzero of uint16 is seven times slower
        owner = np.searchsorted(ends, hit, side="right")
        positions = hit + first[owner] - (ends[owner] - (indptr[row_ids[owner] + 1] - first[owner]))
        tf = self.sentence_tf.at(positions) if rows == "s" else self.t_tf_[positions]
        return QueryMatches(len(row_ids), len(columns), owner, at[hit].astype(np.int64) - 1, tf)

    @cached_property
    def sentence_tf(self) -> PackedCounts:
        """The sentence rows' counts, entry by entry as ``s_lo`` (counts.py)."""
        return PackedCounts(self.s_tf_packed_, len(self.s_lo_), self.s_tf_over_at_, self.s_tf_over_)

    @cached_property
    def n_blocks(self) -> int:
        """Blocks of 65,536 columns the sentence rows are split into (``rows.py``)."""
        return high_blocks(len(self.idf_))

    @cached_property
    def document_blocks(self) -> int:
        """Blocks of 65,536 articles the article postings are split into (``rows.py``)."""
        return high_blocks(len(self.doc_ids_))

    @cached_property
    def passage_blocks(self) -> int:
        """Blocks of 65,536 passages the passage postings are split into (``rows.py``)."""
        return high_blocks(self.n_passages)

    def _gather(self, name: str, starts: list[int], stops: list[int]) -> np.ndarray:
        """Values ``start:stop`` of each (start, stop) of a READ_NOT_MAPPED array, in one array: read from its file
        when the index was loaded from one, sliced otherwise."""
        if name in self.files_:
            return self.files_[name].gather(starts, stops)
        values = getattr(self, name + "_")
        return np.concatenate([values[a:b] for a, b in zip(starts, stops, strict=True)] or [values[:0]])

    def _position_table(self) -> np.ndarray:
        table = getattr(self._scratch, "table", None)
        if table is None:
            table = self._scratch.table = np.zeros(len(self.idf_), dtype=np.uint16)
        return table

    def passage_counts(self, passage_ids: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sentence ids, their counts, the passages' counts) of the query's columns, for these passages.

        The passages' sentences are gathered once (overlapping windows share them); a passage's counts are the
        sum of its run of sentences, read off prefix sums.
        """
        first, last = self.pass_first_[passage_ids], self.pass_last_[passage_ids]
        sentence_ids = sorted_distinct(ranges(first, last - first + 1))
        sentence_tf = self.matches(sentence_ids, columns).counts()
        prefix = np.zeros((len(sentence_ids) + 1, len(columns)))
        np.cumsum(sentence_tf, axis=0, out=prefix[1:])
        passage_tf = prefix[np.searchsorted(sentence_ids, last) + 1] - prefix[np.searchsorted(sentence_ids, first)]
        return sentence_ids, sentence_tf, passage_tf

    @cached_property
    def mean_sentence_norm(self) -> float:
        return float(np.mean(self.s_norm_)) if len(self.s_norm_) else 1.0

    @cached_property
    def max_idf(self) -> float:
        """The highest idf; a scan of the vocabulary, 3% of a question's time when it was read per question."""
        return float(self.idf_.max()) if len(self.idf_) else 1.0


@dataclass(frozen=True)
class QueryMatches:
    """Where the query's terms occur in some ranges of sentences: parallel arrays, one entry a posting."""

    n_ranges: int
    n_columns: int
    owner: np.ndarray  # which range
    column: np.ndarray  # position in the query's sorted columns
    tf: np.ndarray

    def counts(self) -> np.ndarray:
        """(ranges × query columns) term counts, summed over each range's sentences."""
        key = self.owner * self.n_columns + self.column
        return np.bincount(key, weights=self.tf, minlength=self.n_ranges * self.n_columns).reshape(self.n_ranges, self.n_columns)


MAX_TF = 255  # counts are stored in one byte; a term 255 times in one passage is as good as more


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (np.unique hashes, and is slower on the small integer arrays of a question)."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


def membership(first: np.ndarray, last: np.ndarray, n_sentences: int) -> sparse.csr_matrix:
    """(runs × sentences), 1 where run i (a passage, an article) holds the sentence: run counts = membership @ sentence counts."""
    lengths = last - first + 1
    return sparse.csr_matrix(
        (np.ones(int(lengths.sum()), dtype=np.float32), ranges(first, lengths), np.concatenate([[0], np.cumsum(lengths)])),
        shape=(len(first), n_sentences),
    )


def headings(tables: CorpusTables) -> np.ndarray:
    """Sentences that are a whole paragraph with no closing punctuation: titles and sub-headings."""
    if not len(tables.sent_doc):
        return np.zeros(0, dtype=bool)
    paragraph_key = tables.sent_doc.astype(np.int64) << 32 | tables.sent_paragraph
    alone = np.ones(len(paragraph_key), dtype=bool)
    same = paragraph_key[1:] == paragraph_key[:-1]
    alone[1:] &= ~same
    alone[:-1] &= ~same
    unpunctuated = np.array([not text.rstrip().endswith(SENTENCE_CLOSERS) for text in tables.sentence_texts], dtype=bool)
    return alone & unpunctuated


def tf_weights(tf: np.ndarray, sublinear: bool = True) -> np.ndarray:
    """1 + ln tf (0 where tf is 0), or tf itself without sublinear scaling."""
    tf = tf.astype(np.float32)
    return np.where(tf > 0, 1 + np.log(np.maximum(tf, 1)), 0).astype(np.float32) if sublinear else tf


def row_norms(indptr: np.ndarray, indices: np.ndarray, tf: np.ndarray, idf: np.ndarray, tf_table: np.ndarray) -> np.ndarray:
    """The L2 norm of each row's (1 + ln tf) · idf weights, for rows in CSR form (1 for an empty row, so divisions
    stay finite); ``tf_table``: the weight of each one-byte count."""
    n_rows = len(indptr) - 1
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))
    weights = tf_table[np.minimum(tf, MAX_TF).astype(np.intp)] * idf[indices]
    norms = np.sqrt(np.bincount(rows, weights=weights.astype(np.float64) ** 2, minlength=n_rows)).astype(np.float32)
    norms[norms == 0] = 1
    return norms


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # (indptr, indices, one-byte counts)


def _append_rows(old: Arrays, rows: sparse.csr_matrix) -> Arrays:
    """Row-major arrays with ``rows`` (columns already in the merged vocabulary) appended."""
    indptr, indices, tf = _compact(rows.sorted_indices())
    return np.concatenate([old[0][:-1], indptr + old[0][-1]]), np.concatenate([old[1], indices]), np.concatenate([old[2], tf])


def _append_postings(
    old: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], old_blocks: int, delta: Arrays, column_of: np.ndarray,
    n_terms: int, row_offset: int, n_blocks: int,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Term-major postings stored as in rows.py (indptr, low halves, block counts, counts), with the delta's postings
    (decoded; its columns mapped by ``column_of``, its rows shifted by ``row_offset``) after each term's old ones;
    and how many postings each term gained.

    The delta's ids are all higher than the old ones, so a term's low halves stay in order block by block when
    its new ones follow its old ones, and its block counts add up."""
    old_indptr, old_lo, old_counts, old_tf = old
    delta_columns = np.repeat(column_of, np.diff(delta[0]))
    order = np.argsort(delta_columns, kind="stable")
    delta_columns = delta_columns[order].astype(np.int64)
    ids = delta[1][order].astype(np.int64) + row_offset
    n_old_terms = len(old_indptr) - 1
    indptr = np.concatenate([old_indptr, np.full(n_terms - n_old_terms, old_indptr[-1])])
    added_per_term = np.bincount(delta_columns, minlength=n_terms)
    at = indptr[delta_columns + 1]
    lo = np.insert(old_lo, at, (ids & 0xFFFF).astype(np.uint16))
    tf = np.insert(old_tf, at, delta[2][order]).astype(np.uint8)
    counts = widen_blocks(old_counts, old_blocks, n_blocks, n_terms)
    counts += np.bincount(delta_columns * n_blocks + (ids >> BLOCK_BITS), minlength=n_terms * n_blocks).astype(np.uint32)
    return (indptr + np.concatenate([[0], np.cumsum(added_per_term)]), lo, counts, tf), added_per_term


def _compact(counts: sparse.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, int32 indices, uint8 counts) of a CSR or CSC count matrix, for saving."""
    tf = np.minimum(counts.data, MAX_TF).astype(np.uint8)
    return counts.indptr.astype(np.int64), counts.indices.astype(np.int32), tf
