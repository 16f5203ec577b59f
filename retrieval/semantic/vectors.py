"""The corpus's sentence and title vectors: stored in SQLite, served as one matrix aligned with the index.

Stored compact, one row a distinct text: ``vectors(key, vector)``, the key a hash of the text, the vector
int8 with its scale (388 bytes for 384 dimensions; the cosine moves by < 0.002). Keyed by text, an unchanged
sentence is never embedded twice (a re-ingest, an edit of another paragraph, an agency story reprinted by
another paper), and ``retain`` drops the vectors of texts the corpus no longer holds. The model that made
them is recorded (``meta.vector_model``); vectors of another model are dropped, never mixed.

Served as float32 rows in sentence-id order (``DenseVectors``), so a question's cosines with every sentence
are one matrix-vector product, and a candidate's is a row lookup.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
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


def text_key(text: str) -> str:
    """The key of a text's vector: the same text, the same vector, whatever article holds it."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def quantize(vectors: np.ndarray) -> list[bytes]:
    """Each unit vector as a float32 scale and int8 components."""
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127
    codes = np.round(vectors / scales[:, None]).astype(np.int8)
    return [np.float32(s).tobytes() + c.tobytes() for s, c in zip(scales.tolist(), codes, strict=True)]


def dequantize(blob: bytes, dim: int) -> np.ndarray | None:
    """The vector of a stored row; None for a row of another size (damaged, or another model's)."""
    if len(blob) != 4 + dim:
        return None
    scale = np.frombuffer(blob, dtype=np.float32, count=1)[0]
    vector = np.frombuffer(blob, dtype=np.int8, offset=4).astype(np.float32) * scale
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
        """The stored vectors of these keys (keys without a usable vector are left out)."""
        wanted = set(keys)
        found = {}
        damaged = []
        for key, blob in self.db.execute("SELECT key, vector FROM vectors"):
            if key in wanted:
                vector = dequantize(blob, self.dim)
                if vector is None:
                    damaged.append(key)
                else:
                    found[key] = vector
        if damaged:
            log.warning("%d stored vectors were unreadable; they will be embedded again", len(damaged))
            with self.db.conn:
                self.db.conn.executemany("DELETE FROM vectors WHERE key = ?", [(k,) for k in damaged])
        return found

    def put(self, keys: list[str], vectors: np.ndarray) -> None:
        """Store these vectors, in one transaction (a batch is all there or not at all)."""
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", list(zip(keys, quantize(vectors), strict=True))
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


@dataclass
class DenseVectors:
    """The vectors of one index's sentences and article titles, as float32 rows in its id order.

    ``has_*`` marks the rows that hold a vector; a text with nothing to read counts as embedded, with a zero
    vector (cosine 0). The embedding worker fills rows in place; a row's flag is set after its vector.
    """

    model: str
    corpus_version: str  # of the index the rows are aligned with
    sentences: np.ndarray  # (n_sentences, dim)
    has_sentence: np.ndarray  # (n_sentences,) bool
    titles: np.ndarray  # (n_documents, dim)
    has_title: np.ndarray  # (n_documents,) bool
    sentence_keys: list[str]
    title_keys: list[str]

    @classmethod
    def load(cls, index: TfidfIndex, vectors: VectorStore) -> DenseVectors:
        """The stored vectors of this index's texts (those not stored yet left empty, for the worker). The
        sentences and titles of retired articles (an incremental sync keeps them, never answered) count as done."""
        sentence_texts = [index.sentence_text(i) for i in range(index.n_sentences)]
        sentence_keys = [text_key(t) for t in sentence_texts]
        title_keys = [text_key(t) for t in index.titles_]
        dim = vectors.dim
        dense = cls(
            vectors.model, index.corpus_version_, np.zeros((len(sentence_keys), dim), np.float32), np.zeros(len(sentence_keys), bool),
            np.zeros((len(title_keys), dim), np.float32), np.zeros(len(title_keys), bool), sentence_keys, title_keys,
        )
        stored = vectors.get(sentence_keys + title_keys) if vectors.count() else {}
        for rows, has, keys, texts in (
            (dense.sentences, dense.has_sentence, sentence_keys, sentence_texts),
            (dense.titles, dense.has_title, title_keys, index.titles_),
        ):
            for i, (key, text) in enumerate(zip(keys, texts, strict=True)):
                vector = stored.get(key)
                if vector is not None:
                    rows[i] = vector
                    has[i] = True
                elif not embeddable(text):
                    has[i] = True  # nothing to read: a zero vector, never embedded
        if index.has_dead:  # never answered: no vector to find them by, nothing to embed
            dead_sentences = ~index.doc_alive_[index.sent_doc_]
            dense.sentences[dead_sentences] = 0
            dense.titles[~index.doc_alive_] = 0
            dense.has_title |= ~index.doc_alive_
            dense.has_sentence |= dead_sentences
        return dense

    @property
    def coverage(self) -> tuple[int, int]:
        """(texts with a vector, texts), sentences and titles together."""
        have = int(self.has_sentence.sum()) + int(self.has_title.sum())
        return have, len(self.has_sentence) + len(self.has_title)

    def missing(self) -> list[tuple[str, int]]:
        """The rows still without a vector: ("t" for a title | "s" for a sentence, row)."""
        return [("t", int(i)) for i in np.flatnonzero(~self.has_title)] + [("s", int(i)) for i in np.flatnonzero(~self.has_sentence)]

    def fill(self, kind: str, rows: list[int], vectors: np.ndarray) -> None:
        matrix, has = (self.titles, self.has_title) if kind == "t" else (self.sentences, self.has_sentence)
        matrix[rows] = vectors
        has[rows] = True

    def nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` sentences closest to the query vector: (ids, cosines), best first. Rows without a vector
        (not embedded yet, nothing to read, a retired article's) are zero: cosine 0, behind any real match."""
        scores = self.sentences @ query
        k = min(k, len(scores))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top.astype(np.int64), scores[top]


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
    for kind, row in dense.missing():
        key = (dense.title_keys if kind == "t" else dense.sentence_keys)[row]
        todo.setdefault(key, []).append((kind, row))
    stored = vectors.get(todo) if todo else {}
    for key, vector in stored.items():
        for kind, row in todo.pop(key):
            dense.fill(kind, [row], vector[None, :])
    # Texts of a length together: a batch is padded to its longest text (measured: 16.3 → 17.8 sentences/s).
    text_of = {key: _text(index, *rows[0]) for key, rows in todo.items()}
    keys = sorted(todo, key=lambda key: len(text_of[key]))
    done = 0
    for start in range(0, len(keys), batch):
        if (stop is not None and stop.is_set()) or (seconds is not None and time.perf_counter() - started >= seconds):
            break
        chunk = keys[start : start + batch]
        texts = [text_of[key] for key in chunk]
        try:
            encoded = encoder.passages(texts)
            vectors.put(chunk, encoded)
        except sqlite3.Error as error:
            raise StoreError(f"cannot store vectors: {error}") from error
        for key, vector in zip(chunk, encoded, strict=True):
            for kind, row in todo[key]:
                dense.fill(kind, [row], vector[None, :])
        done += len(chunk)
        if progress:
            progress(done, len(keys))
    have, total = dense.coverage
    return EmbedReport(done, len(stored), total - have, total, time.perf_counter() - started)


def _text(index: TfidfIndex, kind: str, row: int) -> str:
    return index.titles_[row] if kind == "t" else index.sentence_text(row)
