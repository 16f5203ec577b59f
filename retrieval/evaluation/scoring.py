"""Measuring the retriever: hit@1, hit@3, MRR, abstention, paragraph@1, quote length, per type and style.

Two formats: seed-format JSONL (`{"id", "question", "type", "style", "answers": [{"doc", "evidence"}]}`,
corpus = a data folder; a hit is a returned sentence of the gold article holding the evidence) and
SQuAD-format JSON (corpus = its paragraphs, one article a file, title first; a hit is a returned
sentence of the question's paragraph holding an answer text).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from retrieval.answers import Answer, Quote
from retrieval.errors import RetrievalError
from retrieval.question.conversation import Context, Turn, is_follow_up

RANKS = 10  # answers looked at for MRR


class EvaluationError(RetrievalError):
    """The questions file is not in a format evaluation knows."""


@dataclass(frozen=True)
class GoldAnswer:
    doc_id: str
    text: str  # the evidence (seeds) or answer span (SQuAD) a hit must contain


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[GoldAnswer, ...]
    type: str = "-"
    style: str = "-"


@dataclass
class Outcome:
    question: EvalQuestion
    rank: int | None  # 1-based rank of the first hit among returned sentences
    answered: bool
    top_doc: str | None
    top_text: str | None
    quote_lengths: list[int] = field(default_factory=list)


def is_hit(quote: Quote, gold: Iterable[GoldAnswer]) -> bool:
    return any(quote.doc_id == g.doc_id and g.text in quote.text for g in gold)


def load_seed_questions(path: Path) -> list[EvalQuestion]:
    def question(row: dict) -> EvalQuestion:
        return EvalQuestion(str(row["id"]), row["question"], gold_answers(row), row.get("type", "-"), row.get("style", "-"))

    return parse_lines(path, "a seed-format question", question)


def gold_answers(row: dict) -> tuple[GoldAnswer, ...]:
    return tuple(GoldAnswer(a["doc"], a["evidence"]) for a in row.get("answers", []))


T = TypeVar("T")


def parse_lines(path: Path, what: str, parse: Callable[[dict], T]) -> list[T]:
    """Each non-blank JSON line of ``path`` parsed; EvaluationError naming the line when one is not ``what``."""
    parsed = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.append(parse(json.loads(line)))
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise EvaluationError(f"{path}:{number}: not {what} ({error})") from error
    return parsed


def load_squad(path: Path) -> list[dict]:
    """A SQuAD-format set's articles (``data``); EvaluationError if it is not one."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))["data"]
    except (KeyError, json.JSONDecodeError) as error:
        raise EvaluationError(f"{path}: not a SQuAD-format dataset ({error})") from error


def write_squad_corpus(path: Path, folder: Path) -> list[EvalQuestion]:
    """Write each SQuAD paragraph as an article (title line first) into ``folder``; return its questions."""
    dataset = load_squad(path)
    folder.mkdir(parents=True, exist_ok=True)
    questions = []
    for a_number, article in enumerate(dataset):
        title = article.get("title", "").replace("_", " ")
        for p_number, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{a_number:03d}_{p_number:02d}"
            (folder / f"{doc_id}.txt").write_text(f"{title}\n{paragraph['context'].strip()}\n", encoding="utf-8")
            for qa in paragraph["qas"]:
                gold = tuple(GoldAnswer(doc_id, a["text"].strip()) for a in qa["answers"])
                questions.append(EvalQuestion(qa["id"], qa["question"], gold))
    return questions


def squad_without_own_paragraph(path: Path, folder: Path, folds: int = 5) -> Iterator[tuple[Path, list[EvalQuestion]]]:
    """The no-gold protocol: the paragraphs dealt into ``folds`` folds; for each, a corpus of every other
    paragraph (the rest of each article stays) and the fold's questions, whose right reply is "no answer"."""
    everything = folder / "all"
    questions = write_squad_corpus(path, everything)
    papers = sorted(everything.glob("*.txt"))
    fold_of = {paper.stem: n % folds for n, paper in enumerate(papers)}
    for k in range(folds):
        corpus = folder / f"fold-{k}"
        corpus.mkdir(parents=True, exist_ok=True)
        for paper in papers:
            if fold_of[paper.stem] != k:
                (corpus / paper.name).write_bytes(paper.read_bytes())
        asked = [EvalQuestion(q.id, q.question, ()) for q in questions if fold_of[q.answers[0].doc_id] == k]
        yield corpus, asked


def is_squad(path: Path) -> bool:
    return path.suffix.lower() == ".json"


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[EvalQuestion, ...]


def is_conversations(path: Path) -> bool:
    """A conversation file: JSONL whose lines hold ``turns``."""
    if path.suffix.lower() != ".jsonl":
        return False
    with path.open(encoding="utf-8") as handle:
        first = next((line for line in handle if line.strip()), "")
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(row, dict) and "turns" in row


def load_conversations(path: Path) -> list[Conversation]:
    """``{"id", "turns": [{"question", "answers": [{"doc", "evidence"}]}, …]}`` a line; a turn's id is ``<id>#<n>``,
    its type ``first`` or ``follow-up``."""

    def conversation(row: dict) -> Conversation:
        turns = tuple(
            EvalQuestion(f"{row['id']}#{n}", turn["question"], gold_answers(turn), "first" if n == 1 else "follow-up")
            for n, turn in enumerate(row["turns"], start=1)
        )
        return Conversation(str(row["id"]), turns)

    return parse_lines(path, "a conversation", conversation)


def run_conversations(ask: Callable[[str, Context | None], Answer], conversations: list[Conversation]) -> list[Outcome]:
    """Each conversation's turns in order, as a chat asks them: a follow-up (``is_follow_up``) with the
    context of the turn before it, anything else alone."""
    outcomes = []
    for conversation in conversations:
        previous: Turn | None = None
        for q in conversation.turns:
            context = previous.context if previous is not None and is_follow_up(q.question) else None
            answer = ask(q.question, context)
            outcomes.append(_outcome(q, answer))
            previous = Turn.of(q.question, answer, context)
    return outcomes


def run(ask: Callable[[str], Answer], questions: list[EvalQuestion]) -> list[Outcome]:
    return [_outcome(q, ask(q.question)) for q in questions]


def _outcome(q: EvalQuestion, answer: Answer) -> Outcome:
    rank = next((i for i, quote in enumerate(answer.quotes, start=1) if is_hit(quote, q.answers)), None)
    top = answer.quotes[0] if answer.quotes else None
    return Outcome(q, rank, answer.found, top.doc_id if top else None, top.text if top else None, [len(x.text) for x in answer.quotes[:3]])


@dataclass(frozen=True)
class Scores:
    answerable: int
    unanswerable: int
    hit1: float
    hit3: float
    mrr: float
    false_abstain: float
    no_answer_accuracy: float | None
    paragraph1: float
    mean_quote_chars: float

    def to_json(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def score(outcomes: list[Outcome]) -> Scores:
    answerable = [o for o in outcomes if o.question.answers]
    unanswerable = [o for o in outcomes if not o.question.answers]
    n = max(len(answerable), 1)
    lengths = [x for o in outcomes for x in o.quote_lengths]
    return Scores(
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        hit1=sum(o.rank == 1 for o in answerable) / n,
        hit3=sum(o.rank is not None and o.rank <= 3 for o in answerable) / n,
        mrr=sum(1 / o.rank for o in answerable if o.rank) / n,
        false_abstain=sum(not o.answered for o in answerable) / n,
        no_answer_accuracy=(sum(not o.answered for o in unanswerable) / len(unanswerable)) if unanswerable else None,
        paragraph1=sum(o.top_doc in {g.doc_id for g in o.question.answers} for o in answerable) / n,
        mean_quote_chars=statistics.fmean(lengths) if lengths else 0.0,
    )


def breakdown(outcomes: list[Outcome], key: Callable[[EvalQuestion], str]) -> dict[str, Scores]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[key(o.question)].append(o)
    return {name: score(group) for name, group in sorted(groups.items())}


def format_report(outcomes: list[Outcome], misses: int = 30) -> str:
    """The scores, the breakdown by type and style, and the misses, as text for a terminal."""
    total = score(outcomes)
    lines = [
        f"questions: {len(outcomes)} ({total.answerable} answerable, {total.unanswerable} without answer)",
        "",
        f"{'group':<22}{'n':>5}{'hit@1':>8}{'hit@3':>8}{'MRR':>7}{'abst.':>7}{'no-ans':>8}{'para@1':>8}",
    ]

    def row(name: str, s: Scores) -> str:
        no_answer = f"{s.no_answer_accuracy:.2f}" if s.no_answer_accuracy is not None else "-"
        return (
            f"{name:<22}{s.answerable + s.unanswerable:>5}{s.hit1:>8.2f}{s.hit3:>8.2f}{s.mrr:>7.2f}"
            f"{s.false_abstain:>7.2f}{no_answer:>8}{s.paragraph1:>8.2f}"
        )

    for label, key in (("type", lambda q: q.type), ("style", lambda q: q.style)):
        groups = breakdown(outcomes, key)
        if len(groups) > 1:
            lines += [row(f"{label}={name}", s) for name, s in groups.items()]
    missed = [o for o in outcomes if (o.question.answers and o.rank != 1) or (not o.question.answers and o.answered)]
    if missed:
        lines += ["", f"misses ({len(missed)}; showing {min(misses, len(missed))}):"]
        for o in missed[:misses]:
            got = "no answer" if not o.answered else f"rank {o.rank or '>'} | top {o.top_doc}: {(o.top_text or '')[:90]}"
            lines.append(f"  {o.question.id} [{o.question.type}/{o.question.style}] {o.question.question} -> {got}")
    lines += [
        "",
        f"mean quote: {total.mean_quote_chars:.0f} chars",
        f"false abstain: {total.false_abstain:.2f}   no-answer accuracy: "
        + (f"{total.no_answer_accuracy:.2f}" if total.no_answer_accuracy is not None else "-")
        + f"   paragraph@1: {total.paragraph1:.2f}",
        f"hit@1: {total.hit1:.3f}   hit@3: {total.hit3:.3f}   MRR: {total.mrr:.3f}   (answerable: {total.answerable})",
    ]
    return "\n".join(lines)
