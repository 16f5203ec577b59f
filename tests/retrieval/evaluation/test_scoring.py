"""The retriever on the dev questions: fails if quality drops below what it measured when last tuned.

The shipped models were fitted on these sets (their honest, cross-validated scores are in the model
file and the README): these floors guard against regressions, they are not the scores claimed.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval import Retriever
from retrieval.evaluation import scoring as evaluation
from tests.conftest import NEWS_CORPUS, NEWS_DEV, SEED_DEV, XQUAD


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
    assert scores.paragraph1 >= 0.88
    assert scores.mean_quote_chars <= 350


def test_seed_questions_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "بلا معرف"}\n', encoding="utf-8")
    with pytest.raises(evaluation.EvaluationError):
        evaluation.load_seed_questions(bad)


@pytest.mark.skipif(not NEWS_DEV.exists(), reason="shared/eval is not beside the project")
def test_news_dev_scores(tmp_path: Path) -> None:
    retriever = Retriever.open(tmp_path / "news.db")
    retriever.sync(NEWS_CORPUS)
    outcomes = evaluation.run(lambda q: retriever.ask(q, top_k=evaluation.RANKS), evaluation.load_seed_questions(NEWS_DEV))
    scores = evaluation.score(outcomes)
    assert scores.hit1 >= 0.41
    assert scores.hit3 >= 0.54
    assert scores.false_abstain <= 0.10


# (article, paragraph, question id, question, answer): two articles of two paragraphs each.
TINY_ROWS = [
    ("نهر_النيل", "يبلغ طول نهر النيل نحو 6650 كيلومترا. وهو أطول أنهار أفريقيا.", "n1", "كم يبلغ طول نهر النيل؟", "6650 كيلومترا"),
    ("نهر_النيل", "ينبع النيل الأبيض من بحيرة فكتوريا. ويلتقي بالنيل الأزرق في الخرطوم.", "n2", "أين يلتقي النيلان؟", "الخرطوم"),
    ("القهوة", "تُزرع القهوة في اليمن منذ قرون. واشتهر ميناء المخا بتصديرها.", "c1", "أي ميناء صدّر القهوة؟", "المخا"),
    ("القهوة", "يُحمّص البن ثم يُطحن قبل تحضير القهوة العربية بالهيل.", "c2", "بماذا تُحضّر القهوة العربية؟", "بالهيل"),
]
TINY_SQUAD = {
    "data": [
        {
            "title": title,
            "paragraphs": [
                {"context": c, "qas": [{"id": i, "question": q, "answers": [{"text": a, "answer_start": c.find(a)}]}]}
                for t, c, i, q, a in TINY_ROWS
                if t == title
            ],
        }
        for title in ("نهر_النيل", "القهوة")
    ]
}


def test_no_gold_protocol_asks_each_question_without_its_own_paragraph(tmp_path: Path) -> None:
    source = tmp_path / "tiny.json"
    source.write_text(json.dumps(TINY_SQUAD, ensure_ascii=False), encoding="utf-8")
    own = {q.id: q.answers[0].doc_id for q in evaluation.write_squad_corpus(source, tmp_path / "all")}
    asked = []
    for corpus, questions in evaluation.squad_without_own_paragraph(source, tmp_path / "no-gold", folds=2):
        held = {path.stem for path in corpus.glob("*.txt")}
        assert held and len(held) == 2  # the other fold's paragraphs: the rest of each article stays
        for q in questions:
            assert own[q.id] not in held and q.answers == ()
            asked.append(q.id)
    assert sorted(asked) == ["c1", "c2", "n1", "n2"]


def test_no_gold_command_reports_the_abstention_rate(tmp_path: Path) -> None:
    source = tmp_path / "tiny.json"
    source.write_text(json.dumps(TINY_SQUAD, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "eval", str(source), "--no-gold", "--json"], capture_output=True, text=True, check=True
    )
    scores = json.loads(run.stdout)
    assert scores["unanswerable"] == 4 and scores["answerable"] == 0
    assert 0 <= scores["no_answer_accuracy"] <= 1
