"""The retriever on the dev questions: fails if quality drops below what it measured when last tuned.

The shipped models were fitted on these sets (their honest, cross-validated scores are in the model
file and the README): these floors guard against regressions, they are not the scores claimed.
"""

from pathlib import Path

import pytest

from retrieval import Retriever, evaluation
from tests.conftest import SEED_DEV, XQUAD


@pytest.mark.skipif(not SEED_DEV.exists(), reason="shared/eval is not beside the project")
def test_seed_dev_scores(seed_retriever: Retriever) -> None:
    outcomes = evaluation.run(lambda q: seed_retriever.ask(q, top_k=evaluation.RANKS), evaluation.load_seed_questions(SEED_DEV))
    scores = evaluation.score(outcomes)
    assert scores.hit1 >= 0.55
    assert scores.hit3 >= 0.76
    assert scores.false_abstain <= 0.15
    assert scores.no_answer_accuracy >= 2 / 7
    assert scores.mean_quote_chars <= 350


@pytest.mark.skipif(not XQUAD.exists(), reason="shared/eval is not beside the project")
def test_xquad_scores(tmp_path: Path) -> None:
    questions = evaluation.write_squad_corpus(XQUAD, tmp_path / "articles")
    retriever = Retriever.open(tmp_path / "x.db")
    retriever.sync(tmp_path / "articles")
    scores = evaluation.score(evaluation.run(lambda q: retriever.ask(q, top_k=evaluation.RANKS), questions))
    assert scores.hit1 >= 0.70
    assert scores.paragraph1 >= 0.89
    assert scores.mean_quote_chars <= 350


def test_seed_questions_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "بلا معرف"}\n', encoding="utf-8")
    with pytest.raises(evaluation.EvaluationError):
        evaluation.load_seed_questions(bad)
