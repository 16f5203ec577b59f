"""Building the saved TF-IDF index in bounded memory: the corpus is read and counted a chunk of articles at a
time, and what needs the whole corpus is merged from disk at the end.

Per chunk, sentence rows, title rows and the sentence tables go straight to their files (row-major: a
chunk's rows follow the previous chunk's), and its passages' and articles' postings are spilled term-major.
At the end, idf(t) = ln((1 + n) / (1 + df(t))) + 1 from the passage frequencies counted on the way, the
spilled postings merged term by term (each term's postings chunk after chunk, so sorted by passage or
article), and the norms computed from the merged postings with that idf. What stays in memory is the
vocabulary, one chunk, and one block of postings; the result is what a whole-corpus build gives.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from types import TracebackType

import numpy as np
from scipy import sparse

from retrieval.lexical.counts import CountsWriter
from retrieval.lexical.index import MAX_TF, TITLE_WEIGHT, CorpusTables, IndexParams, headings, membership, row_norms, tf_weights
from retrieval.lexical.rows import encode_rows, high_blocks, narrowest, ranges
from retrieval.lexical.storage import ArrayWriter, new_staging, read_array, read_range, swap_in, write_array, write_metadata
from retrieval.lexical.terms import Submitted, TermCounter
from retrieval.lexical.vocabulary import Vocabulary
from retrieval.text.arabic import HEADING

Progress = Callable[[str], None]
# Postings merged (or rows normed) at a time: about 24 bytes each while merging, 50 MB.
MERGE_BLOCK = 2_000_000


class PostingSpill:
    """One chunk's term-major postings on disk: per-term offsets over the vocabulary as it was, rows, counts."""

    def __init__(self, folder: Path, name: str, counts: sparse.csc_matrix, row_offset: int, tf_dtype: type) -> None:
        self.folder, self.name, self.n_terms = folder, name, counts.shape[1]
        self.specs = {
            "indptr": write_array(folder, f"{name}.indptr", counts.indptr.astype(np.int64)),
            "rows": write_array(folder, f"{name}.rows", (counts.indices + row_offset).astype(np.int32)),
            "tf": write_array(folder, f"{name}.tf", counts.data.astype(tf_dtype)),
        }

    def read(self, part: str, start: int, stop: int) -> np.ndarray:
        return read_range(self.folder, f"{self.name}.{part}", self.specs[part][0], start, stop)

    def lengths(self, n_terms: int) -> np.ndarray:
        """Postings per term, over a vocabulary of ``n_terms`` (terms born after this chunk hold none here)."""
        lengths = np.zeros(n_terms, dtype=np.int64)
        lengths[: self.n_terms] = np.diff(self.read("indptr", 0, self.n_terms + 1))
        return lengths

    def remove(self) -> None:
        for part in self.specs:
            (self.folder / f"{self.name}.{part}.bin").unlink(missing_ok=True)


def merged_postings(
    spills: list[PostingSpill], totals: np.ndarray, kept: np.ndarray | None, tf_dtype: type, block: int = MERGE_BLOCK
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """The spills' postings term-major, a block of terms at a time: (first term, the block's postings per term,
    rows, counts). Within a term, chunk after chunk. ``kept``: the terms to keep (the others are skipped);
    ``totals``: each term's postings over every spill (zero where not kept)."""
    n_terms = len(totals)
    ends = np.searchsorted(np.cumsum(totals), np.arange(block, int(totals.sum()) + block, block), side="right")
    bounds = np.unique(np.concatenate([[0], np.clip(ends, 1, n_terms), [n_terms]])) if n_terms else np.zeros(1, np.int64)
    for t0, t1 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        lengths = totals[t0:t1]
        out_start = np.cumsum(lengths) - lengths
        rows = np.empty(int(lengths.sum()), dtype=np.int32)
        tf = np.empty(len(rows), dtype=tf_dtype)
        for spill in spills:
            if t0 >= spill.n_terms:
                continue
            t_end = min(t1, spill.n_terms)
            indptr = spill.read("indptr", t0, t_end + 1)
            have = np.diff(indptr)
            if kept is not None:
                have = have * kept[t0:t_end]
            total = int(have.sum())
            if not total:
                continue
            first = int(indptr[0])  # the block's postings in this spill are one run of it, read at once
            source = ranges(indptr[:-1] - first, have)
            target = ranges(out_start[: t_end - t0], have)
            rows[target] = spill.read("rows", first, int(indptr[-1]))[source]
            tf[target] = spill.read("tf", first, int(indptr[-1]))[source]
            out_start[: t_end - t0] += have
        yield t0, lengths, rows, tf


class IndexBuilder:
    """Writes the index of a corpus, chunk by chunk, into a staging folder swapped into ``folder`` when done.

        with IndexBuilder(folder, params) as builder:
            for tables in chunks:          # whole articles, in corpus order
                builder.add(tables)
            builder.finish(corpus_version)

    Leaving the block by an exception (a full disk, a bug) removes the staging folder: the index in
    ``folder`` stays as it was. A process killed meanwhile leaves the folder to the next build, which
    removes it (its lock is free).
    """

    def __init__(self, folder: Path, params: IndexParams, progress: Progress | None = None, workers: int | None = None) -> None:
        self.folder = Path(folder)
        self.params = params
        self.progress = progress or (lambda _message: None)
        self.workers = workers

    def __enter__(self) -> IndexBuilder:
        self.staging, self._lock = new_staging(self.folder)
        self.counter = TermCounter(self.params.ngrams, self.workers)
        self.doc_ids: list[str] = []
        self.titles: list[str] = []
        self.urls: list[str | None] = []
        self.n_sentences = self.n_passages = self.text_bytes = 0
        self.passage_df = np.zeros(0, dtype=np.int64)
        self.passage_spills: list[PostingSpill] = []
        self.document_spills: list[PostingSpill] = []
        self.writers: dict[str, ArrayWriter] = {}
        self._waiting: tuple[CorpusTables, Submitted] | None = None  # the chunk added last, not yet written
        for name, dtype in (
            ("sent_doc", np.int32), ("sent_paragraph", np.int32), ("sent_number", np.int32), ("sent_start", np.int32),
            ("sent_end", np.int32), ("pass_first", np.int32), ("pass_last", np.int32), ("s_flags", np.uint8),
            ("text_offsets", np.int64), ("text_bytes", np.uint8), ("s_indptr", np.int64), ("s_indices", np.int32),
            ("s_tf", np.uint8), ("title_indptr", np.int64), ("title_indices", np.int32), ("title_tf", np.uint8),
        ):
            self.writers[name] = ArrayWriter(self.staging, name, dtype)
        for name in ("text_offsets", "s_indptr", "title_indptr"):
            self.writers[name].append(np.zeros(1, dtype=np.int64))
        self.started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.counter.close()
        if kind is not None:
            for writer in self.writers.values():
                try:
                    writer.close()
                except OSError:
                    continue  # the disk that failed the build may fail the flush too: the folder goes anyway
            self._lock.close()
            shutil.rmtree(self.staging, ignore_errors=True)

    def add(self, tables: CorpusTables) -> None:
        """Take one chunk of whole articles: its new tokens go to the analyzing processes, and the chunk before it
        is counted and written or spilled meanwhile (the analysis of each chunk overlaps the writing of the
        last: on two cores, the index build of SaudiNewsNet went from 51 to 44 s)."""
        submitted = self.counter.submit([*tables.sentence_texts, *tables.titles])
        self._write_waiting()
        self._waiting = (tables, submitted)

    def _write_waiting(self) -> None:
        if self._waiting is not None:
            tables, submitted = self._waiting
            self._waiting = None
            self._write(tables, *self.counter.collect(submitted))

    def _write(self, tables: CorpusTables, counts: sparse.csr_matrix, flags: np.ndarray) -> None:
        """Write or spill everything of one counted chunk."""
        n_docs, n_sentences, n_passages = len(tables.doc_ids), len(tables.sentence_texts), len(tables.pass_first)
        sentences, titles = counts[:n_sentences], counts[n_sentences:]
        flags = flags[:n_sentences]
        flags[headings(tables)] |= HEADING
        w = self.writers
        first_doc, first_sentence = len(self.doc_ids), self.n_sentences
        w["sent_doc"].append(tables.sent_doc + first_doc)
        for name in ("sent_paragraph", "sent_number", "sent_start", "sent_end"):
            w[name].append(getattr(tables, name))
        w["pass_first"].append(tables.pass_first + first_sentence)
        w["pass_last"].append(tables.pass_last + first_sentence)
        w["s_flags"].append(flags)
        encoded = [text.encode("utf-8") for text in tables.sentence_texts]
        w["text_offsets"].append(self.text_bytes + np.cumsum([len(b) for b in encoded], dtype=np.int64))
        joined = b"".join(encoded)
        w["text_bytes"].append(np.frombuffer(joined, dtype=np.uint8))
        self.text_bytes += len(joined)
        sentences.sort_indices()  # a sentence's columns in order: their high halves are then runs (rows.py)
        self._append_rows("s", sentences)
        self._append_rows("title", titles)
        # Passages and articles: term-major, spilled. Articles hold every term for now (the title's twice); which
        # terms are words is known only once the whole corpus is counted.
        passages = (membership(tables.pass_first, tables.pass_last, n_sentences) @ sentences).tocsc()
        passages.data = np.minimum(passages.data, MAX_TF)
        k = len(self.passage_spills)
        self.passage_spills.append(PostingSpill(self.staging, f"passages-{k}", passages, self.n_passages, np.uint8))
        self.passage_df = np.concatenate([self.passage_df, np.zeros(passages.shape[1] - len(self.passage_df), np.int64)])
        self.passage_df += np.diff(passages.indptr)
        first, last = _article_runs(tables.sent_doc, n_docs)
        documents = (membership(first, last, n_sentences) @ sentences + TITLE_WEIGHT * titles).tocsc()
        self.document_spills.append(PostingSpill(self.staging, f"documents-{k}", documents, first_doc, np.uint32))
        self.doc_ids += tables.doc_ids
        self.titles += tables.titles
        self.urls += tables.urls
        self.n_sentences += n_sentences
        self.n_passages += n_passages
        self.progress(
            f"counted {len(self.doc_ids):,} articles, {self.n_sentences:,} sentences; {len(self.counter.vocabulary):,} terms "
            f"({time.perf_counter() - self.started:.1f} s)"
        )

    def _append_rows(self, prefix: str, counts: sparse.csr_matrix) -> None:
        w = self.writers
        w[f"{prefix}_indptr"].append(counts.indptr[1:].astype(np.int64) + w[f"{prefix}_indices"].length)
        w[f"{prefix}_indices"].append(counts.indices)
        w[f"{prefix}_tf"].append(np.minimum(counts.data, MAX_TF))

    def finish(self, corpus_version: str, stale_documents: int = 0) -> None:
        """Merge the spilled postings, compute idf and norms, write the metadata and swap the folder in."""
        self._write_waiting()
        specs = {name: writer.close() for name, writer in self.writers.items()}
        n_terms = len(self.counter.vocabulary)
        is_word = self.counter.is_word
        df = np.concatenate([self.passage_df, np.zeros(n_terms - len(self.passage_df), np.int64)])
        idf = smooth_idf(df, self.n_passages)
        tf_table = tf_weights(np.arange(MAX_TF + 1), self.params.sublinear_tf)
        self.progress(f"merging the postings of {n_terms:,} terms ({time.perf_counter() - self.started:.1f} s)")
        specs |= self._merge("p", self.passage_spills, None, n_terms, idf, tf_table, self.n_passages)
        specs |= self._merge("d", self.document_spills, is_word, n_terms, idf, tf_table, len(self.doc_ids))
        specs |= self._word_titles(specs, is_word)
        specs |= self._sentence_rows(specs, idf, tf_table, high_blocks(n_terms))
        specs |= {
            "idf": write_array(self.staging, "idf", idf),
            "is_word": write_array(self.staging, "is_word", is_word),
            "doc_alive": write_array(self.staging, "doc_alive", np.ones(len(self.doc_ids), dtype=bool)),
        }
        write_metadata(
            self.staging, asdict(self.params), corpus_version, stale_documents, specs, Vocabulary.of(self.counter.vocabulary),
            {"doc_ids": self.doc_ids, "titles": self.titles, "urls": self.urls},
        )
        self._lock.close()
        swap_in(self.staging, self.folder)
        self.progress(f"index written ({time.perf_counter() - self.started:.1f} s)")

    def _merge(
        self, prefix: str, spills: list[PostingSpill], kept: np.ndarray | None, n_terms: int, idf: np.ndarray,
        tf_table: np.ndarray, n_rows: int,
    ) -> dict[str, tuple[str, int]]:
        """The term-major ``p_`` (passages) or ``d_`` (articles, word terms) arrays, with the passages' norms
        or the articles' lengths."""
        totals = np.zeros(n_terms, dtype=np.int64)
        for spill in spills:
            totals += spill.lengths(n_terms)
        if kept is not None:
            totals *= kept
        # Passage and article ids in two bytes (rows.py).
        writers = {
            name: ArrayWriter(self.staging, name, dtype)
            for name, dtype in ((f"{prefix}_lo", np.uint16), (f"{prefix}_blocks", np.uint32), (f"{prefix}_tf", np.uint8))
        }
        per_row = np.zeros(n_rows, dtype=np.float64)
        for t0, lengths, rows, tf in merged_postings(spills, totals, kept, spills[0].specs["tf"][0] if spills else np.uint8):
            lo, blocks = encode_rows(np.concatenate([[0], np.cumsum(lengths)]), rows, high_blocks(n_rows))
            writers[f"{prefix}_lo"].append(lo)
            writers[f"{prefix}_blocks"].append(blocks)
            writers[f"{prefix}_tf"].append(np.minimum(tf, MAX_TF))
            if prefix == "p":  # Σ_t ((1 + ln tf) · idf(t))², each passage's squared norm
                columns = np.repeat(np.arange(t0, t0 + len(lengths)), lengths)
                per_row += np.bincount(rows, weights=(tf_table[tf] * idf[columns]).astype(np.float64) ** 2, minlength=n_rows)
            else:  # an article's length: its word terms' counts, the title's twice
                per_row += np.bincount(rows, weights=tf.astype(np.float64), minlength=n_rows)
        for spill in spills:
            spill.remove()
        specs = {name: writer.close() for name, writer in writers.items()}
        specs[f"{prefix}_indptr"] = write_array(self.staging, f"{prefix}_indptr", np.concatenate([[0], np.cumsum(totals)]).astype(np.int64))
        if prefix == "p":
            norms = np.sqrt(per_row).astype(np.float32)
            norms[norms == 0] = 1
            specs["p_norm"] = write_array(self.staging, "p_norm", norms)
        else:
            specs["d_len"] = write_array(self.staging, "d_len", per_row.astype(np.float32))
        return specs

    def _sentence_rows(
        self, specs: dict[str, tuple[str, int]], idf: np.ndarray, tf_table: np.ndarray, n_blocks: int
    ) -> dict[str, tuple[str, int]]:
        """The sentence rows' columns in two bytes (``rows.py``: ``s_lo``, ``s_blocks``), their counts in half a byte
        (``counts.py``: ``s_tf_packed``, ``s_tf_over_at``, ``s_tf_over``) and their norms (``s_norm``)."""
        indptr = read_array(self.staging, "s_indptr", *specs["s_indptr"])
        indices_type, tf_type = specs.pop("s_indices")[0], specs.pop("s_tf")[0]
        block_type = narrowest(np.diff(indptr)).dtype  # a row's count in a block is at most its length
        writers = {name: ArrayWriter(self.staging, name, dtype) for name, dtype in (("s_lo", np.uint16), ("s_blocks", block_type))}
        counts = CountsWriter(self.staging, "s_tf")
        norms = np.ones(self.n_sentences, dtype=np.float32)
        for r0, r1 in _row_blocks(indptr):
            start, end = int(indptr[r0]), int(indptr[r1])
            local = indptr[r0 : r1 + 1] - start
            indices = read_range(self.staging, "s_indices", indices_type, start, end)
            lo, blocks = encode_rows(local, indices, n_blocks)
            writers["s_lo"].append(lo)
            writers["s_blocks"].append(blocks)
            tf = read_range(self.staging, "s_tf", tf_type, start, end)
            counts.append(tf)
            norms[r0:r1] = row_norms(local, indices, tf, idf, tf_table)
        del indptr
        for name in ("s_indices", "s_tf"):
            (self.staging / f"{name}.bin").unlink()
        return {
            **{name: writer.close() for name, writer in writers.items()}, **counts.close(),
            "s_norm": write_array(self.staging, "s_norm", norms),
        }

    def _word_titles(self, specs: dict[str, tuple[str, int]], is_word: np.ndarray) -> dict[str, tuple[str, int]]:
        """The title rows with their word terms only (``t_``), from all their terms (``title_``)."""
        indptr = read_array(self.staging, "title_indptr", *specs.pop("title_indptr"))
        indices_type, tf_type = specs.pop("title_indices")[0], specs.pop("title_tf")[0]
        writers = {name: ArrayWriter(self.staging, name, dtype) for name, dtype in (("t_indices", np.int32), ("t_tf", np.uint8))}
        kept_per_row = np.zeros(len(indptr) - 1, dtype=np.int64)
        for r0, r1 in _row_blocks(indptr):
            start, end = int(indptr[r0]), int(indptr[r1])
            indices = read_range(self.staging, "title_indices", indices_type, start, end)
            kept = is_word[indices]
            writers["t_indices"].append(indices[kept])
            writers["t_tf"].append(read_range(self.staging, "title_tf", tf_type, start, end)[kept])
            owner = np.repeat(np.arange(r1 - r0), np.diff(indptr[r0 : r1 + 1]))
            kept_per_row[r0:r1] = np.bincount(owner[kept], minlength=r1 - r0)
        del indptr
        for name in ("title_indptr", "title_indices", "title_tf"):
            (self.staging / f"{name}.bin").unlink()
        result = {name: writer.close() for name, writer in writers.items()}
        result["t_indptr"] = write_array(self.staging, "t_indptr", np.concatenate([[0], np.cumsum(kept_per_row)]).astype(np.int64))
        return result


def smooth_idf(df: np.ndarray, n: int) -> np.ndarray:
    """ln((1 + n) / (1 + df)) + 1 in float32, as scikit-learn's TfidfTransformer computes it for float32 counts;
    all ones for an empty corpus. A term in no passage (a title's only) weighs the most."""
    if n == 0:
        return np.ones(len(df), dtype=np.float32)
    idf = np.full(len(df), n + 1, dtype=np.float32)
    idf /= df.astype(np.float32) + 1
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def _article_runs(sent_doc: np.ndarray, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Each article's first and last sentence in a chunk (sentences are stored article by article)."""
    ids = np.arange(n_docs)
    return np.searchsorted(sent_doc, ids, side="left"), np.searchsorted(sent_doc, ids, side="right") - 1


def _row_blocks(indptr: np.ndarray, block: int = MERGE_BLOCK) -> Iterator[tuple[int, int]]:
    """Runs of rows holding about ``block`` entries each (a row is never split)."""
    n_rows = len(indptr) - 1
    r0 = 0
    while r0 < n_rows:
        r1 = int(np.searchsorted(indptr, indptr[r0] + block, side="right")) - 1
        r1 = min(max(r1, r0 + 1), n_rows)
        yield r0, r1
        r0 = r1
