"""The index: an extended one holds what a full build holds; articles scored as their postings say; passage
postings read from their files as through their maps; the texts read in blocks as one by one."""

import math
from pathlib import Path

import numpy as np
import pytest

from retrieval import Retriever
from retrieval.lexical import index
from retrieval.lexical.rows import decode_rows


def article_postings(ix: index.TfidfIndex) -> dict[tuple[str, str], int]:
    """(article, term) → its count in the article postings, for the living articles."""
    terms = {column: term for term, column in ix.vocabulary_.items()}
    found = {}
    articles = decode_rows(ix.d_indptr_, ix.d_lo_, ix.d_blocks_, ix.document_blocks)
    for column in range(len(ix.d_indptr_) - 1):
        for at in range(int(ix.d_indptr_[column]), int(ix.d_indptr_[column + 1])):
            doc = int(articles[at])
            if ix.doc_alive_[doc]:
                found[(ix.doc_ids_[doc], terms[column])] = int(ix.d_tf_[at])
    return found


def title_rows(ix: index.TfidfIndex) -> dict[str, dict[str, int]]:
    terms = {column: term for term, column in ix.vocabulary_.items()}
    rows = {}
    for d in range(len(ix.doc_ids_)):
        span = slice(int(ix.t_indptr_[d]), int(ix.t_indptr_[d + 1]))
        if ix.doc_alive_[d]:
            rows[ix.doc_ids_[d]] = {terms[int(c)]: int(t) for c, t in zip(ix.t_indices_[span], ix.t_tf_[span], strict=True)}
    return rows


def test_an_extended_index_holds_the_article_postings_a_full_build_holds(tmp_path: Path, data_dir: Path) -> None:
    for n, city in enumerate(["القاهرة", "دمشق", "بغداد", "الرباط", "تونس", "عمان", "الرياض", "الدوحة", "بيروت", "صنعاء"] * 3):
        article = f"معرض الكتاب في {city}\nافتتح الوزير رقم {n} معرضا للكتاب في {city}.\n"
        (data_dir / f"extra_{n:02d}.txt").write_text(article, encoding="utf-8")
    extended = Retriever.open(tmp_path / "a.db")
    extended.sync(data_dir)
    (data_dir / "new.txt").write_text("زرقشوف في بلقمطير\nزار زرقشوف مدينة بلقمطير في الربيع.\n", encoding="utf-8")
    (data_dir / "extra_03.txt").unlink()
    extended.sync(data_dir)
    assert extended.index.stale_documents_ == 2  # appended, not rebuilt
    rebuilt = Retriever.open(tmp_path / "b.db")
    rebuilt.sync(data_dir)
    assert article_postings(extended.index) == article_postings(rebuilt.index)
    assert title_rows(extended.index) == title_rows(rebuilt.index)
    assert len(extended.index.is_word_) == len(extended.index.vocabulary_)
    assert extended.index.s_blocks_.dtype == np.uint16  # the appended rows' block counts stay two bytes


def test_article_scores_are_bm25_over_the_article_postings(tmp_path: Path, data_dir: Path) -> None:
    """document_scores (a binary search a term and article) against BM25 summed from the decoded postings."""
    (data_dir / "books.txt").write_text("معرض الكتاب في القاهرة\nافتتح الوزير معرضا للكتاب.\n", encoding="utf-8")
    retriever = Retriever.open(tmp_path / "a.db")
    retriever.sync(data_dir)
    ix = retriever.index
    terms = ix.params.text_analyzer()("متى زار بينيت موسكو والتقى بوتين في روسيا؟")
    columns, weights = ix.weigh(ix.vocabulary_.columns(terms))
    articles = np.arange(len(ix.doc_ids_))
    scores, _, _ = ix.document_scores(articles, columns, weights)
    postings = decode_rows(ix.d_indptr_, ix.d_lo_, ix.d_blocks_, ix.document_blocks)
    n, mean_length = len(ix.doc_ids_), float(np.mean(ix.d_len_))
    expected = np.zeros(n)
    for column, weight in zip(columns.tolist(), weights.tolist(), strict=True):
        span = range(int(ix.d_indptr_[column]), int(ix.d_indptr_[column + 1]))
        if not ix.is_word_[column]:
            continue
        idf = math.log1p((n - len(span) + 0.5) / (len(span) + 0.5))
        for at in span:
            doc, tf = int(postings[at]), float(ix.d_tf_[at])
            expected[doc] += weight * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * ix.d_len_[doc] / mean_length))
    assert expected.max() > 0 and (expected == 0).any()
    assert np.allclose(scores, expected, rtol=1e-4, atol=1e-6)


def test_passage_postings_read_from_their_files_as_through_their_maps(tmp_path: Path, data_dir: Path) -> None:
    """A loaded index reads the passage postings with pread (READ_NOT_MAPPED): the same scores as slicing the
    mapped arrays; a posting file cut short is reported, not read as zeros."""
    retriever = Retriever.open(tmp_path / "a.db")
    retriever.sync(data_dir)
    ix = retriever.index
    assert set(ix.files_) == set(index.READ_NOT_MAPPED)
    columns, weights = ix.weigh(ix.vocabulary_.columns(ix.params.text_analyzer()("متى زار بينيت موسكو والتقى بوتين؟")))
    read_ids, read_scores = ix.passage_scores(columns, weights)
    files, ix.files_ = ix.files_, {}
    mapped_ids, mapped_scores = ix.passage_scores(columns, weights)
    assert len(read_ids) > 10 and read_ids.tolist() == mapped_ids.tolist() and read_scores.tolist() == mapped_scores.tolist()
    ix.files_ = files
    posting_file = tmp_path / "a.db.index" / "p_tf.bin"
    posting_file.write_bytes(posting_file.read_bytes()[: len(ix.p_tf_) // 2])
    with pytest.raises(OSError, match="damaged"):
        ix.passage_scores(columns, weights)


def test_sentence_texts_read_in_blocks_are_the_sentences_read_one_by_one(tmp_path: Path, data_dir: Path) -> None:
    retriever = Retriever.open(tmp_path / "a.db")
    retriever.sync(data_dir)
    ix = retriever.index
    one_by_one = [ix.sentence_text(i) for i in range(ix.n_sentences)]
    assert len(one_by_one) > 50
    for block in (1, 700, 1 << 22):  # smaller than a sentence, a few sentences, the whole file
        assert list(ix.sentence_texts(block)) == one_by_one
