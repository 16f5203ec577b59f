"""Ingestion on real SQLite files: idempotent, incremental, transactional, and forgiving of bad files."""

import hashlib
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


def test_an_archive_larger_than_a_read_is_streamed_line_by_line(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive is checked and read a block at a time (never held whole): blocks far smaller than the file,
    a two-byte letter split between two blocks, a BOM, a stray \\r inside a line and 2,500 articles (three
    write batches) give what reading it whole gave, and an unchanged archive is not parsed again."""
    from retrieval.corpus import articles

    lines = [  # a raw \r between two keys is JSON whitespace: the line must not be split there
        json.dumps({"title": f"خبر رقم {n}", "content": f"افتتح الوزير {n} مشروعا جديدا."}, ensure_ascii=False)
        .replace(', "content"', ',\r"content"')
        for n in range(2500)
    ]
    archive = data_dir / "archive.jsonl"
    archive.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
    monkeypatch.setattr(articles, "READ_BLOCK", 4097)  # odd: Arabic letters (two bytes) straddle the blocks
    report = ingest(tmp_path, data_dir)
    assert not report.problems and len(report.added) == 2505
    store = Store(tmp_path / "isnad.db")
    text = store.db.execute("SELECT text FROM documents WHERE doc_id = 'archive:2500'").fetchone()[0]
    assert text == "افتتح الوزير 2499 مشروعا جديدا."
    digest = store.db.execute("SELECT sha256 FROM files WHERE path = 'archive.jsonl'").fetchone()[0]
    assert digest == hashlib.sha256(archive.read_bytes()[3:]).hexdigest()  # the text's hash, as before streaming
    store.close()
    archive.write_bytes(archive.read_bytes())  # touched, same bytes
    again = ingest(tmp_path, data_dir)
    assert not again.changed and again.unchanged == 2505


def test_a_bad_byte_far_into_an_archive_is_reported_with_its_offset(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.corpus import articles

    monkeypatch.setattr(articles, "READ_BLOCK", 1000)
    good = (json.dumps({"title": "عنوان", "content": "نص الخبر."}, ensure_ascii=False) + "\n").encode("utf-8") * 100
    (data_dir / "latin1.jsonl").write_bytes(good + b"caf\xe9\n")
    (data_dir / "nul.jsonl").write_bytes(good + b"\x00")
    problems = {p.path: p.reason for p in ingest(tmp_path, data_dir).problems}
    assert problems["latin1.jsonl"] == f"not UTF-8 (invalid byte at offset {len(good) + 3})"
    assert "binary" in problems["nul.jsonl"]
