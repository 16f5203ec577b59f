"""The retrieval commands of `isnad`: ingest, embed, ask, eval, bench. Thin: parse, call the Retriever, print.

    isnad ingest --data data/
    isnad embed                       # embed every sentence still without a vector (resumable)
    isnad ask "متى زار بينيت موسكو؟"
    isnad ask --json --batch questions.jsonl
    isnad eval ../shared/eval/seed-dev.jsonl
    isnad bench --scales 1,3 --out /tmp/isnad-bench
    isnad train                       # refit retrieval/ranking/model.json on the shared question sets
    isnad wordnet                     # rederive retrieval/text/wordnet/awn.tsv from Arabic WordNet
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from retrieval.answers import Answer
from retrieval.engine import Retriever
from retrieval.evaluation import bench, training
from retrieval.evaluation import scoring as evaluation
from retrieval.question.conversation import Turn, is_follow_up
from retrieval.ranking.model import MODEL_FILE
from retrieval.semantic.encoder import load_encoder
from retrieval.semantic.vectors import EmbedReport
from retrieval.semantic.worker import FOREGROUND_TEXTS
from retrieval.text import wordnet

# `isnad ingest` embeds for at most this long, then says what is left for `isnad embed` or the bot's worker.
INGEST_EMBED_SECONDS = 60.0


def add_commands(commands: argparse._SubParsersAction, data_dir: Path, db_path: Path, encoder: str = "e5") -> None:
    """Register ingest, embed, ask, eval and bench, their defaults taken from the settings."""
    ingest = commands.add_parser(
        "ingest",
        help="bring the database up to date with the data folder",
        description="Ingest new, changed and deleted articles incrementally. Example: isnad ingest --data data/",
    )
    ingest.add_argument("--data", type=Path, default=data_dir, help=f"article folder (default {data_dir})")
    ingest.add_argument("--db", type=Path, default=db_path, help=f"SQLite file (default {db_path})")
    ingest.add_argument("--encoder", choices=("e5", "none"), default=encoder, help=f"sentence encoder (default {encoder})")
    ingest.set_defaults(run=run_ingest)

    embed = commands.add_parser(
        "embed",
        help="embed every sentence that has no vector yet, with a progress bar (resumable)",
        description="Embeds the corpus's sentences and titles with the sentence encoder, a batch at a time, each batch "
        "stored before the next: interrupted (even by kill -9), it loses at most one batch and resumes where it "
        "stopped. Example: isnad embed --db isnad.db",
    )
    embed.add_argument("--db", type=Path, default=db_path, help=f"SQLite file (default {db_path})")
    embed.add_argument("--seconds", type=float, help="stop after this long (default: when everything has a vector)")
    embed.set_defaults(run=run_embed)

    ask = commands.add_parser(
        "ask",
        help="answer a question from the command line",
        description='Answer with verbatim, cited sentences. Example: isnad ask "متى زار بينيت موسكو؟"',
    )
    ask.add_argument("question", nargs="?", help="the question (omit with --batch)")
    ask.add_argument("--db", type=Path, default=db_path, help=f"SQLite file (default {db_path})")
    ask.add_argument("--top", type=int, default=3, help="how many sentences (default 3)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument(
        "--batch", type=Path,
        help='questions file: JSONL with id and question (and "chat": lines of one chat are a conversation, in order), or plain lines',
    )
    ask.add_argument("--encoder", choices=("e5", "none"), default=encoder, help=f"sentence encoder (default {encoder})")
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
    ev.add_argument("--encoder", choices=("e5", "none"), default=encoder, help=f"sentence encoder (default {encoder})")
    ev.add_argument("--db", type=Path, help="keep the corpus database (and its vectors) here, to reuse them next time")
    ev.add_argument("--embed", action="store_true", help=f"embed every sentence first (without it: at most {FOREGROUND_TEXTS})")
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
    train.add_argument(
        "--translations", nargs="*", type=Path, default=[shared / "eval" / "xquad.en.json"],
        help="a --squad set's questions in another language, same ids (default XQuAD English): the crosslingual variant",
    )
    train.add_argument("--out", type=Path, default=MODEL_FILE, help=f"model file (default {MODEL_FILE})")
    train.add_argument(
        "--work", type=Path, default=Path(".isnad-train"),
        help="folder for the sets' corpus databases and their vectors, reused by the next run (default .isnad-train)",
    )
    train.add_argument("--encoder", choices=("e5", "none"), default=encoder, help="none: fit the lexical variant only")
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

    semantic = commands.add_parser(
        "bench-semantic",
        help="answer latency and memory on an embedded corpus, with the encoder and without, and embedding throughput",
        description="Asks a question set of a database whose sentences have vectors (run `isnad embed` first), each run "
        "in a fresh process. Example: isnad bench-semantic --db news.db --questions ../shared/eval/news-dev.jsonl",
    )
    semantic.add_argument("--db", type=Path, required=True, help="an embedded corpus database")
    semantic.add_argument("--questions", type=Path, required=True, help="seed-format questions (their text is asked)")
    semantic.add_argument("--repeat", type=int, default=3, help="ask the set this many times (default 3)")
    semantic.add_argument("--sample", type=int, default=256, help="sentences to embed for the throughput (default 256)")
    semantic.set_defaults(run=run_bench_semantic)


def run_ingest(args: argparse.Namespace) -> int:
    retriever = Retriever.open(args.db, encoder=load_encoder(args.encoder))
    report = retriever.sync(args.data)
    for problem in report.problems:
        print(f"skipped {problem}", file=sys.stderr)
    print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{report.unchanged} unchanged; corpus: {report.documents} articles, {report.passages} passages, "
        f"{report.sentences} sentences ({report.seconds:.2f} s)"
    )
    if retriever.encoder is not None:
        embedded = retriever.embed(seconds=INGEST_EMBED_SECONDS)
        print(describe_embedding(embedded))
        if embedded.remaining:
            print(f"{embedded.remaining:,} texts still have no vector: `isnad embed --db {args.db}` embeds them "
                  "(or the bot's worker will); questions are answered from words meanwhile")
    return 0


def run_embed(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    encoder = load_encoder("e5")
    if encoder is None:
        print("isnad embed: no sentence encoder can run here (see the log line above); answers use words only", file=sys.stderr)
        return 1
    retriever = Retriever.open(args.db, encoder=encoder)
    have, total = retriever.vector_coverage
    with tqdm(total=total - have, unit="text", desc="embedding", file=sys.stderr) as bar:

        def advance(done: int, todo: int) -> None:
            bar.total = todo
            bar.update(done - bar.n)

        report = retriever.embed(seconds=args.seconds, progress=advance)
    print(describe_embedding(report))
    return 0


def describe_embedding(report: EmbedReport) -> str:
    done = report.total - report.remaining
    share = done / report.total if report.total else 1.0
    return (
        f"vectors: {done:,} of {report.total:,} texts ({share:.0%}); embedded {report.embedded:,} now"
        + (f" in {report.seconds:.1f} s ({report.rate:.1f}/s)" if report.embedded else "")
    )


def run_ask(args: argparse.Namespace) -> int:
    if (args.question is None) == (args.batch is None):
        print("isnad ask: give a question or --batch FILE (not both)", file=sys.stderr)
        return 2
    if args.top < 1:
        print("isnad ask: --top must be at least 1", file=sys.stderr)
        return 2
    retriever = Retriever.open(args.db, encoder=load_encoder(args.encoder))
    if retriever.stats().documents == 0:
        print(f"isnad ask: {args.db} holds no articles yet; run `isnad ingest` first", file=sys.stderr)
    questions = read_batch(args.batch) if args.batch else iter([(None, args.question, None)])
    chats: dict[str, Turn] = {}  # each chat's last turn: a follow-up leans on it
    for qid, question, chat in questions:
        previous = chats.get(chat) if chat is not None else None
        context = previous.context if previous is not None and is_follow_up(question) else None
        answer = retriever.ask(question, top_k=args.top, context=context)
        if chat is not None:
            chats[chat] = Turn.of(question, answer, context)
        if args.json or args.batch:
            print(json.dumps(answer_json(qid, answer, retriever.vector_coverage), ensure_ascii=False), flush=True)
        else:
            print_answer(answer, sys.stdout)
    return 0


def read_batch(path: Path) -> Iterator[tuple[str | None, str, str | None]]:
    """(id, question, chat) from JSONL with id, question and optionally chat, or from plain lines (id = line
    number, no chat)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict) and "question" in row:
            chat = row.get("chat")
            yield str(row.get("id", number)), str(row["question"]), None if chat is None else str(chat)
        else:
            yield str(number), line.strip(), None


def answer_json(qid: str | None, answer: Answer, coverage: tuple[int, int] = (0, 0)) -> dict:
    """The JSON contract: id, question, answers, confidence, the model that answered, the corpus's vector coverage,
    elapsed_ms, and no_answer_reason when there are none."""
    have, total = coverage
    result: dict = {
        "id": qid,
        "question": answer.question,
        "answers": [quote.to_json() for quote in answer.quotes],
        "confidence": round(answer.confidence, 4),
        "model": answer.model,
        "language": answer.language,
        "vectors": {"embedded": have, "texts": total},
        "elapsed_ms": round(answer.elapsed_ms, 3),
    }
    if not answer.found:
        result["no_answer_reason"] = answer.no_answer_reason
        if answer.about:
            result["about"] = list(answer.about)
        if answer.closest is not None:
            result["closest"] = answer.closest.to_json()
    if answer.missing:
        result["missing"] = list(answer.missing)
    if answer.reading:
        result["reading"] = answer.reading
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
        conversations = evaluation.is_conversations(args.questions)
        data, questions = args.data, []
        if evaluation.is_squad(args.questions):
            data = Path(scratch) / "articles"
            questions = evaluation.write_squad_corpus(args.questions, data)
        elif not conversations:
            questions = evaluation.load_seed_questions(args.questions)
        retriever = Retriever.open(args.db or Path(scratch) / "eval.db", encoder=load_encoder(args.encoder))
        retriever.sync(data)
        have, total = retriever.vector_coverage
        if total - have <= FOREGROUND_TEXTS or args.embed:
            embedded = retriever.embed()
            if embedded.total:
                print(describe_embedding(embedded), file=sys.stderr)
        else:
            print(f"{total - have:,} texts have no vector: questions whose candidates lack one are answered from words "
                  "(--embed, or --db with an embedded corpus, for the encoder everywhere)", file=sys.stderr)
        if conversations:  # each conversation's turns in order, a follow-up with the turn before it
            chats = evaluation.load_conversations(args.questions)
            outcomes = evaluation.run_conversations(lambda q, context: retriever.ask(q, top_k=evaluation.RANKS, context=context), chats)
        else:
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
    wanted = [p for pair in news for p in pair] + [*args.squad, *args.translations]
    missing = [str(p) for p in wanted if not p.exists()]
    if missing:
        print(f"isnad train: not found: {', '.join(missing)}", file=sys.stderr)
        return 1
    models, report = training.train(news, args.squad, args.work, load_encoder(args.encoder), _stderr, args.translations)
    models.save(args.out)
    print(f"wrote {args.out}; cross-validated ({training.FOLDS}-fold, folds by article):")
    for variant, rows in report.items():
        print(variant)
        for name, row in rows.items():
            print(f"  {name:<34}" + "  ".join(f"{k} {v}" for k, v in row.items()))
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


def run_bench_semantic(args: argparse.Namespace) -> int:
    if not args.db.exists() or not args.questions.exists():
        print(f"isnad bench-semantic: {args.db if not args.db.exists() else args.questions} not found", file=sys.stderr)
        return 1
    questions = [q.question for q in evaluation.load_seed_questions(args.questions)] * max(args.repeat, 1)
    with tempfile.TemporaryDirectory(prefix="isnad-bench-") as scratch:
        for line in bench.semantic_bench(args.db, questions, Path(scratch), args.sample, _stderr):
            print(line, flush=True)
    return 0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
