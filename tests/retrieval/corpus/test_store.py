"""Ingestion on real SQLite files: idempotent, incremental, transactional, and forgiving of bad files."""

import json
from pathlib import Path

import pytest

from retrieval.corpus.articles import derive_title, parse_txt_article
from retrieval.corpus.store import Store


def ingest(tmp_path: Path, folder: Path):
    store = Store(tmp_path / "isnad.db")
    try:
        return store.ingest(folder)
    finally:
        store.close()


def test_first_ingest_adds_everything_and_second_changes_nothing(tmp_path: Path, data_dir: Path) -> None:
    first = ingest(tmp_path, data_dir)
    assert len(first.added) == 5 and first.documents == 5 and first.sentences > 50
    second = ingest(tmp_path, data_dir)
    assert second.added == second.updated == second.removed == () and second.unchanged == 5
    assert (second.documents, second.passages, second.sentences) == (first.documents, first.passages, first.sentences)


def test_changed_file_replaces_its_rows_and_deleted_file_disappears(tmp_path: Path, data_dir: Path) -> None:
    ingest(tmp_path, data_dir)
    first, second = sorted(data_dir.glob("*.txt"))[:2]
    first.write_text(first.read_text(encoding="utf-8") + "\nفقرة جديدة أضيفت للاختبار.\n", encoding="utf-8")
    second.unlink()
    report = ingest(tmp_path, data_dir)
    assert report.updated == (first.stem,) and report.removed == (second.stem,) and report.unchanged == 3
    store = Store(tmp_path / "isnad.db")
    assert store.db.execute("SELECT count(*) FROM documents WHERE doc_id = ?", [second.stem]).fetchone()[0] == 0
    orphans = store.db.execute("SELECT count(*) FROM sentences WHERE document NOT IN (SELECT id FROM documents)").fetchone()[0]
    assert orphans == 0


def test_touched_but_identical_file_is_not_rewritten(tmp_path: Path, data_dir: Path) -> None:
    ingest(tmp_path, data_dir)
    path = sorted(data_dir.glob("*.txt"))[0]
    path.write_bytes(path.read_bytes())
    report = ingest(tmp_path, data_dir)
    assert not report.changed and report.unchanged == 5


def test_bad_files_are_reported_and_the_rest_ingested(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "latin1.txt").write_bytes("مرحبا".encode()[:3] + b"\xff\xfe caf\xe9")
    (data_dir / "binary.txt").write_bytes(b"\x00\x01\x02")
    (data_dir / "empty.txt").write_text("  \n", encoding="utf-8")
    (data_dir / "archive.jsonl").write_text(
        json.dumps({"title": "عنوان", "content": "زار الوفد القاهرة يوم الثلاثاء."}, ensure_ascii=False)
        + "\n{not json\n"
        + json.dumps({"title": "بلا نص"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    report = ingest(tmp_path, data_dir)
    problems = {(p.path, p.line): p.reason for p in report.problems}
    assert "not UTF-8" in problems[("latin1.txt", None)]
    assert "binary" in problems[("binary.txt", None)]
    assert "empty" in problems[("empty.txt", None)]
    assert "malformed JSON" in problems[("archive.jsonl", 2)]
    assert "content" in problems[("archive.jsonl", 3)]
    assert set(report.added) == {p.stem for p in data_dir.glob("0*.txt")} | {"archive:1"}


def test_a_failed_ingest_leaves_the_previous_state(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(tmp_path, data_dir)
    (data_dir / "new.txt").write_text("مقال جديد عن المفاوضات.", encoding="utf-8")
    sorted(data_dir.glob("0*.txt"))[0].unlink()
    store = Store(tmp_path / "isnad.db")
    version = store.corpus_version

    def crash(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "_insert_documents", crash)
    with pytest.raises(RuntimeError):
        store.ingest(data_dir)
    assert store.counts()[0] == 5 and store.corpus_version == version


def test_header_gives_metadata_and_text_stays_verbatim() -> None:
    raw = "---\ntitle: لقاء سوتشي\nurl: https://example.org/a\npublished: 2021-10-22\n---\nالتقى بوتين بينيت.\n"
    article = parse_txt_article("a", raw)
    assert (article.title, article.url, article.published) == ("لقاء سوتشي", "https://example.org/a", "2021-10-22")
    assert article.text == "التقى بوتين بينيت.\n"


LONG_OPENING = "شهد اليوم تواصلا دبلوماسيا بارزا بين الزعيمين في مكالمة طويلة تناولت قضايا كثيرة ومهمة جدا."


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("مكالمة مفاجئة: بوتين يتواصل مع نتنياهو\n\nشهد اليوم تواصلا.", "مكالمة مفاجئة: بوتين يتواصل مع نتنياهو"),
        (LONG_OPENING, "شهد اليوم تواصلا دبلوماسيا بارزا بين الزعيمين في مكالمة طويلة تناولت قضايا…"),
    ],
)
def test_derived_title(text: str, title: str) -> None:
    assert derive_title(text) == title


def test_the_articles_of_the_last_day_are_counted_and_an_edit_keeps_its_arrival(tmp_path: Path, data_dir: Path) -> None:
    ingest(tmp_path, data_dir)
    store = Store(tmp_path / "isnad.db")
    store.db.execute("UPDATE documents SET added = '2020-01-01 00:00:00'")  # they came long ago
    store.db.conn.commit()
    assert store.added_since(24) == 0
    first = sorted(data_dir.glob("*.txt"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\nفقرة جديدة.\n", encoding="utf-8")
    (data_dir / "fresh.txt").write_text("خبر جديد\nوصل الوفد إلى المدينة صباح اليوم.\n", encoding="utf-8")
    report = store.ingest(data_dir)
    assert report.updated == (first.stem,) and report.added == ("fresh",)
    assert store.added_since(24) == 1  # the new one; the edited one came in 2020
    assert store.db.execute("SELECT added FROM documents WHERE doc_id = ?", [first.stem]).fetchone()[0] == "2020-01-01 00:00:00"
    store.close()
