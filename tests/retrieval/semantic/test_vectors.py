"""The corpus's vectors: stored compact and keyed by text, embedded once, dropped with their article, rebuilt
when damaged or made by another model; the serving matrix follows the index."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from retrieval import Retriever
from retrieval.corpus.store import Store
from retrieval.semantic.vectors import DenseVectors, QuantizedRows, VectorStore, blobs, dequantize, quantize, text_key, text_keys
from tests.doubles import HashingEncoder


def embedded_retriever(db: Path, folder: Path, encoder: HashingEncoder | None = None) -> Retriever:
    retriever = Retriever.open(db, encoder=encoder or HashingEncoder())
    retriever.sync(folder)
    retriever.embed()
    return retriever


def stored_keys(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {row[0] for row in connection.execute("SELECT key FROM vectors")}


def test_int8_vectors_keep_their_cosines() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stored = blobs(*quantize(vectors))
    restored = np.array([dequantize(blob, 384) for blob in stored])
    assert np.abs((restored * vectors).sum(axis=1) - 1).max() < 0.002
    assert dequantize(stored[0][:-1], 384) is None  # a truncated row is no vector


def test_served_rows_give_the_stored_vectors_cosines() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3000, 384)).astype(np.float32)  # more rows than one block of the full product
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    codes, scales = quantize(vectors)
    stored = np.array([dequantize(blob, 384) for blob in blobs(codes, scales)])
    rows = QuantizedRows.empty(3001, 384)
    rows.fill(np.arange(3000), codes)
    query = vectors[7]
    expected = stored @ query
    assert np.allclose(rows.cosines(query)[:3000], expected, atol=1e-6)
    assert rows.cosines(query)[3000] == 0 and not rows.has[3000]  # a row not filled yet: cosine 0
    picked = np.array([2999, 5, 1024])
    assert np.allclose(rows.cosines(query, picked), expected[picked], atol=1e-6)
    assert np.allclose(rows.vectors(picked), stored[picked], atol=1e-6)


def test_every_text_gets_a_vector_once(tmp_path: Path, data_dir: Path) -> None:
    encoder = HashingEncoder()
    retriever = embedded_retriever(tmp_path / "isnad.db", data_dir, encoder)
    have, total = retriever.vector_coverage
    assert have == total == retriever.index.n_sentences + len(retriever.index.titles_)
    distinct = {text_key(retriever.index.sentence_text(i)) for i in range(retriever.index.n_sentences)}
    distinct |= {text_key(t) for t in retriever.index.titles_}
    assert encoder.embedded == len(distinct)  # a text repeated in the corpus is embedded once
    # Reopened, re-synced, embedded again: nothing new to embed.
    again = HashingEncoder()
    reopened = embedded_retriever(tmp_path / "isnad.db", data_dir, again)
    assert again.embedded == 0 and reopened.vector_coverage == (total, total)


def test_an_edited_article_re_embeds_only_its_changed_sentences(tmp_path: Path, data_dir: Path) -> None:
    db = tmp_path / "isnad.db"
    embedded_retriever(db, data_dir)
    article = sorted(data_dir.glob("*.txt"))[1]
    lines = article.read_text(encoding="utf-8").splitlines()
    last = max(i for i, line in enumerate(lines) if line.strip())
    lines[last] = "وأضاف المتحدث أن الجولة المقبلة من المحادثات ستعقد في الربيع."
    article.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = stored_keys(db)
    encoder = HashingEncoder()
    retriever = embedded_retriever(db, data_dir, encoder)
    assert encoder.embedded == 1  # the one new sentence; its neighbours, title and other articles kept theirs
    after = stored_keys(db)
    assert len(after - before) == 1 and retriever.vector_coverage[0] == retriever.vector_coverage[1]


def test_a_removed_article_takes_its_vectors_with_it(tmp_path: Path, data_dir: Path) -> None:
    db = tmp_path / "isnad.db"
    retriever = embedded_retriever(db, data_dir)
    before = stored_keys(db)
    gone = sorted(data_dir.glob("*.txt"))[0]
    gone.unlink()
    retriever.sync(data_dir)
    after = stored_keys(db)
    assert after < before
    assert after == text_keys(retriever.index)


def test_a_text_with_nothing_to_read_gets_no_vector_and_no_crash(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "عنوان المقال\nاستقبل الرئيس الوفد صباح الأحد.\n😀😀😀 ✨✨\n" + "كلمة " * 20_000 + "\n", encoding="utf-8"
    )
    retriever = embedded_retriever(tmp_path / "isnad.db", folder)
    have, total = retriever.vector_coverage
    assert have == total
    distinct = text_keys(retriever.index)
    assert len(stored_keys(tmp_path / "isnad.db")) == len(distinct) - 1  # the emoji line counts as done, with no vector
    assert retriever.ask("متى استقبل الرئيس الوفد؟").found


def test_vectors_of_another_model_or_damaged_rows_are_embedded_again(tmp_path: Path, data_dir: Path) -> None:
    db = tmp_path / "isnad.db"
    embedded_retriever(db, data_dir)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE vectors SET vector = substr(vector, 1, 10) WHERE key IN (SELECT key FROM vectors LIMIT 3)")
    encoder = HashingEncoder()
    retriever = embedded_retriever(db, data_dir, encoder)
    assert encoder.embedded == 3 and retriever.vector_coverage[0] == retriever.vector_coverage[1]

    class OtherModel(HashingEncoder):
        name = "another-model"

    other = OtherModel()
    retriever = embedded_retriever(db, data_dir, other)
    assert other.embedded == len(stored_keys(db)) > 3  # everything again: vectors of two models are never mixed


def test_embedding_stops_when_told_and_resumes(tmp_path: Path, data_dir: Path) -> None:
    retriever = Retriever.open(tmp_path / "isnad.db", encoder=HashingEncoder())
    retriever.sync(data_dir)
    stop = threading.Event()
    stop.set()
    assert retriever.embed(stop=stop).embedded == 0
    first = retriever.embed(seconds=0.0)
    assert first.embedded == 0 and first.remaining == first.total > 0
    rest = retriever.embed()
    assert rest.embedded > 0 and rest.remaining == 0


def test_dense_rows_follow_the_index(tmp_path: Path, data_dir: Path) -> None:
    retriever = embedded_retriever(tmp_path / "isnad.db", data_dir)
    index = retriever.index
    store = Store(tmp_path / "isnad.db")
    try:
        dense = DenseVectors.load(index, VectorStore(store, HashingEncoder.name, HashingEncoder.dim))
    finally:
        store.close()
    sid = index.n_sentences // 2
    expected = HashingEncoder().passages([index.sentence_text(sid)])[0]
    assert float(dense.sentences.vectors(np.array([sid]))[0] @ expected) == pytest.approx(1.0, abs=0.01)
    ids, cosines = dense.nearest(expected, 3)
    assert ids[0] == sid and cosines[0] == pytest.approx(1.0, abs=0.01) and list(cosines) == sorted(cosines, reverse=True)


def test_a_reopened_corpus_serves_every_row_its_text_s_vector(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    shared = "وأكد المتحدث أن المحادثات ستستأنف الأسبوع المقبل."  # one text in two articles: one stored row
    (folder / "a.txt").write_text(f"زيارة الوفد\nوصل الوفد إلى العاصمة صباح الأحد.\n{shared}\n", encoding="utf-8")
    (folder / "b.txt").write_text(f"نهاية الجولة\n{shared}\n✨✨\nوغادر الوفد مساء الاثنين.\n", encoding="utf-8")
    db = tmp_path / "isnad.db"
    first = embedded_retriever(db, folder)
    served = first._dense
    reopened = Retriever.open(db, encoder=HashingEncoder())
    index, dense = reopened.index, reopened._dense
    assert reopened.vector_coverage == first.vector_coverage and reopened.vector_coverage[0] == reopened.vector_coverage[1]
    for rows, before in ((dense.sentences, served.sentences), (dense.titles, served.titles)):
        assert np.array_equal(rows.codes, before.codes) and np.array_equal(rows.factors, before.factors)
    encoder = HashingEncoder()
    for sid in range(index.n_sentences):
        text = index.sentence_text(sid)
        row = dense.sentences.vectors(np.array([sid]))[0]
        if text == shared or "الوفد" in text:
            assert float(row @ encoder.passages([text])[0]) == pytest.approx(1.0, abs=0.01), text
        elif "✨" in text:
            assert not row.any()  # nothing to read: a zero row, counted as done
    texts = index.n_sentences + len(index.titles_)
    assert len(stored_keys(db)) == len(text_keys(index)) - 1 < texts - 2  # one row a distinct text; no emoji row
