"""The fitted models as data: the shipped file loads, a file for another analyzer or other features is
refused, a refit is the same bit for bit, and a synonym counts as holding the question's word."""

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval import Retriever
from retrieval.errors import ModelMismatch
from retrieval.evaluation import training
from retrieval.evaluation.scoring import EvalQuestion, GoldAnswer
from retrieval.ranking.features import LEXICAL_FEATURES, LEXICAL_QUESTION_FEATURES, SENTENCE_FEATURES, Candidates, sentence_matrix
from retrieval.ranking.model import MODEL_FILE, Models
from retrieval.ranking.rank import RankingParams, gather_candidates


def test_the_shipped_model_loads_with_its_provenance() -> None:
    models = Models.load()
    assert set(models.lexical.ranker.features) <= set(LEXICAL_FEATURES)
    assert set(models.lexical.answerable.features) <= set(LEXICAL_QUESTION_FEATURES)
    for variant in (models.lexical, models.semantic):
        if variant is not None:
            assert set(variant.ranker.features) <= set(SENTENCE_FEATURES)
            assert 0 < variant.closest_threshold <= variant.answer_threshold < 1
    assert models.fitted_on["sets"] and models.cross_validated


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(analyzer="arabic-0"), "analyzer arabic-0"),
        (lambda m: m["lexical"]["ranker"]["features"].append("a_feature_nobody_computes"), "a_feature_nobody_computes"),
        # The words-only variant answers where there are no vectors: it may not lean on the encoder's cosines.
        (lambda m: m["lexical"]["ranker"]["features"].append("e5_sentence"), "e5_sentence"),
        (lambda m: m["lexical"]["answerable"]["features"].append("nearest_e5"), "nearest_e5"),
        (lambda m: m["lexical"]["answerable"]["coef"].pop(), "does not match"),
        (lambda m: m["lexical"].pop("ranker"), "no readable model"),
    ],
)
def test_a_model_fitted_otherwise_is_refused(tmp_path: Path, change, message: str) -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    change(data)
    target = tmp_path / "model.json"
    target.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelMismatch, match=message):
        Models.load(target)


SEED_QUESTIONS = [
    ("متى زار بينيت موسكو؟", "000_ca4986a96b87605c", "إلى موسكو للقاء الرئيس الروسي"),
    ("أين التقى بوتين بينيت؟", "004_553f444c189b1313", "في مدينة سوتشي الروسية"),
    ("مع من تحدث بينيت بعد اجتماعه مع بوتين؟", "000_ca4986a96b87605c", "إنه تحدث مع زيلينسكي"),
    ("ماذا قال بوتين عن العلاقات الروسية الإسرائيلية؟", "003_f42d105677c930fc", "بوتين"),
    ("كيف أطبخ المجدرة بالعدس؟", None, None),
    ("كم ثمن تذكرة القطار إلى الإسكندرية؟", None, None),
]


def seed_examples(seed_retriever: Retriever) -> list[training.Example]:
    questions = [
        EvalQuestion(str(n), q, (GoldAnswer(doc, evidence),) if doc else ())
        for n, (q, doc, evidence) in enumerate(SEED_QUESTIONS)
    ]
    return training.collect(seed_retriever, questions, "seeds", lambda q: q.answers[0].doc_id if q.answers else q.id)


def test_a_refit_is_the_same_bit_for_bit(seed_retriever: Retriever) -> None:
    examples = seed_examples(seed_retriever)
    assert any(e.hits.any() for e in examples)
    first, second = training.fit_variant(examples, semantic=False), training.fit_variant(seed_examples(seed_retriever), semantic=False)
    assert json.dumps(first.to_json()) == json.dumps(second.to_json())


def test_a_refit_model_round_trips_through_its_file(seed_retriever: Retriever, tmp_path: Path) -> None:
    models = Models(training.fit_variant(seed_examples(seed_retriever), semantic=False), fitted_on={"sets": ["seeds"]})
    models.save(tmp_path / "model.json")
    loaded = Models.load(tmp_path / "model.json")
    assert loaded.lexical.ranker.features == models.lexical.ranker.features
    assert np.allclose(loaded.lexical.ranker.coef, models.lexical.ranker.coef, atol=1e-6)
    assert loaded.semantic is None


def test_a_synonym_counts_as_holding_the_word(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_text("استقبل الزعيم الوفد في القصر صباح الأحد.\nوتناول اللقاء ملفات التعاون.\n", encoding="utf-8")
    retriever = Retriever.open(tmp_path / "isnad.db")
    retriever.sync(folder)
    found = gather_candidates(retriever.index, "متى استقبل القائد الوفد؟", RankingParams())
    assert not isinstance(found, str)
    candidates, words = found
    leader = words.index("القايد")
    row = [retriever.index.sentence_text(int(s)) for s in candidates.sentence_ids].index("استقبل الزعيم الوفد في القصر صباح الأحد.")
    assert candidates.held_related[row, leader] and not candidates.held[row, leader]
    assert candidates.word_known[leader]


def test_features_are_always_finite(seed_retriever: Retriever) -> None:
    found = gather_candidates(seed_retriever.index, "بينيت موسكو", RankingParams())
    candidates: Candidates = found[0]
    matrix = sentence_matrix(candidates, tuple(LEXICAL_FEATURES))
    assert np.isfinite(matrix).all()
    broken = Candidates(**{**candidates.__dict__, "sentence_cosine": np.full(len(candidates.sentence_ids), np.nan, np.float32)})
    assert np.isfinite(sentence_matrix(broken, tuple(LEXICAL_FEATURES))).all()
