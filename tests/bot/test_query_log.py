"""The query log on a real SQLite file: record, complete, feedback, summary, survival across reopen."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.query_log import EXPORT_COLUMNS, SCHEMA_VERSION, QueryLog
from retrieval.answers import Answer, Quote
from retrieval.errors import StoreError

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def found(question: str, ms: float) -> Answer:
    quote = Quote("زار بينيت موسكو.", "000_a", "زيارة", 2, 5, 0.8, 100, 116)
    return Answer(question, (quote,), ms)


def missing(question: str, ms: float) -> Answer:
    return Answer(question, (), ms, "best score below threshold")


@pytest.fixture
def log(tmp_path: Path) -> QueryLog:
    return QueryLog(tmp_path / "isnad.db")


def test_a_question_is_logged_before_it_is_answered(log: QueryLog) -> None:
    query_id = log.record(10, 20, "متى زار بينيت موسكو؟")
    pending = log.get(query_id)
    assert pending is not None
    assert (pending.chat_id, pending.user_id, pending.question) == (10, 20, "متى زار بينيت موسكو؟")
    assert pending.found is None and pending.quotes == () and pending.latency_ms is None

    log.complete(query_id, found("متى زار بينيت موسكو؟", 4.5))
    done = log.get(query_id)
    assert done.found is True
    assert done.latency_ms == 4.5
    assert [(q.doc_id, q.paragraph, q.sentence, q.start, q.end, q.text) for q in done.quotes] == [
        ("000_a", 2, 5, 100, 116, "زار بينيت موسكو.")
    ]
    assert done.asked_at.tzinfo is not None


def test_no_answer_is_explicit(log: QueryLog) -> None:
    query_id = log.record(1, 2, "ما الهدية؟", missing("ما الهدية؟", 3.0))
    logged = log.get(query_id)
    assert logged.found is False
    assert logged.no_answer_reason == "best score below threshold"


def test_more_results_extend_the_quotes(log: QueryLog) -> None:
    query_id = log.record(1, 2, "س؟", found("س؟", 1.0))
    later = Quote("جملة أخرى.", "001_b", "مكالمة", 7, 9, 0.4, 5, 15)
    log.add_quotes(query_id, 1, [later, later])
    assert [q.doc_id for q in log.get(query_id).quotes] == ["000_a", "001_b", "001_b"]


def test_feedback_is_stored_and_replaced(log: QueryLog) -> None:
    query_id = log.record(1, 2, "س؟", found("س؟", 1.0))
    log.set_feedback(query_id, 1)
    assert log.get(query_id).feedback == 1
    log.set_feedback(query_id, -1)
    assert log.get(query_id).feedback == -1
    with pytest.raises(ValueError):
        log.set_feedback(query_id, 5)


def test_unknown_id(log: QueryLog) -> None:
    assert log.get(12345) is None


def test_summary(log: QueryLog) -> None:
    assert log.summary(now=NOW).total == 0
    yesterday = NOW - timedelta(days=1)
    for index, ms in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 100]):
        question = f"سؤال {index}؟"
        answer = missing(question, ms) if index in (2, 5) else found(question, ms)
        log.record(1, 2, question, answer, now=yesterday if index < 4 else NOW)
    up = log.record(1, 2, "جيد؟", found("جيد؟", 5), now=NOW)
    down = log.record(1, 2, "سيئ؟", found("سيئ؟", 5), now=NOW)
    log.set_feedback(up, 1)
    log.set_feedback(down, -1)
    log.record(1, 2, "لم يكتمل؟", now=NOW)  # pending: counted, but not in rates or latencies

    stats = log.summary(now=NOW, recent=5)
    assert stats.total == 13
    assert stats.today == 9
    assert stats.no_answer_rate == pytest.approx(2 / 12)
    assert stats.p50_ms == 5
    assert stats.p95_ms == 100
    assert (stats.thumbs_up, stats.thumbs_down) == (1, 1)
    assert stats.recent_unanswered == ("سؤال 5؟", "سؤال 2؟")


def test_survives_reopen_and_shares_the_file(tmp_path: Path) -> None:
    path = tmp_path / "isnad.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 7")  # the corpus store's own version marker
    first = QueryLog(path)
    query_id = first.record(1, 2, "س؟", found("س؟", 1.0))
    first.close()
    again = QueryLog(path)
    assert again.get(query_id).question == "س؟"
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (7,)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        version = connection.execute("SELECT value FROM query_log_meta WHERE key = 'schema_version'").fetchone()
        assert version == (str(SCHEMA_VERSION),)


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "isnad.db"
    QueryLog(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE query_log_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        QueryLog(path)


def test_thread_safe(log: QueryLog) -> None:
    def ask(worker: int) -> None:
        for index in range(25):
            query_id = log.record(worker, worker, f"س {index}؟")
            log.complete(query_id, found("س؟", float(index)))

    threads = [threading.Thread(target=ask, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = log.summary()
    assert stats.total == 200
    assert stats.no_answer_rate == 0


def test_unanswered_lists_the_most_missed_questions_of_the_window(log: QueryLog) -> None:
    for days_ago, question, answer in [
        (1, "ما الهدية؟", missing),
        (2, "ما الهدية؟ ", missing),  # the same question, typed with a trailing space
        (3, "ما الهدية؟", found),
        (1, "كم عدد الرهائن؟", missing),
        (9, "سؤال قديم؟", missing),  # outside the week
        (1, "متى زار بينيت موسكو؟", found),
    ]:
        log.record(1, 2, question, answer(question, 3.0), now=NOW - timedelta(days=days_ago))
    disliked = log.record(1, 2, "متى التقيا؟", found("متى التقيا؟", 3.0), now=NOW - timedelta(hours=2))
    log.set_feedback(disliked, -1)
    rows = log.unanswered(days=7, now=NOW)
    assert [(r.question, r.asked, r.no_answer, r.thumbs_down) for r in rows] == [
        ("ما الهدية؟", 3, 2, 0),
        ("متى التقيا؟", 1, 0, 1),
        ("كم عدد الرهائن؟", 1, 1, 0),
    ]
    assert rows[0].last_asked == NOW - timedelta(days=1)
    assert log.unanswered(days=30, now=NOW)[-1].question == "سؤال قديم؟"
    assert log.unanswered(days=7, limit=1, now=NOW)[0].question == "ما الهدية؟"


def test_daily_shares_of_no_answer_and_thumbs_down(log: QueryLog) -> None:
    for hours_ago, answer in [(1, found), (2, missing), (3, found), (4, found)]:
        log.record(1, 2, "سؤال؟", answer("سؤال؟", 3.0), now=NOW - timedelta(hours=hours_ago))
    disliked = log.record(1, 2, "سؤال؟", found("سؤال؟", 3.0), now=NOW - timedelta(days=2))
    log.set_feedback(disliked, -1)
    days = log.daily(days=7, now=NOW)
    assert [d.day for d in days] == [(NOW - timedelta(days=n)).date().isoformat() for n in range(6, -1, -1)]
    assert (days[-1].asked, days[-1].no_answer_share, days[-1].thumbs_down_share) == (4, 0.25, 0.0)
    assert (days[-3].asked, days[-3].no_answer_share, days[-3].thumbs_down_share) == (1, 0.0, 1.0)
    assert days[0].asked == 0 and days[0].no_answer_share is None


def test_export_is_one_csv_row_a_question(log: QueryLog) -> None:
    answered = log.record(1, 2, "متى زار بينيت موسكو؟", found("متى زار بينيت موسكو؟", 3.5), now=NOW)
    log.set_feedback(answered, -1)
    log.record(1, 2, 'سؤال فيه "اقتباس"، وفاصلة', missing("x", 2.0), now=NOW)
    log.record(1, 2, "ما زال قيد الإجابة؟", now=NOW)
    rows = list(csv.reader(io.StringIO(log.export_csv())))
    assert rows[0] == list(EXPORT_COLUMNS)
    assert rows[1][4:] == ["متى زار بينيت موسكو؟", "yes", "", "3.5", "-1", "000_a"]
    assert rows[2][4:7] == ['سؤال فيه "اقتباس"، وفاصلة', "no", "best score below threshold"]
    assert rows[3][5] == "pending"


def test_ids_can_be_kept_as_keyed_hashes_only(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / "isnad.db", keep_user_ids=False)
    first = log.get(log.record(555, 777, "سؤال؟", found("سؤال؟", 1.0), now=NOW))
    again = log.get(log.record(555, 777, "سؤال آخر؟", found("سؤال آخر؟", 1.0), now=NOW))
    other = log.get(log.record(556, 778, "سؤال؟", found("سؤال؟", 1.0), now=NOW))
    assert first.user_id not in (None, 777) and first.chat_id not in (None, 555)
    assert (first.user_id, first.chat_id) == (again.user_id, again.chat_id)  # the same person stays one number
    assert other.user_id != first.user_id
    log.close()
    reopened = QueryLog(tmp_path / "isnad.db", keep_user_ids=False)  # the key is the database's own, kept
    assert reopened.get(reopened.record(555, 777, "س؟", now=NOW)).user_id == first.user_id
    assert ",777," not in reopened.export_csv() and ",555," not in reopened.export_csv()
    assert QueryLog(tmp_path / "other.db", keep_user_ids=False).get(1) is None


def test_retention_forgets_old_questions_at_start_and_daily(tmp_path: Path) -> None:
    path = tmp_path / "isnad.db"
    log = QueryLog(path)
    old = log.record(1, 2, "قديم؟", found("قديم؟", 1.0), now=NOW - timedelta(days=100))
    recent = log.record(1, 2, "حديث؟", found("حديث؟", 1.0), now=NOW - timedelta(days=1))
    log.close()
    kept = QueryLog(path, retention_days=90)  # applied when the log opens (today is after NOW: both are older than 90 days)
    assert kept.get(old) is None and kept.get(recent) is None
    kept.record(1, 2, "سؤال؟", now=NOW)
    kept._purged_on = None  # a new day: the next question triggers the daily purge
    kept.record(1, 2, "بعد ١٢٠ يومًا؟", now=NOW + timedelta(days=120))
    assert [row[4] for row in csv.reader(io.StringIO(kept.export_csv()))][1:] == ["بعد ١٢٠ يومًا؟"]
    assert QueryLog(tmp_path / "forever.db", retention_days=0).forget_old() == 0
