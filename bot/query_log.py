"""The query log: every question asked, what was quoted back, how fast, and the asker's 👍/👎.

It lives in the same SQLite file as the corpus, in its own tables (`queries`, `query_log_meta`), and is
versioned by a `schema_version` row in `query_log_meta`: the corpus store owns `PRAGMA user_version`.
A question is written before it is answered and completed afterwards, so a crash mid-answer loses nothing.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from retrieval.answers import Answer, Quote
from retrieval.errors import StoreError

SCHEMA_VERSION = 1
EXPORT_COLUMNS = (
    "id", "asked_at", "chat_id", "user_id", "question", "answered", "no_answer_reason", "latency_ms", "feedback", "quoted_articles",
)
# A reload can hold the write lock while it ingests; wait for it rather than drop a question.
BUSY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class LoggedQuote:
    """A sentence quoted in an answer, and where it came from: enough to find its paragraph again."""

    text: str
    doc_id: str
    title: str
    paragraph: int
    sentence: int
    start: int
    end: int


@dataclass(frozen=True)
class LoggedQuery:
    """One logged question; `found` is None while it is still being answered (or its answer failed)."""

    id: int
    asked_at: datetime
    chat_id: int | None
    user_id: int | None
    question: str
    quotes: tuple[LoggedQuote, ...]
    found: bool | None
    no_answer_reason: str | None
    latency_ms: float | None
    feedback: int | None


@dataclass(frozen=True)
class QueryStats:
    """What /stats shows about the questions asked."""

    today: int
    total: int
    no_answer_rate: float | None  # among answered questions; None before the first one
    p50_ms: float | None
    p95_ms: float | None
    thumbs_up: int
    thumbs_down: int
    recent_unanswered: tuple[str, ...]


@dataclass(frozen=True)
class Unanswered:
    """A question (as typed, trimmed) that got no answer or a 👎 in the window, with how often."""

    question: str
    asked: int
    no_answer: int
    thumbs_down: int
    last_asked: datetime


@dataclass(frozen=True)
class Day:
    """One day of questions: how many, and the share that got no answer and that got a 👎."""

    day: str  # ISO date, UTC
    asked: int
    no_answer_share: float | None  # None on a day without questions
    thumbs_down_share: float | None


def _create_v1(db: sqlite_utils.Database) -> None:
    db["queries"].create(
        {
            "id": int,
            "asked_at": str,
            "chat_id": int,
            "user_id": int,
            "question": str,
            "quotes": str,
            "found": int,
            "no_answer_reason": str,
            "latency_ms": float,
            "feedback": int,
        },
        pk="id",
        not_null={"asked_at", "question", "quotes"},
        defaults={"quotes": "[]"},
    )
    db["queries"].create_index(["asked_at"])


# Migration n brings the schema from version n to n + 1; append, never edit.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_create_v1,)


class QueryLog:
    """Thread-safe log of questions on one SQLite file (one connection, one lock, WAL).

    What it keeps, a row a question: when it was asked, the chat and user ids (or, with ``keep_user_ids``
    off, a keyed hash of each: the same person stays the same number, which cannot be turned back into the
    id), the question, the quotes shown (article, paragraph, offsets), whether it was answered and why not,
    the answer time, and the 👍/👎. Rows older than ``retention_days`` are deleted when the log opens and then
    once a day, as questions arrive.
    """

    def __init__(self, db_path: Path, keep_user_ids: bool = True, retention_days: int | None = None) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(db_path), timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        self._db = sqlite_utils.Database(connection)
        self._lock = threading.Lock()
        self.keep_user_ids = keep_user_ids
        self.retention_days = retention_days
        self._purged_on: str | None = None
        with self._lock:
            self._db.enable_wal()
            self._migrate()
            self._key = self._pseudonym_key()
        self.forget_old()

    def _pseudonym_key(self) -> bytes:
        """This database's own secret for hashing ids (lock held): made once, kept in query_log_meta."""
        row = self._db.execute("SELECT value FROM query_log_meta WHERE key = 'pseudonym_key'").fetchone()
        if row:
            return bytes.fromhex(row[0])
        key = secrets.token_bytes(32)
        self._db["query_log_meta"].upsert({"key": "pseudonym_key", "value": key.hex()}, pk="key")
        return key

    def _id(self, value: int | None) -> int | None:
        """The id as stored: itself, or its keyed hash (a positive 62-bit number) when ids are not kept."""
        if value is None or self.keep_user_ids:
            return value
        digest = hmac.new(self._key, str(value).encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") >> 2

    def forget_old(self, now: datetime | None = None) -> int:
        """Delete the questions older than the retention period (none without one); how many went."""
        if not self.retention_days:
            return 0
        now = (now or datetime.now(UTC)).astimezone(UTC)
        cutoff = (now - timedelta(days=self.retention_days)).isoformat(timespec="milliseconds")
        with self._lock, self._db.atomic():
            deleted = self._db.execute("DELETE FROM queries WHERE asked_at < ?", [cutoff]).rowcount
        self._purged_on = now.date().isoformat()
        return deleted

    def _migrate(self) -> None:
        meta = self._db["query_log_meta"]
        if not meta.exists():
            meta.create({"key": str, "value": str}, pk="key")
        row = self._db.execute("SELECT value FROM query_log_meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The query log in this database has schema version {version}; this isnad knows only "
                f"up to {SCHEMA_VERSION}. Upgrade isnad or use another ISNAD_DB."
            )
        for target in range(version, SCHEMA_VERSION):
            with self._db.atomic():
                MIGRATIONS[target](self._db)
                meta.upsert({"key": "schema_version", "value": str(target + 1)}, pk="key")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(
        self,
        chat_id: int | None,
        user_id: int | None,
        question: str,
        answer: Answer | None = None,
        now: datetime | None = None,
    ) -> int:
        """Log a question (with its answer, or pending until `complete`); returns its id."""
        moment = now or datetime.now(UTC)
        if self.retention_days and self._purged_on != moment.astimezone(UTC).date().isoformat():
            self.forget_old(moment)  # the daily purge, done by the first question of the day
        row = {
            "asked_at": moment.isoformat(timespec="milliseconds"),
            "chat_id": self._id(chat_id),
            "user_id": self._id(user_id),
            "question": question,
            "quotes": "[]",
        }
        if answer is not None:
            row |= _answer_columns(answer)
        with self._lock, _writing("log a question"):
            return self._db["queries"].insert(row).last_pk

    def complete(self, query_id: int, answer: Answer) -> None:
        """Store the answer to a question recorded as pending."""
        with self._lock, _writing("store an answer"):
            self._db["queries"].update(query_id, _answer_columns(answer))

    def add_quotes(self, query_id: int, offset: int, quotes: Iterable[Quote]) -> None:
        """Remember quotes shown later ("more results") at positions offset, offset + 1, …"""
        with self._lock, _writing("store more quotes"), self._db.atomic():
            row = self._db.execute("SELECT quotes FROM queries WHERE id = ?", [query_id]).fetchone()
            if row is None:
                return
            stored = json.loads(row[0])
            for position, quote in enumerate(quotes, start=offset):
                entry = _quote_json(quote)
                if position < len(stored):
                    stored[position] = entry
                else:
                    stored.append(entry)
            self._db["queries"].update(query_id, {"quotes": json.dumps(stored, ensure_ascii=False)})

    def get(self, query_id: int) -> LoggedQuery | None:
        with self._lock:
            rows = list(self._db.query("SELECT * FROM queries WHERE id = ?", [query_id]))
        return _logged_query(rows[0]) if rows else None

    def set_feedback(self, query_id: int, value: int) -> None:
        """Store 👍 (+1) or 👎 (-1) for a question; a second press replaces the first."""
        if value not in (1, -1):
            raise ValueError(f"feedback must be +1 or -1, got {value}")
        with self._lock, _writing("store feedback"):
            self._db.execute("UPDATE queries SET feedback = ? WHERE id = ?", [value, query_id])

    def summary(self, now: datetime | None = None, recent: int = 5) -> QueryStats:
        """Counts, no-answer rate, latency percentiles and feedback over the whole log."""
        today = (now or datetime.now(UTC)).astimezone(UTC).date().isoformat()
        with self._lock:
            counts = self._db.execute(
                """
                SELECT count(*),
                       count(CASE WHEN asked_at >= ? THEN 1 END),
                       count(found),
                       count(CASE WHEN found = 0 THEN 1 END),
                       count(CASE WHEN feedback > 0 THEN 1 END),
                       count(CASE WHEN feedback < 0 THEN 1 END)
                FROM queries
                """,
                [today],
            ).fetchone()
            total, asked_today, answered, unanswered, thumbs_up, thumbs_down = counts
            p50 = self._latency_percentile(0.50)
            p95 = self._latency_percentile(0.95)
            latest = self._db.execute("SELECT question FROM queries WHERE found = 0 ORDER BY id DESC LIMIT ?", [recent]).fetchall()
        return QueryStats(
            today=asked_today,
            total=total,
            no_answer_rate=unanswered / answered if answered else None,
            p50_ms=p50,
            p95_ms=p95,
            thumbs_up=thumbs_up,
            thumbs_down=thumbs_down,
            recent_unanswered=tuple(question for (question,) in latest),
        )

    def unanswered(self, days: int = 7, limit: int = 10, now: datetime | None = None) -> list[Unanswered]:
        """The questions of the last ``days`` that got no answer or a 👎, most often missed first: the to-do list."""
        since = ((now or datetime.now(UTC)) - timedelta(days=days)).astimezone(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            rows = self._db.execute(
                """
                SELECT trim(question) AS asked_text, count(*), count(CASE WHEN found = 0 THEN 1 END),
                       count(CASE WHEN feedback < 0 THEN 1 END), max(asked_at)
                FROM queries WHERE asked_at >= ?
                GROUP BY asked_text
                HAVING count(CASE WHEN found = 0 OR feedback < 0 THEN 1 END) > 0
                ORDER BY count(CASE WHEN found = 0 OR feedback < 0 THEN 1 END) DESC, count(*) DESC, max(asked_at) DESC
                LIMIT ?
                """,
                [since, limit],
            ).fetchall()
        return [Unanswered(q, asked, missed, down, datetime.fromisoformat(last)) for q, asked, missed, down, last in rows]

    def daily(self, days: int = 7, now: datetime | None = None) -> list[Day]:
        """The last ``days`` days (UTC, today last), each with its share of no answer and of 👎."""
        today = (now or datetime.now(UTC)).astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        with self._lock:
            rows = self._db.execute(
                """
                SELECT substr(asked_at, 1, 10) AS day, count(*), count(found), count(CASE WHEN found = 0 THEN 1 END),
                       count(CASE WHEN feedback < 0 THEN 1 END)
                FROM queries WHERE asked_at >= ? GROUP BY day
                """,
                [first.isoformat()],
            ).fetchall()
        by_day = {day: (asked, answered, missed, down) for day, asked, answered, missed, down in rows}
        result = []
        for n in range(days):
            day = (first + timedelta(days=n)).isoformat()
            asked, answered, missed, down = by_day.get(day, (0, 0, 0, 0))
            result.append(Day(day, asked, missed / answered if answered else None, down / asked if asked else None))
        return result

    def export_csv(self) -> str:
        """The whole log as CSV, one question a row, oldest first: what /export sends."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        with self._lock:
            rows = self._db.execute(
                "SELECT id, asked_at, chat_id, user_id, question, found, no_answer_reason, latency_ms, feedback, quotes "
                "FROM queries ORDER BY id"
            ).fetchall()
        for *head, found, reason, latency, feedback, quotes in rows:
            answered = "pending" if found is None else ("yes" if found else "no")
            articles = " ".join(dict.fromkeys(quote["doc_id"] for quote in json.loads(quotes)))
            writer.writerow([*head, answered, reason or "", latency if latency is not None else "", feedback or "", articles])
        return out.getvalue()

    def _latency_percentile(self, fraction: float) -> float | None:
        """Nearest-rank percentile of latency_ms, computed in SQL (no list of every latency in memory)."""
        (count,) = self._db.execute("SELECT count(latency_ms) FROM queries").fetchone()
        if not count:
            return None
        rank = min(count - 1, max(0, math.ceil(fraction * count) - 1))
        row = self._db.execute(
            "SELECT latency_ms FROM queries WHERE latency_ms IS NOT NULL ORDER BY latency_ms LIMIT 1 OFFSET ?",
            [rank],
        ).fetchone()
        return row[0]


class QueryLogUnavailable(StoreError):
    """The log cannot be written now (disk full, database locked past the timeout): the question can still be answered."""


@contextmanager
def _writing(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:  # "database or disk is full", "database is locked", read-only
        raise QueryLogUnavailable(f"could not {what}: {error}") from error


def _quote_json(quote: Quote) -> dict:
    return {
        "text": quote.text,
        "doc_id": quote.doc_id,
        "title": quote.title,
        "paragraph": quote.paragraph,
        "sentence": quote.sentence,
        "start": quote.start,
        "end": quote.end,
    }


def _answer_columns(answer: Answer) -> dict:
    return {
        "quotes": json.dumps([_quote_json(quote) for quote in answer.quotes], ensure_ascii=False),
        "found": int(answer.found),
        "no_answer_reason": answer.no_answer_reason,
        "latency_ms": round(answer.elapsed_ms, 3),
    }


def _logged_query(row: dict) -> LoggedQuery:
    return LoggedQuery(
        id=row["id"],
        asked_at=datetime.fromisoformat(row["asked_at"]),
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        question=row["question"],
        quotes=tuple(LoggedQuote(**quote) for quote in json.loads(row["quotes"])),
        found=None if row["found"] is None else bool(row["found"]),
        no_answer_reason=row["no_answer_reason"],
        latency_ms=row["latency_ms"],
        feedback=row["feedback"],
    )
