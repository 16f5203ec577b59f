"""The encoder beside TF-IDF: its nearest sentences join the candidates, its cosines are features of the semantic
variant, which answers only when every candidate has a vector of the encoder it was fitted with; otherwise
the lexical variant does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval import Retriever
from retrieval.evaluation import training
from retrieval.evaluation.scoring import EvalQuestion, GoldAnswer
from retrieval.ranking.model import Models
from retrieval.ranking.rank import QueryVector, RankingParams, gather_candidates
from tests.doubles import HashingEncoder
from tests.retrieval.ranking.test_model import SEED_QUESTIONS


def embedded(tmp_path: Path, data_dir: Path) -> Retriever:
    retriever = Retriever.open(tmp_path / "isnad.db", encoder=HashingEncoder())
    retriever.sync(data_dir)
    retriever.embed()
    return retriever


def with_semantic_variant(retriever: Retriever) -> Models:
    """The shipped lexical variant and a semantic one fitted here on the test encoder's vectors."""
    questions = [
        EvalQuestion(str(n), q, (GoldAnswer(doc, evidence),) if doc else ()) for n, (q, doc, evidence) in enumerate(SEED_QUESTIONS)
    ]
    examples = training.collect(retriever, questions, "seeds", lambda q: q.id, semantic=True)
    semantic = training.fit_variant(examples, semantic=True)
    shipped = Models.load()
    return replace(shipped, semantic=replace(semantic, answer_threshold=0.0, closest_threshold=0.0), encoder=HashingEncoder.name)


def test_without_vectors_the_lexical_variant_answers(tmp_path: Path, data_dir: Path) -> None:
    retriever = Retriever.open(tmp_path / "isnad.db", encoder=HashingEncoder())
    retriever.sync(data_dir)  # not embedded
    retriever.models = with_semantic_variant(embedded(tmp_path / "other", data_dir))
    answer = retriever.ask("متى زار بينيت موسكو؟")
    assert answer.found and answer.model == "lexical"
    assert retriever.vector_coverage[0] == 0


def test_with_every_candidate_embedded_the_semantic_variant_answers(tmp_path: Path, data_dir: Path) -> None:
    retriever = embedded(tmp_path, data_dir)
    retriever.models = with_semantic_variant(retriever)
    answer = retriever.ask("ماذا قال بوتين عن العلاقات الروسية الإسرائيلية؟")
    assert answer.found and answer.model == "semantic"
    # A new article not embedded yet: a question whose candidates include it is answered from words.
    (data_dir / "new.txt").write_text("افتتاح متحف الخط العربي\nافتتح الوزير متحف الخط العربي في الرباط يوم الخميس.\n", encoding="utf-8")
    retriever.sync(data_dir)
    fresh = retriever.ask("أين افتتح متحف الخط العربي؟")
    assert fresh.found and fresh.model == "lexical"
    retriever.embed()
    assert retriever.ask("أين افتتح متحف الخط العربي؟").model == "semantic"


def test_vectors_of_another_encoder_than_the_model_s_answer_lexically(tmp_path: Path, data_dir: Path) -> None:
    retriever = embedded(tmp_path, data_dir)
    retriever.models = replace(with_semantic_variant(retriever), encoder="multilingual-e5-small-q4")
    assert retriever.ask("متى زار بينيت موسكو؟").model == "lexical"


def test_the_sentences_nearest_the_question_s_vector_join_the_candidates(tmp_path: Path, data_dir: Path) -> None:
    retriever = embedded(tmp_path, data_dir)
    index, dense = retriever.index, retriever._dense
    target = index.n_sentences - 1
    # A question sharing no word with the sentence, whose vector is the sentence's own: found by the encoder alone.
    query = QueryVector(dense.sentences.vectors(np.array([target]))[0], dense)
    lexical = gather_candidates(index, "zzqx wvvq", RankingParams())
    assert isinstance(lexical, str)  # no word the articles use
    found = gather_candidates(index, "zzqx wvvq", RankingParams(), query)
    assert not isinstance(found, str)
    candidates, _ = found
    row = int(np.flatnonzero(candidates.sentence_ids == target)[0])
    assert candidates.semantic.found[row] and candidates.semantic.complete
    assert candidates.semantic.sentence[row] == max(candidates.semantic.sentence)
    assert candidates.semantic.nearest == candidates.semantic.sentence[row]
