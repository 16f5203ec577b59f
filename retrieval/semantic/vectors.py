"""The corpus's sentence and title vectors: stored in SQLite, served as one matrix aligned with the index.

Stored compact, one row a distinct text: ``vectors(key, vector)``, the key a hash of the text, the vector
int8 with its scale (388 bytes for 384 dimensions; the cosine moves by < 0.002). Keyed by text, an unchanged
sentence is never embedded twice (a re-ingest, an edit of another paragraph, an agency story reprinted by
another paper), and ``retain`` drops the vectors of texts the corpus no longer holds. The model that made
them is recorded (``meta.vector_model``); vectors of another model are dropped, never mixed.

Served as they are stored, int8 rows in sentence-id order (``DenseVectors``, ``QuantizedRows``): a fourth of
float32's memory. A candidate's cosine is a row lookup; a question's cosines with every sentence are a
matrix-vector product, the rows turned to float32 a block at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.errors import StoreError
from retrieval.semantic.encoder import Encoder, embeddable

if TYPE_CHECKING:
    from retrieval.corpus.store import Store
    from retrieval.lexical.index import TfidfIndex

log = logging.getLogger(__name__)
BATCH = 32  # texts a batch: kill -9 loses at most one batch; a question is never behind one (separate encoder)


KEY_CHARS = 24


def text_key(text: str) -> str:
    """The key of a text's vector: the same text, the same vector, whatever article holds it."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_CHARS // 2).hexdigest()


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each vector as int8 codes (its components over its largest, times 127) and that scale (float32)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = (np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127).astype(np.float32)
    return np.round(vectors / scales[:, None]).astype(np.int8), scales


def blobs(codes: np.ndarray, scales: np.ndarray) -> list[bytes]:
    """The stored rows: each one's scale, then its codes."""
    return [s.tobytes() + c.tobytes() for s, c in zip(scales.astype(np.float32), codes, strict=True)]


def dequantize(blob: bytes, dim: int) -> np.ndarray | None:
    """The unit vector of a stored row (``blobs``' inverse; served, a row is its codes and ``scan`` reads them
    a batch at a time); None for a row of another size (damaged, or another model's), or of zeros."""
    if len(blob) != 4 + dim:
        return None
    codes = np.frombuffer(blob, dtype=np.int8, offset=4)
    vector = codes.astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


class VectorStore:
    """The ``vectors`` table of a corpus database, for one encoder (``model``, ``dim``)."""

    def __init__(self, store: Store, model: str, dim: int) -> None:
        self.db = store.db
        self.model, self.dim = model, dim
        label = f"{model}/{dim}"
        row = self.db.execute("SELECT value FROM meta WHERE key = 'vector_model'").fetchone()
        if row is None or row[0] != label:
            with self.db.conn:
                stale = self.db.execute("SELECT count(*) FROM vectors").fetchone()[0]
                if stale:
                    log.warning("dropping %d vectors of %s: the encoder is now %s", stale, row[0] if row else "an unknown model", label)
                self.db.execute("DELETE FROM vectors")
                self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('vector_model', ?)", [label])

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM vectors").fetchone()[0]

    def get(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored int8 codes of these keys (keys without a usable row are left out)."""
        wanted = keys if isinstance(keys, (set, dict)) else set(keys)
        return {
            key: row for found, codes in self.scan() for key, row in zip(found.astype(str).tolist(), codes, strict=True) if key in wanted
        }

    def scan(self, batch: int = 16_384) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every stored row, a batch at a time: (keys as ASCII bytes, int8 codes). Unreadable rows are left
        out and deleted (they will be embedded again)."""
        cursor = self.db.conn.execute("SELECT key, vector FROM vectors")
        damaged = []
        while rows := cursor.fetchmany(batch):
            good = [(key, blob) for key, blob in rows if len(blob) == 4 + self.dim]
            damaged += [key for key, blob in rows if len(blob) != 4 + self.dim]
            if good:
                keys = np.array([key.encode("ascii", "replace") for key, _ in good], f"S{KEY_CHARS}")
                stored = np.frombuffer(b"".join(blob for _, blob in good), np.int8).reshape(len(good), 4 + self.dim)
                yield keys, stored[:, 4:]
        if damaged:
            log.warning("%d stored vectors were unreadable; they will be embedded again", len(damaged))
            with self.db.conn:
                self.db.conn.executemany("DELETE FROM vectors WHERE key = ?", [(k,) for k in damaged])

    def put(self, keys: list[str], codes: np.ndarray, scales: np.ndarray) -> None:
        """Store these quantized vectors, in one transaction (a batch is all there or not at all)."""
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", list(zip(keys, blobs(codes, scales), strict=True))
            )

    def retain(self, keys: Iterable[str]) -> int:
        """Drop the vectors of every text not among ``keys`` (articles removed or edited); how many went."""
        with self.db.conn:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM kept")
            self.db.conn.executemany("INSERT OR IGNORE INTO kept VALUES (?)", [(k,) for k in keys])
            gone = self.db.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM kept)").rowcount
            self.db.execute("DELETE FROM kept")
        return gone

    def copy_from(self, other_db: str) -> int:
        """Take the vectors another corpus database holds for this model (same texts, same vectors)."""
        self.db.execute("ATTACH DATABASE ? AS donor", [other_db])
        try:
            row = self.db.execute("SELECT value FROM donor.meta WHERE key = 'vector_model'").fetchone()
            if row is None or row[0] != f"{self.model}/{self.dim}":
                return 0
            with self.db.conn:
                return self.db.execute("INSERT OR IGNORE INTO vectors SELECT key, vector FROM donor.vectors").rowcount
        finally:
            self.db.execute("DETACH DATABASE donor")


BLOCK = 1024  # rows turned to float32 at a time for a product with every row (1.5 MB for 384 dimensions)


class QuantizedRows:
    """Unit vectors kept as their int8 codes with one float32 factor a row (1 / the codes' norm): 388 bytes a
    row for 384 dimensions, where float32 rows took 1,536. A cosine is the codes' product with the question's
    vector times the factor, the same number the stored vector gives (it is the stored vector). ``has`` marks
    the rows that hold a vector; a row without one is zero (cosine 0)."""

    def __init__(self, codes: np.ndarray, factors: np.ndarray, has: np.ndarray) -> None:
        self.codes, self.factors, self.has = codes, factors, has

    @classmethod
    def empty(cls, n: int, dim: int) -> QuantizedRows:
        return cls(np.zeros((n, dim), np.int8), np.zeros(n, np.float32), np.zeros(n, bool))

    def part(self, start: int, stop: int) -> QuantizedRows:
        """Rows ``start:stop``, sharing this one's memory."""
        return QuantizedRows(self.codes[start:stop], self.factors[start:stop], self.has[start:stop])

    def __len__(self) -> int:
        return len(self.has)

    def fill(self, rows: np.ndarray | list[int], codes: np.ndarray) -> None:
        """Set these rows' codes, then mark them (a question reading meanwhile sees a row whole or not marked)."""
        codes = np.asarray(codes, dtype=np.int8).reshape(len(rows), -1)
        norms = np.sqrt(np.einsum("ij,ij->i", codes, codes, dtype=np.int32), dtype=np.float32)  # no float copy
        self.codes[rows] = codes
        self.factors[rows] = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        self.has[rows] = True

    def copy_rows(self, targets: np.ndarray, sources: np.ndarray) -> None:
        """Rows ``targets`` take the vectors of rows ``sources`` (a text repeated), where those have one."""
        held = self.has[sources]
        targets, sources = targets[held], sources[held]
        self.codes[targets] = self.codes[sources]
        self.factors[targets] = self.factors[sources]
        self.has[targets] = True

    def clear(self, mask: np.ndarray) -> None:
        """Zero these rows and count them as done: nothing to find them by, nothing to embed."""
        self.codes[mask] = 0
        self.factors[mask] = 0
        self.has |= mask

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """These rows as float32 unit vectors (zero where there is none)."""
        return self.codes[rows].astype(np.float32) * self.factors[rows, None]

    def cosines(self, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The cosine of each row (of ``rows``, else of every row) with a unit query vector."""
        if rows is not None:
            return (self.codes[rows].astype(np.float32) @ query) * self.factors[rows]
        out = np.empty(len(self), np.float32)
        block = np.empty((BLOCK, self.codes.shape[1]), np.float32)
        for start in range(0, len(self), BLOCK):
            codes = self.codes[start : start + BLOCK]
            floats = block[: len(codes)]
            np.copyto(floats, codes)
            np.dot(floats, query, out=out[start : start + len(codes)])
        out *= self.factors
        return out


@dataclass
class DenseVectors:
    """The vectors of one index's sentences and article titles, in its id order (``QuantizedRows``).

    A text with nothing to read counts as embedded, with a zero vector (cosine 0). The embedding worker fills
    rows in place.
    """

    model: str
    corpus_version: str  # of the index the rows are aligned with
    sentences: QuantizedRows
    titles: QuantizedRows

    @classmethod
    def load(cls, index: TfidfIndex, vectors: VectorStore) -> DenseVectors:
        """The stored vectors of this index's texts (those not stored yet left empty, for the worker). The
        sentences and titles of retired articles (an incremental sync keeps them, never answered) count as done.

        Read in one pass over the store, matched by key in arrays (24 bytes a text): no Python object a row.
        """
        n_titles = len(index.titles_)
        rows = QuantizedRows.empty(n_titles + index.n_sentences, vectors.dim)  # titles, then sentences
        keys = np.zeros(len(rows), f"S{KEY_CHARS}")
        for at, (_, _, text) in enumerate(index_texts(index)):
            if embeddable(text):
                keys[at] = text_key(text).encode("ascii")
            else:  # nothing to read: a zero vector, never embedded
                rows.has[at] = True
        # Each distinct text's vector read once, into the first row of that text; its repeats copy it after.
        distinct, first, which = np.unique(keys, return_index=True, return_inverse=True)
        for found, codes in vectors.scan() if len(rows) else ():
            at = np.minimum(np.searchsorted(distinct, found), len(distinct) - 1)
            hit = (distinct[at] == found) & (found != b"")
            rows.fill(first[at[hit]], codes[hit])
        repeated = np.flatnonzero((first[which] != np.arange(len(rows))) & (keys != b""))
        rows.copy_rows(repeated, first[which[repeated]])
        dense = cls(vectors.model, index.corpus_version_, rows.part(n_titles, len(rows)), rows.part(0, n_titles))
        if index.has_dead:  # never answered: no vector to find them by, nothing to embed
            dense.sentences.clear(~index.doc_alive_[index.sent_doc_])
            dense.titles.clear(~index.doc_alive_)
        del keys, distinct, first, which
        _give_back_freed_memory()
        return dense

    def rows(self, kind: str) -> QuantizedRows:
        return self.titles if kind == "t" else self.sentences

    @property
    def coverage(self) -> tuple[int, int]:
        """(texts with a vector, texts), sentences and titles together."""
        have = int(self.sentences.has.sum()) + int(self.titles.has.sum())
        return have, len(self.sentences) + len(self.titles)

    def missing(self) -> list[tuple[str, int]]:
        """The rows still without a vector: ("t" for a title | "s" for a sentence, row)."""
        return [("t", int(i)) for i in np.flatnonzero(~self.titles.has)] + [("s", int(i)) for i in np.flatnonzero(~self.sentences.has)]

    def nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` sentences closest to the query vector: (ids, cosines), best first. Rows without a vector
        (not embedded yet, nothing to read, a retired article's) are zero: cosine 0, behind any real match."""
        scores = self.sentences.cosines(query)
        k = min(k, len(scores))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top.astype(np.int64), scores[top]


def _give_back_freed_memory() -> None:
    """Return to the system the heap a load freed: glibc keeps it (44 MiB after reading 352,000 vectors);
    ``malloc_trim`` gives it back. Where there is no glibc, nothing to do."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def index_texts(index: TfidfIndex) -> Iterator[tuple[str, int, str]]:
    """("t" | "s", row, text) of every title and sentence of the index."""
    for row, title in enumerate(index.titles_):
        yield "t", row, title
    for row, text in enumerate(index.sentence_texts()):
        yield "s", row, text


def text_keys(index: TfidfIndex) -> set[str]:
    """The keys of the vectors of every text of the index."""
    return {text_key(text) for _, _, text in index_texts(index)}


@dataclass(frozen=True)
class EmbedReport:
    """What one round of embedding did, and what it left."""

    embedded: int  # texts embedded now
    reused: int  # texts whose vectors the database already held (stored by another round meanwhile)
    remaining: int
    total: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


EmbedProgress = Callable[[int, int], None]  # (done this round, to do this round)


def embed_missing(
    dense: DenseVectors, index: TfidfIndex, vectors: VectorStore, encoder: Encoder, *, seconds: float | None = None,
    stop: threading.Event | None = None, progress: EmbedProgress | None = None, batch: int = BATCH,
) -> EmbedReport:
    """Embed the texts of ``dense`` that have no vector, a batch at a time, each batch stored in its own
    transaction before the serving rows are filled: a kill loses at most the batch in flight.

    Stops after ``seconds`` (the batch in flight finishes) or when ``stop`` is set. Texts repeated in the
    corpus are embedded once.
    """
    started = time.perf_counter()
    todo: dict[str, list[tuple[str, int]]] = {}
    text_of: dict[str, str] = {}  # each distinct text, read once
    for kind, row in dense.missing():
        text = _text(index, kind, row)
        key = text_key(text)
        todo.setdefault(key, []).append((kind, row))
        text_of.setdefault(key, text)
    stored = vectors.get(todo) if todo else {}
    for key, codes in stored.items():
        for kind, row in todo.pop(key):
            dense.rows(kind).fill([row], codes)
    # Texts of a length together: a batch is padded to its longest text (measured: 16.3 → 17.8 sentences/s).
    keys = sorted(todo, key=lambda key: len(text_of[key]))
    done = 0
    for start in range(0, len(keys), batch):
        if (stop is not None and stop.is_set()) or (seconds is not None and time.perf_counter() - started >= seconds):
            break
        chunk = keys[start : start + batch]
        texts = [text_of[key] for key in chunk]
        try:
            codes, scales = quantize(encoder.passages(texts))
            vectors.put(chunk, codes, scales)
        except sqlite3.Error as error:
            raise StoreError(f"cannot store vectors: {error}") from error
        for key, row_codes in zip(chunk, codes, strict=True):
            for kind, row in todo[key]:
                dense.rows(kind).fill([row], row_codes)
        done += len(chunk)
        if progress:
            progress(done, len(keys))
    have, total = dense.coverage
    return EmbedReport(done, len(stored), total - have, total, time.perf_counter() - started)


def _text(index: TfidfIndex, kind: str, row: int) -> str:
    return index.titles_[row] if kind == "t" else index.sentence_text(row)
