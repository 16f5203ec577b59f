"""The SQLite store (through sqlite-utils): documents, paragraphs, passages, sentences, and the files they came from.

Ingestion is incremental: a file whose size and mtime are unchanged is not even read; a file whose
content hash is unchanged is not rewritten; a changed file replaces its articles' rows; a deleted
file's articles disappear. All writes of one ingest are one transaction, so a crash leaves the
previous consistent state.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlite_utils

from retrieval.answers import IngestReport, Problem
from retrieval.corpus.articles import (
    Article,
    ArticleError,
    check_text_file,
    file_key,
    find_article_files,
    iter_jsonl_articles,
    parse_txt_article,
    text_lines,
)
from retrieval.corpus.chunking import chunk_article
from retrieval.errors import StoreError

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
_ADDED_FORMAT = "%Y-%m-%d %H:%M:%S"  # documents.added, UTC: sorts as it reads


def _migration_1(db: sqlite_utils.Database) -> None:
    db["files"].create({"path": str, "size": int, "mtime_ns": int, "sha256": str}, pk="path")
    db["documents"].create(
        {
            "id": int, "doc_id": str, "file": str, "line": int, "title": str, "url": str,
            "source": str, "published": str, "text": str, "sha256": str,
        },
        pk="id",
    )
    db["documents"].create_index(["doc_id"], unique=True)
    db["documents"].create_index(["file"])
    db["paragraphs"].create({"document": int, "number": int, "start": int, "end": int}, pk=("document", "number"))
    db["sentences"].create(
        {"id": int, "document": int, "number": int, "paragraph": int, "start": int, "end": int}, pk="id"
    )
    db["sentences"].create_index(["document", "number"], unique=True)
    db["passages"].create(
        {
            "id": int, "document": int, "number": int, "first_sentence": int, "last_sentence": int,
            "start": int, "end": int,
        },
        pk="id",
    )
    db["passages"].create_index(["document"])
    db["meta"].create({"key": str, "value": str}, pk="key")


def _migration_2(db: sqlite_utils.Database) -> None:
    """Sentence and title vectors of the encoder named in meta.vector_model (retrieval/semantic/vectors.py)."""
    db.execute("CREATE TABLE vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID")


def _migration_3(db: sqlite_utils.Database) -> None:
    """When each article first came into the corpus (UTC; an edit keeps it): /stats counts the last day's."""
    db.execute("ALTER TABLE documents ADD COLUMN added TEXT")


# Schema migrations, in order; PRAGMA user_version counts how many have run.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1, _migration_2, _migration_3)


class Store:
    """One SQLite file holding the corpus. Open one per thread (SQLite connections are per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite_utils.Database(self.path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot open the database {self.path}: {error}") from error

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema version {version}, newer than this isnad ({len(MIGRATIONS)})")
        for number in range(version, len(MIGRATIONS)):
            with self.db.conn:
                MIGRATIONS[number](self.db)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    def close(self) -> None:
        self.db.close()

    @property
    def corpus_version(self) -> str:
        """Changes whenever the corpus does: a saved index built for another version is stale."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'corpus_version'").fetchone()
        return row[0] if row else "empty"

    def added_since(self, hours: float) -> int:
        """Articles that came into the corpus in the last ``hours`` (an edited one counts when it first came)."""
        since = (datetime.now(UTC) - timedelta(hours=hours)).strftime(_ADDED_FORMAT)
        return self.db.execute("SELECT count(*) FROM documents WHERE added >= ?", [since]).fetchone()[0]

    def counts(self) -> tuple[int, int, int]:
        """(documents, passages, sentences)."""
        return tuple(self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("documents", "passages", "sentences"))

    def paragraph(self, doc_id: str, number: int) -> str:
        """The text of one paragraph of an article; KeyError if there is no such paragraph."""
        row = self.db.execute(
            "SELECT substr(d.text, p.start + 1, p.end - p.start) FROM paragraphs p JOIN documents d ON d.id = p.document "
            "WHERE d.doc_id = ? AND p.number = ?",
            [doc_id, number],
        ).fetchone()
        if row is None:
            raise KeyError(f"{doc_id} has no paragraph {number}")
        return row[0]

    def holders(self, hashes: list[str]) -> dict[str, str]:
        """Of these article hashes (sha256 of title, text and metadata), those the corpus holds, and the id holding each."""
        if not hashes:
            return {}
        marks = ", ".join("?" * len(set(hashes)))
        rows = self.db.execute(f"SELECT sha256, doc_id FROM documents WHERE sha256 IN ({marks})", list(set(hashes)))
        return dict(rows.fetchall())

    def citations(self, doc_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """The outlet and publication date of each of these articles, as their files give them (or None)."""
        marks = ", ".join("?" * len(doc_ids))
        rows = self.db.execute(f"SELECT doc_id, source, published FROM documents WHERE doc_id IN ({marks})", doc_ids)
        return {doc_id: (source or None, published or None) for doc_id, source, published in rows.fetchall()}

    def document_chunks(self, size: int, doc_ids: list[str] | None = None) -> Iterator[list[int]]:
        """The row ids of the corpus's articles (or of the given ones) in order, ``size`` at a time: what an index
        build reads one after the other."""
        if doc_ids is None:
            rows = self.db.execute("SELECT id FROM documents ORDER BY id")
        else:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (doc_id TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM wanted")
            self.db.conn.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", [(d,) for d in doc_ids])
            rows = self.db.execute("SELECT id FROM documents WHERE doc_id IN (SELECT doc_id FROM wanted) ORDER BY id")
        ids = [row[0] for row in rows.fetchall()]
        for start in range(0, len(ids), size):
            yield ids[start : start + size]

    def corpus_rows(self, ids: list[int]) -> tuple[list[tuple[int, str, str, str | None, str]], np.ndarray, np.ndarray]:
        """These articles (row ids, ascending) for indexing: documents (id, doc_id, title, url, text) in id order,
        then sentences (document, number, paragraph, start, end) and passages (document, first_sentence,
        last_sentence) as int64 arrays, ordered by document and number."""
        if not ids:
            return [], np.zeros((0, 5), dtype=np.int64), np.zeros((0, 3), dtype=np.int64)
        span = [ids[0], ids[-1]]
        documents = self.db.execute(
            "SELECT id, doc_id, title, url, text FROM documents WHERE id BETWEEN ? AND ? ORDER BY id", span
        ).fetchall()
        if len(documents) != len(ids):  # a few articles among others (an extension): those only
            chosen = set(ids)
            documents = [row for row in documents if row[0] in chosen]
        wanted = np.array([row[0] for row in documents], dtype=np.int64)
        sentences = np.array(self.db.execute(
            "SELECT document, number, paragraph, start, end FROM sentences WHERE document BETWEEN ? AND ? ORDER BY document, number", span
        ).fetchall(), dtype=np.int64).reshape(-1, 5)
        passages = np.array(self.db.execute(
            "SELECT document, first_sentence, last_sentence FROM passages WHERE document BETWEEN ? AND ? ORDER BY document, number", span
        ).fetchall(), dtype=np.int64).reshape(-1, 3)
        return documents, sentences[np.isin(sentences[:, 0], wanted)], passages[np.isin(passages[:, 0], wanted)]

    def ingest(self, data_dir: Path, progress: Progress | None = None) -> IngestReport:
        """Bring the store up to date with the folder; see the module docstring. Progress: a line per 1,000 articles."""
        started = time.perf_counter()
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise StoreError(f"the data folder {data_dir} does not exist")
        problems: list[Problem] = []
        added: list[str] = []
        updated: list[str] = []
        removed: list[str] = []
        unchanged = 0
        known = {row["path"]: row for row in self.db["files"].rows}
        files = find_article_files(data_dir)
        seen_paths = set()
        with self.db.conn:
            for path in files:
                key = path.relative_to(data_dir).as_posix()
                seen_paths.add(key)
                stat = path.stat()
                previous = known.get(key)
                if previous and previous["size"] == stat.st_size and previous["mtime_ns"] == stat.st_mtime_ns:
                    unchanged += self._count_file_documents(key)
                    continue
                try:
                    digest = check_text_file(path)  # read a block at a time: an archive is never held whole
                    changed = not (previous and previous["sha256"] == digest)
                    articles = _file_articles(data_dir, path, problems)
                    diff = self._replace_file_documents(key, articles, problems, progress) if changed else None
                except (ArticleError, OSError, UnicodeDecodeError) as error:  # unreadable, or changed while read
                    problems.append(Problem(key, str(error)))
                    continue
                if not changed:
                    unchanged += self._count_file_documents(key)
                elif diff is None:
                    continue  # nothing readable: keep what the file gave before
                else:
                    added += diff[0]
                    updated += diff[1]
                    removed += diff[2]
                    unchanged += diff[3]
                self.db["files"].upsert(
                    {"path": key, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}, pk="path"
                )
            for key in set(known) - seen_paths:
                removed += self._delete_documents(
                    [row[0] for row in self.db.execute("SELECT doc_id FROM documents WHERE file = ?", [key])]
                )
                self.db.execute("DELETE FROM files WHERE path = ?", [key])
            if added or updated or removed:
                self.db["meta"].upsert({"key": "corpus_version", "value": uuid.uuid4().hex}, pk="key")
        documents, passages, sentences = self.counts()
        return IngestReport(
            added=tuple(added),
            updated=tuple(updated),
            removed=tuple(removed),
            unchanged=unchanged,
            documents=documents,
            passages=passages,
            sentences=sentences,
            seconds=time.perf_counter() - started,
            problems=tuple(problems),
        )

    def _count_file_documents(self, key: str) -> int:
        return self.db.execute("SELECT count(*) FROM documents WHERE file = ?", [key]).fetchone()[0]

    def _replace_file_documents(
        self, key: str, articles: Iterable[Article], problems: list[Problem], progress: Progress | None = None
    ) -> tuple[list[str], list[str], list[str], int] | None:
        """Make the file's documents exactly ``articles`` (read a batch at a time); returns (added, updated,
        removed, unchanged), or None when the file gave no article and a problem (what it gave before stays)."""
        rows = self.db.execute("SELECT doc_id, sha256, added FROM documents WHERE file = ?", [key]).fetchall()
        before = {doc_id: sha for doc_id, sha, _ in rows}
        arrived = {doc_id: added for doc_id, _, added in rows if added}
        added, updated, seen = [], [], set()
        problems_before, unchanged, written, started = len(problems), 0, 0, time.perf_counter()
        for batch in _batches(articles, INSERT_BATCH):
            owners = self._owners([a.doc_id for a in batch if a.doc_id not in before])
            fresh, replaced = [], []
            for article in batch:
                seen.add(article.doc_id)
                if before.get(article.doc_id) == article.sha256:
                    unchanged += 1
                    continue
                owner = owners.get(article.doc_id)
                if owner is not None and owner != key:
                    problems.append(Problem(key, f"article id {article.doc_id} is already taken by {owner}", article.line))
                    continue
                (replaced if article.doc_id in before else added).append(article.doc_id)
                fresh.append(article)
            self._delete_documents(replaced)
            updated += replaced
            self._insert_documents(key, fresh, arrived)
            written += len(fresh)
            if progress and fresh:
                progress(f"{key}: {written:,} articles written ({written / (time.perf_counter() - started):,.0f}/s)")
        if not seen and len(problems) > problems_before:
            return None
        return added, updated, self._delete_documents(sorted(set(before) - seen)), unchanged

    def _insert_documents(self, key: str, articles: Iterable[Article], arrived: dict[str, str] | None = None) -> None:
        """Insert articles with their chunks; the chunk rows go in one batch per table every INSERT_BATCH articles.
        ``arrived``: when the edited ones first came (else now)."""
        now = datetime.now(UTC).strftime(_ADDED_FORMAT)
        arrived = arrived or {}
        paragraphs: list[tuple[int, ...]] = []
        sentences: list[tuple[int, ...]] = []
        passages: list[tuple[int, ...]] = []
        for count, article in enumerate(articles, start=1):
            doc = self.db.conn.execute(
                "INSERT INTO documents (doc_id, file, line, title, url, source, published, text, sha256, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [article.doc_id, key, article.line, article.title, article.url, article.source,
                 article.published, article.text, article.sha256, arrived.get(article.doc_id, now)],
            ).lastrowid
            chunks = chunk_article(article.text)
            paragraphs.extend((doc, n, p.start, p.end) for n, p in enumerate(chunks.paragraphs, start=1))
            sentences.extend((doc, s.number, s.paragraph, s.start, s.end) for s in chunks.sentences)
            passages.extend((doc, p.number, p.first_sentence, p.last_sentence, p.start, p.end) for p in chunks.passages)
            if count % INSERT_BATCH == 0:
                self._insert_chunks(paragraphs, sentences, passages)
        self._insert_chunks(paragraphs, sentences, passages)

    def _insert_chunks(self, paragraphs: list[tuple[int, ...]], sentences: list[tuple[int, ...]], passages: list[tuple[int, ...]]) -> None:
        """Write and empty the pending chunk rows."""
        self.db.conn.executemany("INSERT INTO paragraphs (document, number, start, end) VALUES (?, ?, ?, ?)", paragraphs)
        self.db.conn.executemany(
            "INSERT INTO sentences (document, number, paragraph, start, end) VALUES (?, ?, ?, ?, ?)", sentences
        )
        self.db.conn.executemany(
            "INSERT INTO passages (document, number, first_sentence, last_sentence, start, end) VALUES (?, ?, ?, ?, ?, ?)",
            passages,
        )
        paragraphs.clear()
        sentences.clear()
        passages.clear()

    def _owners(self, doc_ids: list[str]) -> dict[str, str]:
        """The file holding each of these article ids, for those already in the store."""
        owners: dict[str, str] = {}
        for start in range(0, len(doc_ids), 500):
            batch = doc_ids[start : start + 500]
            marks = ", ".join("?" * len(batch))
            owners.update(self.db.execute(f"SELECT doc_id, file FROM documents WHERE doc_id IN ({marks})", batch).fetchall())
        return owners

    def _delete_documents(self, doc_ids: list[str]) -> list[str]:
        for doc_id in doc_ids:
            row = self.db.execute("SELECT id FROM documents WHERE doc_id = ?", [doc_id]).fetchone()
            if row is None:
                continue
            for table in ("paragraphs", "sentences", "passages"):
                self.db.execute(f"DELETE FROM {table} WHERE document = ?", [row[0]])
            self.db.execute("DELETE FROM documents WHERE id = ?", [row[0]])
        return list(doc_ids)


INSERT_BATCH = 1000  # articles read, compared and written at a time; their chunk rows go in one batch a table


def _file_articles(data_dir: Path, path: Path, problems: list[Problem]) -> Iterator[Article]:
    """The file's articles, one at a time (an archive is read a line at a time); what is not one goes to ``problems``."""
    stem = file_key(data_dir, path)
    if path.suffix.lower() == ".jsonl":
        for item in iter_jsonl_articles(stem, text_lines(path)):
            if isinstance(item, Article):
                yield item
            else:
                problems.append(item)
        return
    try:
        yield parse_txt_article(stem, "".join(text_lines(path)))
    except ArticleError as error:
        problems.append(Problem(path.relative_to(data_dir).as_posix(), str(error)))


def _batches(items: Iterable[Article], size: int) -> Iterator[list[Article]]:
    batch: list[Article] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
