"""The retrieval commands of `isnad`: ingest, ask, eval, bench. Thin: parse, call the Retriever, print.

    isnad ingest --data data/
    isnad ask "متى زار بينيت موسكو؟"
    isnad ask --json --batch questions.jsonl
    isnad eval ../shared/eval/seed-dev.jsonl
    isnad bench --scales 1,3 --out /tmp/isnad-bench
    isnad train                       # refit retrieval/model.json on the shared question sets
    isnad wordnet                     # rederive retrieval/wordnet/awn.tsv from Arabic WordNet
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from retrieval import bench, evaluation, training, wordnet
from retrieval.answers import Answer
from retrieval.engine import Retriever
from retrieval.model import MODEL_FILE


def add_commands(commands: argparse._SubParsersAction, data_dir: Path, db_path: Path) -> None:
    """Register ingest, ask, eval and bench, their defaults taken from the settings."""
    ingest = commands.add_parser(
        "ingest",
        help="bring the database up to date with the data folder",
        description="Ingest new, changed and deleted articles incrementally. Example: isnad ingest --data data/",
    )
    ingest.add_argument("--data", type=Path, default=data_dir, help=f"article folder (default {data_dir})")
    ingest.add_argument("--db", type=Path, default=db_path, help=f"SQLite file (default {db_path})")
    ingest.set_defaults(run=run_ingest)

    ask = commands.add_parser(
        "ask",
        help="answer a question from the command line",
        description='Answer with verbatim, cited sentences. Example: isnad ask "متى زار بينيت موسكو؟"',
    )
    ask.add_argument("question", nargs="?", help="the question (omit with --batch)")
    ask.add_argument("--db", type=Path, default=db_path, help=f"SQLite file (default {db_path})")
    ask.add_argument("--top", type=int, default=3, help="how many sentences (default 3)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--batch", type=Path, help="questions file: JSONL with id and question, or plain lines")
    ask.set_defaults(run=run_ask)

    ev = commands.add_parser(
        "eval",
        help="measure retrieval on a question set",
        description="Seed-format JSONL (corpus: the data folder) or SQuAD-format JSON (corpus: its paragraphs). "
        "Example: isnad eval ../shared/eval/seed-dev.jsonl",
    )
    ev.add_argument("questions", type=Path, help="seed-dev.jsonl or xquad.ar.json")
    ev.add_argument("--data", type=Path, default=data_dir, help=f"article folder for seed format (default {data_dir})")
    ev.add_argument("--json", action="store_true", help="print the scores as JSON")
    ev.add_argument(
        "--no-gold", action="store_true",
        help="SQuAD format: ask each question of a corpus without its own paragraph (5 folds); the right reply is no answer",
    )
    ev.set_defaults(run=run_eval)

    shared = Path("../shared")
    train = commands.add_parser(
        "train",
        help="refit the ranker and the answer/no-answer model (scikit-learn) and print their cross-validated scores",
        description="Collects candidates from the question sets, cross-validates with folds by article, fits on "
        "everything and writes the model file. Example: isnad train --squad ../shared/eval/xquad.ar.json",
    )
    train.add_argument(
        "--set", nargs=2, action="append", type=Path, metavar=("QUESTIONS", "DATA"), dest="sets",
        help="a seed-format question set and its article folder (repeatable; default news-dev over news-corpus "
        "and seed-dev over the seed articles)",
    )
    train.add_argument(
        "--squad", nargs="*", type=Path, help="SQuAD-format sets (default XQuAD and ARCD train)",
        default=[shared / "eval" / "xquad.ar.json", shared / "eval" / "arcd-train.json"],
    )
    train.add_argument("--out", type=Path, default=MODEL_FILE, help=f"model file (default {MODEL_FILE})")
    train.set_defaults(
        run=run_train,
        default_sets=[
            (shared / "eval" / "news-dev.jsonl", shared / "eval" / "news-corpus"), (shared / "eval" / "seed-dev.jsonl", data_dir)
        ],
    )

    wn = commands.add_parser(
        "wordnet",
        help="rederive the shipped Arabic WordNet table from AWN's wn-data-arb.tab",
        description="Example: isnad wordnet --awn ../shared/lexicon/arabic-wordnet/wn-data-arb.tab",
    )
    wn.add_argument("--awn", type=Path, default=shared / "lexicon" / "arabic-wordnet" / "wn-data-arb.tab", help="AWN's tab file")
    wn.add_argument("--out", type=Path, default=wordnet.TABLE, help=f"table to write (default {wordnet.TABLE})")
    wn.set_defaults(run=run_wordnet)

    bench_command = commands.add_parser(
        "bench",
        help="measure ingest, index, memory and latency on a news archive, beside bm25s",
        description="Converts SaudiNewsNet's zips to a .jsonl archive in --out, ingests it at each scale (the "
        "articles repeated with distinct ids) and prints the figures of issue 4. "
        "Example: isnad bench --corpus ../shared/bench/saudinewsnet --scales 1,3 --questions 1000",
    )
    bench_command.add_argument("--corpus", type=Path, default=Path("../shared/bench/saudinewsnet"), help="folder of .zip archives")
    bench_command.add_argument("--scales", default="1,3", help="comma-separated repetitions of the corpus (default 1,3)")
    bench_command.add_argument("--questions", type=int, default=1000, help="article titles to ask, as typed (default 1000)")
    bench_command.add_argument("--dev", type=Path, default=Path("../shared/eval/seed-dev.jsonl"), help="more questions, seed format")
    bench_command.add_argument("--out", type=Path, help="work folder for the archive and databases (default: a temporary folder)")
    bench_command.add_argument("--convert-only", action="store_true", help="only write saudinewsnet-1x.jsonl into --out")
    bench_command.set_defaults(run=run_bench)


def run_ingest(args: argparse.Namespace) -> int:
    retriever = Retriever.open(args.db)
    report = retriever.sync(args.data)
    for problem in report.problems:
        print(f"skipped {problem}", file=sys.stderr)
    print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{report.unchanged} unchanged; corpus: {report.documents} articles, {report.passages} passages, "
        f"{report.sentences} sentences ({report.seconds:.2f} s)"
    )
    return 0


def run_ask(args: argparse.Namespace) -> int:
    if (args.question is None) == (args.batch is None):
        print("isnad ask: give a question or --batch FILE (not both)", file=sys.stderr)
        return 2
    if args.top < 1:
        print("isnad ask: --top must be at least 1", file=sys.stderr)
        return 2
    retriever = Retriever.open(args.db)
    if retriever.stats().documents == 0:
        print(f"isnad ask: {args.db} holds no articles yet; run `isnad ingest` first", file=sys.stderr)
    questions = read_batch(args.batch) if args.batch else iter([(None, args.question)])
    for qid, question in questions:
        answer = retriever.ask(question, top_k=args.top)
        if args.json or args.batch:
            print(json.dumps(answer_json(qid, answer), ensure_ascii=False), flush=True)
        else:
            print_answer(answer, sys.stdout)
    return 0


def read_batch(path: Path) -> Iterator[tuple[str | None, str]]:
    """(id, question) pairs from JSONL with id and question, or from plain lines (id = line number)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict) and "question" in row:
            yield str(row.get("id", number)), str(row["question"])
        else:
            yield str(number), line.strip()


def answer_json(qid: str | None, answer: Answer) -> dict:
    """The JSON contract: id, question, answers, elapsed_ms, and no_answer_reason when there are none."""
    result: dict = {
        "id": qid,
        "question": answer.question,
        "answers": [quote.to_json() for quote in answer.quotes],
        "confidence": round(answer.confidence, 4),
        "elapsed_ms": round(answer.elapsed_ms, 3),
    }
    if not answer.found:
        result["no_answer_reason"] = answer.no_answer_reason
        if answer.closest is not None:
            result["closest"] = answer.closest.to_json()
    if answer.missing:
        result["missing"] = list(answer.missing)
    return result


def print_answer(answer: Answer, out: TextIO) -> None:
    if not answer.found:
        print(f"لا توجد إجابة في المقالات ({answer.no_answer_reason}).", file=out)
        if answer.closest is not None:
            print(f"أقرب ما وُجد، وليس إجابة مؤكدة: «{answer.closest.text}»\n    — {answer.closest.title}", file=out)
        return
    for n, quote in enumerate(answer.quotes, start=1):
        print(f"[{n}] «{quote.text}»\n    — {quote.title}، الفقرة {quote.paragraph} ({quote.doc_id}, {quote.score:.2f})", file=out)
    print(f"(confidence {answer.confidence:.0%})", file=out)


def run_eval(args: argparse.Namespace) -> int:
    if args.no_gold:
        return run_eval_no_gold(args)
    with tempfile.TemporaryDirectory(prefix="isnad-eval-") as scratch:
        if evaluation.is_squad(args.questions):
            data = Path(scratch) / "articles"
            questions = evaluation.write_squad_corpus(args.questions, data)
        else:
            data = args.data
            questions = evaluation.load_seed_questions(args.questions)
        retriever = Retriever.open(Path(scratch) / "eval.db")
        retriever.sync(data)
        outcomes = evaluation.run(lambda q: retriever.ask(q, top_k=evaluation.RANKS), questions)
    if args.json:
        print(json.dumps(evaluation.score(outcomes).to_json()))
    else:
        print(evaluation.format_report(outcomes))
    return 0


def run_eval_no_gold(args: argparse.Namespace) -> int:
    """The no-gold protocol: every question asked of a corpus that lacks its own paragraph."""
    if not evaluation.is_squad(args.questions):
        print("isnad eval: --no-gold takes a SQuAD-format .json set", file=sys.stderr)
        return 2
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="isnad-eval-") as scratch:
        folds = evaluation.squad_without_own_paragraph(args.questions, Path(scratch) / "articles")
        for k, (corpus, questions) in enumerate(folds):
            retriever = Retriever.open(Path(scratch) / f"fold-{k}.db")
            retriever.sync(corpus)
            outcomes += evaluation.run(lambda q, r=retriever: r.ask(q, top_k=evaluation.RANKS), questions)
    scores = evaluation.score(outcomes)
    if args.json:
        print(json.dumps(scores.to_json()))
    else:
        print(f"no-gold protocol: {len(outcomes)} questions, each asked without its own paragraph (5 folds)")
        print(f"no answer: {scores.no_answer_accuracy:.3f}   mean quote: {scores.mean_quote_chars:.0f} chars")
    return 0


def run_train(args: argparse.Namespace) -> int:
    news = [tuple(pair) for pair in args.sets] if args.sets else args.default_sets
    missing = [str(p) for pair in news for p in pair if not p.exists()] + [str(p) for p in args.squad if not p.exists()]
    if missing:
        print(f"isnad train: not found: {', '.join(missing)}", file=sys.stderr)
        return 1
    models, report = training.train(news, args.squad, _stderr)
    models.save(args.out)
    print(f"wrote {args.out}; cross-validated ({training.FOLDS}-fold, folds by article):")
    for name, row in report.items():
        print(f"  {name:<20}" + "  ".join(f"{k} {v}" for k, v in row.items()))
    return 0


def run_wordnet(args: argparse.Namespace) -> int:
    if not args.awn.exists():
        print(f"isnad wordnet: {args.awn} not found", file=sys.stderr)
        return 1
    table = wordnet.derive_table(args.awn)
    args.out.write_text(table, encoding="utf-8")
    print(f"{len(table.splitlines()):,} lines written to {args.out}")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    try:
        scales = [int(part) for part in args.scales.split(",") if part.strip()]
    except ValueError:
        scales = []
    if not scales or min(scales) < 1:
        print("isnad bench: --scales takes positive whole numbers, e.g. 1,3", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="isnad-bench-") as scratch:
        work = args.out or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        try:
            if args.convert_only:
                target = work / bench.ARCHIVE_NAME
                print(f"{bench.convert_corpus(args.corpus, target):,} articles written to {target}")
                return 0
            for report in bench.run_bench(args.corpus, work, scales, args.questions, args.dev, _stderr):
                print("\n".join(report.lines()), flush=True)
        except FileNotFoundError as error:
            print(f"isnad bench: {error}", file=sys.stderr)
            return 1
    return 0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
