"""The retrieval API and the `isnad` JSON contract, on the seed corpus."""

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval import Retriever
from retrieval.engine import index_folder
from retrieval.lexical.index import IndexParams
from tests.conftest import SEEDS, with_thresholds


def test_quotes_are_verbatim_slices_with_citations(seed_retriever: Retriever) -> None:
    answer = seed_retriever.ask("بينيت موسكو", top_k=3)
    assert answer.found and answer.no_answer_reason is None
    for quote in answer.quotes:
        source = (SEEDS / f"{quote.doc_id}.txt").read_text(encoding="utf-8")
        assert source[quote.start : quote.end] == quote.text
        assert quote.title and quote.paragraph >= 1 and quote.sentence >= 1
    assert "بينيت، إلى موسكو" in answer.quotes[0].text


def test_both_spellings_of_bennett_find_both_spellings(seed_retriever: Retriever) -> None:
    for spelling in ("بينيت", "بينت", "نفتالي بينت", "نفتالي بينيت"):
        texts = [q.text for q in seed_retriever.ask(spelling, top_k=10).quotes]
        assert any("بينيت" in t for t in texts) and any("بينت" in t for t in texts), spelling


def test_offset_pages_through_results(seed_retriever: Retriever) -> None:
    first = seed_retriever.ask("بوتين نتنياهو مكالمة", top_k=2)
    more = seed_retriever.ask("بوتين نتنياهو مكالمة", top_k=2, offset=2)
    assert first.has_more and not {q.text for q in first.quotes} & {q.text for q in more.quotes}


def test_no_answer_has_a_reason(seed_retriever: Retriever) -> None:
    for question in ("", "زرقشوف بلقمطير", "hello world"):
        answer = seed_retriever.ask(question)
        assert not answer.found and answer.no_answer_reason


def test_when_question_needs_a_time_among_the_best_matches(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "talks.txt").write_text(
        "التقى الوزير زرقشوف نظيره بلقمطير لبحث ملف المياه.\nوناقش الوزيران مشاريع الري المشتركة بين البلدين.\n",
        encoding="utf-8",
    )
    retriever = Retriever.open(tmp_path / "isnad.db")
    retriever.sync(folder)
    assert retriever.ask("ماذا بحث زرقشوف مع بلقمطير؟").found
    undated = retriever.ask("متى التقى زرقشوف بلقمطير؟")
    assert not undated.found and "when" in undated.no_answer_reason
    (folder / "talks.txt").write_text("التقى الوزير زرقشوف نظيره بلقمطير يوم الأحد لبحث ملف المياه.\n", encoding="utf-8")
    retriever.sync(folder)
    assert "يوم الأحد" in retriever.ask("متى التقى زرقشوف بلقمطير؟").quotes[0].text


def test_index_is_reused_and_rebuilt_on_mismatch(tmp_path: Path, data_dir: Path) -> None:
    db = tmp_path / "isnad.db"
    Retriever.open(db).sync(data_dir)
    meta = index_folder(db) / "meta.json"
    built = meta.stat().st_mtime_ns
    Retriever.open(db)
    assert meta.stat().st_mtime_ns == built  # unchanged corpus: loaded, not rebuilt
    Retriever.open(db, index_params=IndexParams(ngrams=None))
    assert json.loads(meta.read_text())["params"]["ngrams"] is None  # other parameters: rebuilt


def test_sync_swaps_in_new_articles(tmp_path: Path, data_dir: Path) -> None:
    retriever = Retriever.open(tmp_path / "isnad.db")
    retriever.sync(data_dir)
    assert not retriever.ask("زرقشوف بلقمطير").found
    (data_dir / "new.txt").write_text("زار زرقشوف مدينة بلقمطير في الربيع.\n", encoding="utf-8")
    report = retriever.sync(data_dir)
    assert report.added == ("new",)
    assert retriever.ask("زرقشوف بلقمطير").quotes[0].doc_id == "new"


def isnad(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
        env={"PATH": "", "ISNAD_LOG_LEVEL": "WARNING", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def test_cli_json_contract(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "data")
    assert isnad("ingest", cwd=tmp_path).returncode == 0
    result = isnad("ask", "--json", "متى زار بينيت موسكو؟", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) >= {"id", "question", "answers", "confidence", "elapsed_ms"}
    for quote in answer["answers"]:
        assert {"text", "doc_id", "title", "paragraph", "sentence", "score", "start", "end"} <= set(quote)
        assert set(quote) <= {"text", "doc_id", "title", "paragraph", "sentence", "score", "start", "end", "url", "source",
                              "published", "highlights"}
        source = (tmp_path / "data" / f"{quote['doc_id']}.txt").read_text(encoding="utf-8")
        assert source[quote["start"] : quote["end"]] == quote["text"]
        for start, end in quote.get("highlights", []):
            assert 0 <= start < end <= len(quote["text"])


def test_cli_batch_keeps_input_order_and_reports_no_answer(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "data")
    isnad("ingest", cwd=tmp_path)
    batch = tmp_path / "questions.jsonl"
    batch.write_text(
        '{"id": "a", "question": "بينيت موسكو"}\n{"id": "b", "question": "زرقشوف بلقمطير"}\nمن سلف بينت؟\n', encoding="utf-8"
    )
    result = isnad("ask", "--json", "--batch", str(batch), cwd=tmp_path)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "3"]
    assert lines[1]["answers"] == [] and lines[1]["no_answer_reason"]
    assert all(line["elapsed_ms"] >= 0 for line in lines)


def test_small_change_extends_the_index_and_matches_a_full_build(tmp_path: Path, data_dir: Path) -> None:
    cities = ["القاهرة", "دمشق", "بغداد", "الرباط", "تونس", "عمان", "الرياض", "الدوحة", "بيروت", "صنعاء"] * 3
    for n, city in enumerate(cities):
        (data_dir / f"extra_{n:02d}.txt").write_text(f"افتتح الوزير رقم {n} معرضا للكتاب في {city} يوم الأحد.\n", encoding="utf-8")
    retriever = Retriever.open(tmp_path / "a.db")
    retriever.sync(data_dir)
    (data_dir / "new.txt").write_text("زار زرقشوف مدينة بلقمطير في الربيع.\n", encoding="utf-8")
    (data_dir / "extra_03.txt").unlink()
    report = retriever.sync(data_dir)
    assert report.added == ("new",) and report.removed == ("extra_03",)
    assert retriever.index.stale_documents_ == 2  # appended, not rebuilt
    assert retriever.ask("زرقشوف بلقمطير").quotes[0].doc_id == "new"
    assert all(q.doc_id != "extra_03" for q in retriever.ask("الوزير رقم 3 معرضا للكتاب", top_k=10).quotes)

    rebuilt = Retriever.open(tmp_path / "b.db")
    rebuilt.sync(data_dir)
    ours, theirs = retriever.stats(), rebuilt.stats()
    assert (ours.documents, ours.passages, ours.sentences) == (theirs.documents, theirs.passages, theirs.sentences)
    reopened = Retriever.open(tmp_path / "a.db")
    assert reopened.index.stale_documents_ == 2 and reopened.ask("زرقشوف بلقمطير").quotes[0].doc_id == "new"


def test_a_weak_answer_is_no_answer_with_the_closest_sentence(seed_retriever: Retriever) -> None:
    sure = seed_retriever.ask("متى زار بينيت موسكو؟")
    assert sure.found and sure.closest is None and 0 < sure.confidence <= 1
    models = seed_retriever.models
    try:
        seed_retriever.models = with_thresholds(models, answer=1.0, closest=0.0)
        weak = seed_retriever.ask("متى زار بينيت موسكو؟")
        assert not weak.found and weak.no_answer_reason
        assert weak.closest is not None and weak.closest.text == sure.quotes[0].text
        seed_retriever.models = with_thresholds(models, answer=1.0, closest=1.0)
        assert seed_retriever.ask("متى زار بينيت موسكو؟").closest is None
    finally:
        seed_retriever.models = models


def test_no_answer_names_the_words_no_article_uses(seed_retriever: Retriever) -> None:
    answer = seed_retriever.ask("كيف أطبخ المجدرة بالعدس؟")
    assert not answer.found
    assert answer.missing == ("أطبخ", "المجدرة", "بالعدس")
    assert "المجدره" in answer.no_answer_reason or "المجدرة" in answer.no_answer_reason


def damage_truncate(folder: Path) -> str:
    target = folder / "s_lo.bin"
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    return "truncated s_lo.bin"


def damage_meta(folder: Path) -> str:
    (folder / "meta.json").write_text("{not json", encoding="utf-8")
    return "garbled meta.json"


def damage_delete(folder: Path) -> str:
    (folder / "d_lo.bin").unlink()
    return "deleted d_lo.bin"


def damage_vocabulary(folder: Path) -> str:
    (folder / "vocabulary_long.pkl").write_bytes(b"\x80\x05garbage")
    (folder / "vocabulary_keys.bin").write_bytes(b"")
    return "garbled vocabulary_long.pkl, emptied vocabulary_keys.bin"


@pytest.mark.parametrize("damage", [damage_truncate, damage_meta, damage_delete, damage_vocabulary])
def test_a_damaged_index_is_logged_rebuilt_and_answers(tmp_path: Path, damage, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "isnad.db"
    good = Retriever.open(db)
    good.sync(SEEDS)
    expected = [q.text for q in good.ask("متى زار بينيت موسكو؟").quotes]
    damage(index_folder(db))
    caplog.set_level(logging.INFO, logger="retrieval.engine")
    reopened = Retriever.open(db)
    assert any("building the index" in r.getMessage() for r in caplog.records)  # what it found is logged
    assert [q.text for q in reopened.ask("متى زار بينيت موسكو؟").quotes] == expected
    assert Retriever.open(db).index.n_sentences == good.index.n_sentences  # and the rebuilt one is saved


def test_cli_batch_lines_of_one_chat_are_a_conversation(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "data")
    isnad("ingest", cwd=tmp_path)
    batch = tmp_path / "chats.jsonl"
    rows = [
        {"id": "1", "chat": "x", "question": "متى سافر بينيت إلى موسكو؟"},
        {"id": "2", "chat": "y", "question": "ومع من تحدث بعد ذلك؟"},  # y has no conversation yet
        {"id": "3", "chat": "x", "question": "ومع من تحدث بعد ذلك؟"},
        {"id": "4", "question": "ومع من تحدث بعد ذلك؟"},  # no chat: asked alone
    ]
    batch.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    result = isnad("ask", "--json", "--batch", str(batch), cwd=tmp_path)
    lines = {line["id"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert "reading" not in lines["2"] and "reading" not in lines["4"]
    assert "بينيت" in lines["3"]["reading"]
    assert lines["3"]["answers"][0]["doc_id"] == lines["1"]["answers"][0]["doc_id"]  # from the article the chat is about
