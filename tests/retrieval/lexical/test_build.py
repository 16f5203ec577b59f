"""The streaming build: chunk after chunk it writes what one chunk of the whole corpus writes; a failed or
killed build leaves the previous index serving."""

import errno
import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer

from retrieval import Retriever
from retrieval.corpus.store import Store
from retrieval.engine import build_index, index_folder
from retrieval.errors import IndexWriteError
from retrieval.lexical import build, storage, terms
from retrieval.lexical.index import IndexParams, TfidfIndex, membership
from retrieval.lexical.rows import decode_rows, encode_rows, find_in_lists

CITIES = ["القاهرة", "دمشق", "بغداد", "الرباط", "تونس", "عمان", "الرياض", "الدوحة", "بيروت", "صنعاء"]


@pytest.fixture
def corpus(tmp_path: Path, data_dir: Path) -> Store:
    """The seed articles and ten more, ingested."""
    for n, city in enumerate(CITIES):
        article = f"معرض الكتاب في {city}\nافتتح الوزير رقم {n} معرضا للكتاب في {city}.\n"
        (data_dir / f"extra_{n:02d}.txt").write_text(article, encoding="utf-8")
    store = Store(tmp_path / "isnad.db")
    store.ingest(data_dir)
    yield store
    store.close()


def built(store: Store, folder: Path, chunk_articles: int) -> TfidfIndex:
    build_index(store, folder, IndexParams(), chunk_articles=chunk_articles)
    return TfidfIndex.load(folder, IndexParams(), store.corpus_version)


TABLES = ("sent_doc", "sent_paragraph", "sent_number", "sent_start", "sent_end", "pass_first", "pass_last", "s_flags")


def sentence_columns(index: TfidfIndex) -> np.ndarray:
    return decode_rows(index.s_indptr_, index.s_lo_, index.s_blocks_, index.n_blocks)


def by_term(index: TfidfIndex) -> dict[str, object]:
    """Everything the index holds, keyed by term instead of column (columns are numbered as terms are met)."""
    terms = np.empty(len(index.vocabulary_), dtype=object)
    for term, column in index.vocabulary_.items():
        terms[column] = term

    def postings(prefix: str) -> dict[str, list[tuple[int, int]]]:
        indptr, tf = getattr(index, f"{prefix}_indptr_"), getattr(index, f"{prefix}_tf_")
        lo, blocks = getattr(index, f"{prefix}_lo_"), getattr(index, f"{prefix}_blocks_")
        indices = decode_rows(indptr, lo, blocks, index.passage_blocks if prefix == "p" else index.document_blocks)
        return {terms[c]: list(zip(indices[indptr[c] : indptr[c + 1]].tolist(), tf[indptr[c] : indptr[c + 1]].tolist(), strict=True))
                for c in range(len(terms)) if indptr[c + 1] > indptr[c]}

    def rows(prefix: str) -> list[dict[str, int]]:
        indptr = getattr(index, f"{prefix}_indptr_")
        tf = index.sentence_tf.all() if prefix == "s" else index.t_tf_
        indices = sentence_columns(index) if prefix == "s" else index.t_indices_
        return [dict(zip(terms[indices[indptr[r] : indptr[r + 1]]].tolist(), tf[indptr[r] : indptr[r + 1]].tolist(), strict=True))
                for r in range(len(indptr) - 1)]

    return {
        "p": postings("p"), "d": postings("d"), "s": rows("s"), "t": rows("t"),
        "idf": {terms[c]: float(v) for c, v in enumerate(index.idf_)},
        "words": {terms[c] for c in np.flatnonzero(index.is_word_)},
        "texts": [index.sentence_text(i) for i in range(index.n_sentences)],
        "tables": [getattr(index, n + "_").tolist() for n in TABLES],
        "documents": (index.doc_ids_, index.titles_, index.urls_, index.d_len_.tolist()),
    }


def test_a_build_in_chunks_holds_what_a_build_in_one_chunk_holds(corpus: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "MERGE_BLOCK", 50)  # many blocks of terms and of rows too
    whole = built(corpus, tmp_path / "whole", chunk_articles=1000)
    chunked = built(corpus, tmp_path / "chunked", chunk_articles=2)
    assert by_term(chunked) == by_term(whole)
    assert chunked.s_blocks_.dtype == np.uint16 and chunked.p_blocks_.dtype == np.uint32
    assert np.allclose(chunked.p_norm_, whole.p_norm_, rtol=1e-6) and np.allclose(chunked.s_norm_, whole.s_norm_, rtol=1e-6)
    assert not list(tmp_path.glob("chunked.*"))  # no staging folder left
    assert not list((tmp_path / "chunked").glob("*-*"))  # nor a spill


def test_a_build_analyzing_in_processes_writes_what_one_process_writes(
    corpus: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk's tokens analyzed in worker processes while the chunk before is written: the same index,
    its terms numbered in the same order."""
    monkeypatch.setattr(terms, "PARALLEL_MIN_TOKENS", 10)
    monkeypatch.setattr(terms, "_CHUNK_TOKENS", 50)  # several pieces for the two workers
    monkeypatch.setattr(build, "TermCounter", lambda ngrams, _workers: terms.TermCounter(ngrams, workers=2))
    pooled = built(corpus, tmp_path / "pooled", chunk_articles=2)
    monkeypatch.setattr(build, "TermCounter", lambda ngrams, _workers: terms.TermCounter(ngrams, workers=1))
    alone = built(corpus, tmp_path / "alone", chunk_articles=2)
    assert pooled.vocabulary_.terms() == alone.vocabulary_.terms()
    assert by_term(pooled) == by_term(alone)


def test_idf_and_norms_are_scikit_learns(corpus: Store, tmp_path: Path) -> None:
    index = built(corpus, tmp_path / "index", chunk_articles=3)
    shape = (index.n_sentences, len(index.idf_))
    sentences = sparse.csr_matrix((index.sentence_tf.all().astype(np.float32), sentence_columns(index), index.s_indptr_), shape=shape)
    passages = membership(index.pass_first_, index.pass_last_, index.n_sentences) @ sentences
    transformer = TfidfTransformer(sublinear_tf=True).fit(passages)
    assert np.array_equal(index.idf_, transformer.idf_.astype(np.float32))
    weighted = transformer.transform(passages)  # L2-normalized rows of (1 + ln tf) · idf
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
    assert np.allclose(norms[np.diff(passages.indptr) > 0], 1)
    raw = TfidfTransformer(sublinear_tf=True, norm=None).fit(passages).transform(passages)
    assert np.allclose(np.sqrt(np.asarray(raw.multiply(raw).sum(axis=1))).ravel(), index.p_norm_, rtol=1e-5)


def test_a_full_disk_during_a_build_is_reported_and_the_previous_index_serves(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    retriever = Retriever.open(tmp_path / "isnad.db")
    retriever.sync(data_dir)
    before = retriever.index.corpus_version_
    expected = [q.text for q in retriever.ask("متى زار بينيت موسكو؟").quotes]
    for n, city in enumerate(CITIES * 3):  # a change past a tenth of the corpus: a full build
        (data_dir / f"extra_{n:02d}.txt").write_text(f"معرض الكتاب في {city}\nافتتح الوزير رقم {n} معرضا.\n", encoding="utf-8")
    written = []

    def fill_up(self: storage.ArrayWriter, values: np.ndarray) -> None:
        written.append(self.name)
        if len(written) > 20:  # the disk fills half-way through the build
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, values)

    original = storage.ArrayWriter.append
    monkeypatch.setattr(storage.ArrayWriter, "append", fill_up)
    with pytest.raises(IndexWriteError, match="No space left on device"):
        retriever.sync(data_dir)
    assert retriever.index.corpus_version_ == before  # the previous index still answers
    assert [q.text for q in retriever.ask("متى زار بينيت موسكو؟").quotes] == expected
    folder = index_folder(tmp_path / "isnad.db")
    assert TfidfIndex.load(folder, IndexParams(), before).n_sentences == retriever.index.n_sentences  # and is on disk
    assert not list(tmp_path.glob("isnad.db.index.*"))  # nothing half-written beside it

    monkeypatch.setattr(storage.ArrayWriter, "append", original)  # room again: the next sync finishes the work
    report = retriever.sync(data_dir)
    assert report.documents == 5 + 30 and retriever.index.corpus_version_ != before
    assert retriever.ask("معرض الكتاب في الرباط").quotes[0].title == "معرض الكتاب في الرباط"


def test_an_abandoned_build_folder_is_removed_by_the_next_build(corpus: Store, tmp_path: Path) -> None:
    folder = tmp_path / "isnad.db.index"
    abandoned, lock = storage.new_staging(folder)
    (abandoned / "s_indices.bin").write_bytes(b"\0" * 100)
    live, live_lock = storage.new_staging(folder)  # another build, still running
    lock.close()  # its process died
    built(corpus, folder, chunk_articles=4)
    assert not abandoned.exists() and live.exists()
    live_lock.close()


def test_rows_in_two_bytes_give_back_their_columns() -> None:
    indptr = np.array([0, 3, 3, 7, 8])
    columns = np.array([5, 65_535, 65_536, 0, 70_000, 200_000, 200_001, 131_071])  # sorted within each row
    lo, blocks = encode_rows(indptr, columns, 4)
    assert lo.dtype == np.uint16 and blocks.tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 2, 0, 1, 0, 0]
    assert decode_rows(indptr, lo, blocks, 4).tolist() == columns.tolist()


def test_one_search_finds_each_target_in_its_own_list_as_a_search_per_list_does() -> None:
    rng = np.random.default_rng(7)
    lists = [np.unique(rng.integers(0, 300, size)).astype(np.uint16) for size in (0, 1, 2, 7, 64, 200)]
    values = np.concatenate(lists)
    offsets = np.concatenate([[0], np.cumsum([len(ids) for ids in lists])])
    which = rng.integers(0, len(lists), 500)
    targets = rng.integers(0, 300, 500).astype(np.uint16)
    targets[:6] = [ids[-1] if len(ids) else 0 for ids in lists]  # each list's last value: the search's edge
    which[:6] = np.arange(6)
    lengths = np.diff(offsets)
    position, found = find_in_lists(values, offsets[which], lengths[which], targets)
    assert position.tolist() == [offsets[j] + np.searchsorted(lists[j], t) for j, t in zip(which, targets, strict=True)]
    assert found.tolist() == [bool(t in lists[j].tolist()) for j, t in zip(which, targets, strict=True)]
    assert found[1:6].all() and found.any() and not found.all()


def test_postings_appended_across_a_block_boundary_read_back_as_one_list() -> None:
    """An incremental sync inserts new postings into the stored two-byte lists without decoding them: ids past
    65,536, a term new to the corpus and a wider block table still read back as the full lists."""
    from retrieval.lexical.index import _append_postings

    old_lists = [[3, 65_534], [], [10, 20, 30]]  # three terms over 65,535 rows: one block
    indptr = np.concatenate([[0], np.cumsum([len(ids) for ids in old_lists])])
    lo, blocks = encode_rows(indptr, np.array([i for ids in old_lists for i in ids]), 1)
    tf = np.arange(1, indptr[-1] + 1, dtype=np.uint8)
    # The delta's own terms 0, 1, 2 are the corpus's terms 2, 3 (new) and 0; its rows start at 65,535.
    delta_lists = [[0, 5], [1], [0, 70_000]]
    delta_indptr = np.concatenate([[0], np.cumsum([len(ids) for ids in delta_lists])])
    delta = (delta_indptr, np.array([i for ids in delta_lists for i in ids]), np.full(5, 9, dtype=np.uint8))
    (new_indptr, new_lo, new_blocks, new_tf), added = _append_postings(
        (indptr, lo, blocks, tf), 1, delta, np.array([2, 3, 0]), 4, 65_535, 3
    )
    lists = decode_rows(new_indptr, new_lo, new_blocks, 3)
    got = [lists[a:b].tolist() for a, b in itertools.pairwise(new_indptr)]
    assert got == [[3, 65_534, 65_535, 135_535], [], [10, 20, 30, 65_535, 65_540], [65_536]]
    assert added.tolist() == [2, 0, 2, 1]
    assert new_tf.tolist() == [1, 2, 9, 9, 3, 4, 5, 9, 9, 9]
