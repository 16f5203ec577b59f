"""The bench's pieces on a tiny synthetic archive: conversion, scaling, questions, and every measuring process."""

import json
import zipfile
from pathlib import Path

import pytest

from retrieval.evaluation import bench

TOPICS = ("الرياض", "جدة", "مكة", "الدمام", "تبوك")


def write_archive(folder: Path, articles: int = 20) -> Path:
    """A zip holding one JSON array of short Arabic articles, shaped like SaudiNewsNet."""
    folder.mkdir()
    records = [
        {
            "source": "صحيفة تجريبية",
            "url": f"https://example.org/{n}",
            "date_extracted": "2015-07-21 10:00:00",
            "title": f"افتتاح مشروع جديد في {TOPICS[n % 5]} رقم {n}",
            "author": "",
            "content": f"افتتح أمير المنطقة مشروعا جديدا في {TOPICS[n % 5]} يوم الاثنين. "
            f"وتبلغ تكلفة المشروع {n + 10} مليون ريال.\nويخدم المشروع آلاف السكان في المدينة.",
        }
        for n in range(articles)
    ]
    with zipfile.ZipFile(folder / "2015-07-21.zip", "w") as archive:
        archive.writestr("2015-07-21.json", json.dumps(records, ensure_ascii=False))
    return folder


def test_convert_corpus_keeps_citation_fields(tmp_path: Path) -> None:
    target = tmp_path / "out" / bench.ARCHIVE_NAME
    assert bench.convert_corpus(write_archive(tmp_path / "zips"), target) == 20
    first = json.loads(target.read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"title", "content", "url", "date", "source"}
    assert first["date"] == "2015-07-21 10:00:00"


def test_convert_corpus_without_zips_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        bench.convert_corpus(tmp_path, tmp_path / "out.jsonl")


def test_scale_folder_repeats_the_archive_under_distinct_names(tmp_path: Path) -> None:
    archive = tmp_path / bench.ARCHIVE_NAME
    archive.write_text('{"title": "t", "content": "c"}\n', encoding="utf-8")
    folder = bench.scale_folder(archive, tmp_path / "data", 3)
    assert sorted(p.name for p in folder.iterdir()) == [f"saudinewsnet-1x-copy{n}.jsonl" for n in (1, 2, 3)]


def test_latency_percentiles() -> None:
    latency = bench.Latency.of([float(n) for n in range(1, 101)])
    assert (latency.count, latency.p50, latency.max) == (100, 50.5, 100.0)
    assert 99 <= latency.p99 <= 100


def test_run_bench_measures_every_figure(tmp_path: Path) -> None:
    corpus = write_archive(tmp_path / "zips")
    messages: list[str] = []
    reports = list(bench.run_bench(corpus, tmp_path / "work", [1, 2], 10, tmp_path / "no-dev.jsonl", messages.append))
    assert [r.scale for r in reports] == [1, 2]
    one, two = reports
    assert (one.articles, two.articles) == (20, 40)
    assert two.sentences == 2 * one.sentences
    assert one.isnad.count == 10 and one.bm25.count > 0 and one.follow_up.count == one.alone.count == 10
    assert one.isnad_again.count == one.isnad_best.count == 10 and one.isnad_best.p99 <= one.isnad_again.p99
    assert one.db_bytes > 0 and one.index_bytes > 0 and one.serve_rss > one.serve_anon > 0 and one.startup_s > 0
    assert one.sync_10_s is not None and two.sync_10_s is None
    vectored = one.vectors
    assert vectored is not None and vectored.texts >= one.sentences + one.articles  # the 10 synced articles too
    assert vectored.db_bytes > 0 and vectored.isnad.count == vectored.isnad_best.count == 10
    assert vectored.serve_rss > one.serve_anon and vectored.serve_anon > 0
    text = "\n".join(one.lines())
    figures = (
        "articles/s", "index build", "serving peak RSS", "restart", "bm25s retrieve", "isnad / bm25s", "sync +10", "follow-up", "best of 3",
        "with vectors",
    )
    for figure in figures:
        assert figure in text
    assert any("questions" in message for message in messages)


def test_semantic_bench_measures_both_paths_and_the_encoder(tmp_path: Path) -> None:
    from retrieval import Retriever

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_text("افتتاح مشروع في الرياض\nافتتح أمير المنطقة مشروعا جديدا يوم الاثنين.\n", encoding="utf-8")
    db = tmp_path / "isnad.db"
    Retriever.open(db).sync(folder)
    lines = bench.semantic_bench(db, ["متى افتتح المشروع؟"] * 3, tmp_path, 2, lambda _: None)
    assert lines[0].startswith("encoder e5") and lines[2].startswith("encoder none") and "sentences/s" in lines[-1]
