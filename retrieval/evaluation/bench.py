"""`isnad bench`: ingest, index, memory and answer latency on a real news archive, beside bm25s.

The archive (SaudiNewsNet: dated zips, each one JSON array of articles) is converted once to a `.jsonl`
archive outside the repository. At scale k the data folder holds k hard links to it under different
names, so every article is there k times with distinct ids (`<file stem>:<line>`). Every measurement
that concerns a process (build, restart, serving, bm25s) runs in a fresh interpreter
(`python -m retrieval.evaluation.bench ROLE …`) that reports one JSON line, so peak RSS is that process's own.

    isnad bench --corpus ../shared/bench/saudinewsnet --scales 1,3 --questions 1000
    isnad bench --convert-only --out /tmp/isnad-bench
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ARCHIVE_NAME = "saudinewsnet-1x.jsonl"
ADDED_NAME = "added-10.jsonl"
Progress = Callable[[str], None]


# -- the corpus ----------------------------------------------------------------------------------------------
def iter_zip_articles(corpus_dir: Path) -> Iterator[dict]:
    """The articles of every `*.zip` in the folder (each holds JSON arrays of articles), in file order."""
    zips = sorted(Path(corpus_dir).glob("*.zip"))
    if not zips:
        raise FileNotFoundError(f"no .zip archives in {corpus_dir}")
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                if name.endswith(".json"):
                    yield from json.loads(archive.read(name))


def convert_corpus(corpus_dir: Path, target: Path) -> int:
    """Write the zips' articles to ``target`` as isnad `.jsonl` (title, content, url, date, source); returns the count.

    `date_extracted` becomes `date`; `author` is dropped (isnad cites title, source, url and date).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(target, "w", encoding="utf-8") as out:
        for article in iter_zip_articles(corpus_dir):
            record = {
                "title": article.get("title") or "",
                "content": article.get("content") or "",
                "url": article.get("url"),
                "date": article.get("date_extracted"),
                "source": article.get("source"),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def scale_folder(archive: Path, folder: Path, scale: int) -> Path:
    """A data folder with ``scale`` copies of the archive (hard links when possible): copy1.jsonl … copyN.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    for copy in range(1, scale + 1):
        target = folder / f"{archive.stem}-copy{copy}.jsonl"
        if not target.exists():
            try:
                os.link(archive, target)
            except OSError:
                target.write_bytes(archive.read_bytes())
    return folder


_PUNCTUATION = re.compile(r"[^\w\s]+")


def reader_questions(archive: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` article titles as a reader would type them: no punctuation, every other one missing a word or two."""
    titles = []
    with open(archive, encoding="utf-8") as lines:
        for line in lines:
            words = _PUNCTUATION.sub(" ", json.loads(line)["title"]).split()
            if len(words) >= 3:
                titles.append(words)
    rng = random.Random(seed)
    questions = []
    for n, words in enumerate(rng.sample(titles, min(count, len(titles)))):
        kept = list(words)
        for _ in range(n % 3 if len(kept) > 4 else 0):
            del kept[rng.randrange(len(kept))]
        questions.append(" ".join(kept))
    return questions


def dev_questions(path: Path) -> list[str]:
    """The questions of a seed-format JSONL file (empty when it does not exist)."""
    if not path.is_file():
        return []
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- measurements ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Latency:
    """Answer latency in milliseconds over ``count`` questions."""

    count: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples_ms: list[float]) -> Latency:
        values = np.asarray(samples_ms, dtype=np.float64)
        return cls(len(values), float(np.median(values)), float(np.percentile(values, 99)), float(values.max()))

    def __str__(self) -> str:
        return f"p50 {self.p50:.2f} ms, p99 {self.p99:.2f} ms, max {self.max:.2f} ms over {self.count:,} questions"


@dataclass(frozen=True)
class Vectored:
    """The corpus with a stand-in vector (``StandInEncoder``: e5's shape, no meaning) for every sentence and
    title, served: what vectors add to memory and answer time at a scale where embedding takes hours."""

    texts: int
    store_s: float  # drawing and storing them all (what e5 would take hours for)
    db_bytes: int  # what they added to the database
    serve_rss: int
    serve_anon: int
    isnad: Latency
    isnad_best: Latency

    def lines(self) -> list[str]:
        mib = 1 << 20
        return [
            f"with vectors      {self.texts:,} texts with a stand-in vector (e5's 384 dimensions, int8): "
            f"+{self.db_bytes / mib:,.0f} MiB in the database, stored in {self.store_s:.1f} s",
            f"  serving peak RSS {self.serve_rss / mib:6,.0f} MiB  ({self.serve_anon / mib:,.0f} MiB anonymous)",
            f"  isnad ask       {self.isnad}  (a fresh process; the question's own encoding, ~9 ms by e5 once "
            "a question, not included)",
            f"  best of 3       {self.isnad_best}",
        ]


@dataclass(frozen=True)
class ScaleReport:
    scale: int
    articles: int
    passages: int
    sentences: int
    ingest_s: float
    index_s: float
    build_rss: int  # bytes, peak of the ingest-and-index process
    db_bytes: int
    index_bytes: int
    startup_s: float
    serve_rss: int  # bytes, peak of a process that opened the retriever and answered every question
    serve_anon: int  # bytes of it not backed by the index's files (Python objects, arrays in memory) at the end
    isnad: Latency
    isnad_again: Latency  # the same questions asked again by that process: the index pages they read are mapped
    isnad_best: Latency  # each question's fastest of three later asks: what the code costs between a machine's stalls
    alone: Latency  # «ومتى حدث ذلك؟» asked alone after each of the first questions …
    follow_up: Latency  # … and as a follow-up of it (context found, read, answered, remembered)
    bm25_index_s: float
    bm25: Latency
    sync_10_s: float | None  # seconds to sync 10 added articles; measured at 1× only
    analyzers: int = 0  # processes that analyzed the build's tokens beside it (none for a small corpus)
    analyzer_rss: int = 0  # bytes, peak of the largest of them
    vectors: Vectored | None = None  # the same corpus served with a vector for every text

    def _analyzers(self) -> str:
        if not self.analyzers:
            return ""
        mib = 1 << 20
        total = (self.build_rss + self.analyzers * self.analyzer_rss) / mib
        return f" + {self.analyzers} analyzing processes of at most {self.analyzer_rss / mib:,.0f} MiB: at most {total:,.0f} MiB in all"

    def lines(self) -> list[str]:
        mib = 1 << 20
        per_million = self.serve_rss / mib / (self.sentences / 1e6) if self.sentences else 0.0
        lines = [
            f"== {self.scale}×: {self.articles:,} articles, {self.passages:,} passages, {self.sentences:,} sentences",
            f"ingest            {self.ingest_s:7.1f} s  ({self.articles / self.ingest_s:,.0f} articles/s)",
            f"index build       {self.index_s:7.1f} s  (ingest + index {self.ingest_s + self.index_s:.1f} s; "
            f"peak RSS {self.build_rss / mib:,.0f} MiB{self._analyzers()})",
            f"on disk           database {self.db_bytes / mib:,.0f} MiB, index {self.index_bytes / mib:,.0f} MiB",
            f"serving peak RSS  {self.serve_rss / mib:7,.0f} MiB  ({per_million:,.0f} MiB per million sentences; "
            f"{self.serve_anon / mib:,.0f} MiB anonymous, the rest index pages mapped from disk)",
            f"restart → answer  {self.startup_s:7.2f} s  (process start, imports, Retriever.open on the saved index, first ask)",
            f"isnad ask         {self.isnad}  (a fresh process)",
            f"  asked again     {self.isnad_again}  (its pages mapped: a process that has served a while)",
            f"  best of 3       {self.isnad_best}  (each question's fastest of three later asks: a busy machine's "
            "stalls seldom hit all three)",
            f"a follow-up       alone {self.alone}",
            f"                  in its conversation {self.follow_up} (p99 +{self.follow_up.p99 - self.alone.p99:.2f} ms)",
            f"bm25s index       {self.bm25_index_s:7.1f} s  (tokenize + stem + BM25.index, same sentences)",
            f"bm25s retrieve    {self.bm25}  (k=5)",
            f"isnad / bm25s     p50 {self.isnad.p50 / self.bm25.p50:.2f}×, p99 {self.isnad.p99 / self.bm25.p99:.2f}×, "
            f"max {self.isnad.max / self.bm25.max:.2f}×",
        ]
        if self.sync_10_s is not None:
            lines.append(f"sync +10 articles {self.sync_10_s:7.2f} s  (Retriever.sync after adding {ADDED_NAME})")
        if self.vectors is not None:
            lines.extend(self.vectors.lines())
        return lines


def folder_bytes(*paths: Path) -> int:
    """Bytes on disk of files and folders (recursively); missing paths count zero."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total


def run_child(role: str, *args: str) -> dict:
    """Run ``python -m retrieval.evaluation.bench ROLE ARGS…`` in a fresh interpreter; its last stdout line, as JSON.

    ``spawned`` is the wall-clock time just before the process was started.
    """
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "retrieval.evaluation.bench", role, *args], stdout=subprocess.PIPE, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["spawned"] = spawned
    return result


def bench_scale(archive: Path, work: Path, scale: int, questions_file: Path, progress: Progress) -> ScaleReport:
    """Ingest and index ``scale`` copies of the archive, then measure restart, serving and bm25s on it."""
    data = scale_folder(archive, work / f"data-{scale}x", scale)
    db = work / f"isnad-{scale}x.db"
    progress(f"{scale}×: ingesting and indexing {data}")
    built = run_child("build", str(db), str(data))
    progress(f"{scale}×: restart to first answer")
    started = run_child("startup", str(db), str(questions_file))
    progress(f"{scale}×: serving the questions")
    served = run_child("serve", str(db), str(questions_file))
    progress(f"{scale}×: bm25s on the same sentences and questions")
    bm25 = run_child("bm25", str(db), str(questions_file))
    sync_10_s = None
    if scale == 1:
        progress("1×: adding 10 articles and syncing")
        sync_10_s = run_child("sync10", str(db), str(data), str(archive))["sync_s"]
    index_dir = db.with_name(db.name + ".index")
    db_files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    db_bytes = folder_bytes(*db_files)
    progress(f"{scale}×: a stand-in vector for every text, then serving the questions with them")
    stored = run_child("vectors", str(db))
    vectored = run_child("serve", str(db), str(questions_file), "stand-in")
    vectors = Vectored(
        texts=stored["texts"], store_s=stored["seconds"], db_bytes=folder_bytes(*db_files) - db_bytes,
        serve_rss=vectored["rss"], serve_anon=vectored["anon"], isnad=Latency.of(vectored["ms"]),
        isnad_best=Latency.of(np.asarray(vectored["again_ms"]).reshape(AGAIN, -1).min(axis=0).tolist()),
    )
    return ScaleReport(
        scale=scale,
        articles=built["articles"],
        passages=built["passages"],
        sentences=built["sentences"],
        ingest_s=built["ingest_s"],
        index_s=built["index_s"],
        build_rss=built["rss"],
        db_bytes=db_bytes,
        index_bytes=folder_bytes(index_dir),
        startup_s=started["answered"] - started["spawned"],
        serve_rss=served["rss"],
        serve_anon=served["anon"],
        isnad=Latency.of(served["ms"]),
        isnad_again=Latency.of(served["again_ms"][: len(served["ms"])]),
        isnad_best=Latency.of(np.asarray(served["again_ms"]).reshape(AGAIN, -1).min(axis=0).tolist()),
        alone=Latency.of(served["alone_ms"]),
        follow_up=Latency.of(served["follow_up_ms"]),
        bm25_index_s=bm25["index_s"],
        bm25=Latency.of(bm25["ms"]),
        sync_10_s=sync_10_s,
        analyzers=built["analyzers"],
        analyzer_rss=built["analyzer_rss"],
        vectors=vectors,
    )


def run_bench(
    corpus_dir: Path, work: Path, scales: list[int], n_questions: int, dev_path: Path, progress: Progress
) -> Iterator[ScaleReport]:
    """Convert the corpus into ``work`` (once), then bench each scale in a fresh database; each report when done."""
    archive = work / ARCHIVE_NAME
    if not archive.exists():
        started = time.perf_counter()
        count = convert_corpus(corpus_dir, archive)
        progress(f"converted {count:,} articles to {archive} in {time.perf_counter() - started:.1f} s")
    questions = reader_questions(archive, n_questions) + dev_questions(dev_path)
    questions_file = work / "questions.json"
    questions_file.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    progress(f"{len(questions):,} questions ({n_questions:,} titles as typed, the rest from {dev_path.name})")
    for scale in scales:
        for stale in work.glob(f"isnad-{scale}x.db*"):
            _remove(stale)
        _remove(work / f"data-{scale}x")
        yield bench_scale(archive, work, scale, questions_file, progress)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


# -- the measuring processes ------------------------------------------------------------------------------------
def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _anonymous_rss() -> int:
    """Resident bytes not backed by a file: what the kernel cannot drop and read again from the index."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _child_build(db: str, data: str) -> dict:
    from retrieval.corpus.store import Store
    from retrieval.engine import load_or_build
    from retrieval.lexical.index import IndexParams
    from retrieval.lexical.terms import TermCounter

    store = Store(Path(db))
    started = time.perf_counter()
    report = store.ingest(Path(data), progress=_stderr)
    ingested = time.perf_counter()
    _stderr(f"  ingested {report.documents:,} articles in {ingested - started:.1f} s; building the index")
    load_or_build(store, IndexParams(), lambda message: _stderr(f"  {message}"))  # the build says its own time
    indexed = time.perf_counter()
    store.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "articles": report.documents, "passages": report.passages, "sentences": report.sentences,
        "ingest_s": ingested - started, "index_s": indexed - ingested, "rss": _peak_rss(),
        # the analyzing processes, ended and waited for by now; as many as TermCounter starts by default
        "analyzer_rss": children, "analyzers": TermCounter(None).workers if children else 0,
    }


def _child_startup(db: str, questions: str) -> dict:
    with contextlib.suppress(ImportError):  # `isnad bot` imports python-telegram-bot before it opens the retriever
        import telegram.ext  # noqa: F401
    from retrieval.engine import Retriever

    retriever = Retriever.open(Path(db))
    retriever.ask(json.loads(Path(questions).read_text(encoding="utf-8"))[0])
    return {"answered": time.time()}


def _child_serve(db: str, questions: str, encoder: str = "none") -> dict:
    from retrieval.engine import Retriever
    from retrieval.question.conversation import Turn, is_follow_up
    from retrieval.semantic.encoder import load_encoder

    retriever = Retriever.open(Path(db), encoder=load_encoder(encoder))
    samples = []
    models: dict[str, int] = {}
    asked = json.loads(Path(questions).read_text(encoding="utf-8"))
    started = time.perf_counter()
    turns = []
    for n, question in enumerate(asked, start=1):
        before = time.perf_counter()
        answer = retriever.ask(question)
        samples.append((time.perf_counter() - before) * 1000)
        models[answer.model] = models.get(answer.model, 0) + 1
        if len(turns) < FOLLOW_UPS:
            turns.append(Turn.of(question, answer))
        if n % 500 == 0:
            _stderr(f"  isnad: {n:,} questions ({n / (time.perf_counter() - started):,.0f}/s)")
    again = []  # the same questions AGAIN times more: what a process that has been serving a while takes
    for _ in range(AGAIN):
        for question in asked:
            before = time.perf_counter()
            retriever.ask(question)
            again.append((time.perf_counter() - before) * 1000)
    alone, followed = [], []
    for turn in turns:  # the same follow-up, asked alone and in its conversation
        before = time.perf_counter()
        retriever.ask(FOLLOW_UP)
        alone.append((time.perf_counter() - before) * 1000)
        before = time.perf_counter()
        context = turn.context if is_follow_up(FOLLOW_UP) else None
        Turn.of(FOLLOW_UP, retriever.ask(FOLLOW_UP, context=context), context)
        followed.append((time.perf_counter() - before) * 1000)
    return {
        "ms": samples, "again_ms": again, "rss": _peak_rss(), "anon": _anonymous_rss(), "models": models,
        "vectors": retriever.vector_coverage, "alone_ms": alone, "follow_up_ms": followed,
    }


def _child_vectors(db: str) -> dict:
    """A stand-in vector for every text of the corpus, stored as the embedding worker stores e5's."""
    from retrieval.engine import Retriever
    from retrieval.semantic.encoder import StandInEncoder

    def progress(done: int, todo: int) -> None:
        if done % 65_536 < 4096 or done == todo:
            _stderr(f"  {done:,} of {todo:,} texts")

    retriever = Retriever.open(Path(db), encoder=StandInEncoder())
    report = retriever.embed(batch=4096, progress=progress)
    return {"texts": report.total, "seconds": report.seconds, "rss": _peak_rss()}


AGAIN = 3  # passes over the questions after the first one
FOLLOW_UPS = 300  # follow-ups asked after as many questions, to time the conversation's part
FOLLOW_UP = "ومتى حدث ذلك؟"


def _child_embed_rate(db: str, count: str) -> dict:
    """Sentences embedded a second by the real encoder, in the worker's batches, over a sample of the corpus."""
    from retrieval.engine import Retriever
    from retrieval.semantic.encoder import E5Encoder
    from retrieval.semantic.vectors import BATCH

    index = Retriever.open(Path(db)).index
    rng = random.Random(0)
    texts = [index.sentence_text(i) for i in rng.sample(range(index.n_sentences), min(int(count), index.n_sentences))]
    encoder = E5Encoder()
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        encoder.passages(texts[start : start + BATCH])
    seconds = time.perf_counter() - started
    return {"texts": len(texts), "seconds": seconds, "chars": sum(map(len, texts)) / max(len(texts), 1)}


def semantic_bench(db: Path, questions: list[str], work: Path, sample: int, progress: Progress) -> list[str]:
    """Answer latency and serving memory with the sentence encoder on a corpus with vectors (``isnad embed``
    first), beside the same questions answered from words only, and the encoder's throughput."""
    asked = work / "questions.json"
    asked.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    mib = 1024 * 1024
    lines = []
    for encoder in ("e5", "none"):
        progress(f"answering {len(questions):,} questions with encoder {encoder}")
        served = run_child("serve", str(db), str(asked), encoder)
        have, total = served["vectors"]
        lines.append(
            f"encoder {encoder:<4} {Latency.of(served['ms'])}; serving peak RSS {served['rss'] / mib:,.0f} MiB; "
            f"answered by {served['models']}; vectors {have:,} of {total:,}"
        )
        alone, followed = Latency.of(served["alone_ms"]), Latency.of(served["follow_up_ms"])
        lines.append(f"  a follow-up alone {alone}; in its conversation {followed} (p99 +{followed.p99 - alone.p99:.2f} ms)")
    progress(f"embedding {sample} sentences")
    rate = run_child("embed-rate", str(db), str(sample))
    lines.append(
        f"embedding: {rate['texts'] / rate['seconds']:.1f} sentences/s ({rate['texts']} sentences of "
        f"{rate['chars']:.0f} characters on average, batches of 32)"
    )
    return lines


def _child_bm25(db: str, questions: str) -> dict:
    """bm25s over isnad's own sentences: normalized like isnad, then tokenized and stemmed by PyStemmer's Arabic stemmer."""
    import bm25s
    import Stemmer

    from retrieval.engine import Retriever
    from retrieval.text.arabic import STOPWORDS, normalize_arabic

    index = Retriever.open(Path(db)).index
    texts = [normalize_arabic(text) for text in index.sentence_texts()]
    stemmer = Stemmer.Stemmer("arabic")
    stopwords = sorted(STOPWORDS)
    _stderr(f"  bm25s: tokenizing and indexing {len(texts):,} sentences")
    started = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords=stopwords, stemmer=stemmer.stemWords, show_progress=False)
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)
    index_s = time.perf_counter() - started
    del texts, tokens
    samples = []
    asked = json.loads(Path(questions).read_text(encoding="utf-8"))
    started = time.perf_counter()
    for n, question in enumerate(asked, start=1):
        query = bm25s.tokenize(
            [normalize_arabic(question)], stopwords=stopwords, stemmer=stemmer.stemWords, return_ids=False, show_progress=False
        )
        known = [[t for t in query[0] if t in model.vocab_dict]]
        if not known[0]:
            continue
        before = time.perf_counter()
        model.retrieve(known, k=5, show_progress=False, n_threads=1)
        samples.append((time.perf_counter() - before) * 1000)
        if n % 500 == 0:
            _stderr(f"  bm25s: {n:,} questions ({n / (time.perf_counter() - started):,.0f}/s)")
    return {"ms": samples, "index_s": index_s}


def _child_sync10(db: str, data: str, archive: str) -> dict:
    """Append 10 articles (the archive's first ten, retitled) as a new file and time Retriever.sync."""
    from retrieval.engine import Retriever

    retriever = Retriever.open(Path(db))
    with open(archive, encoding="utf-8") as lines:
        records = [json.loads(next(lines)) for _ in range(10)]
    added = Path(data) / ADDED_NAME
    added.write_text(
        "".join(json.dumps({**r, "title": "إضافة: " + r["title"]}, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    started = time.perf_counter()
    report = retriever.sync(Path(data), progress=lambda message: _stderr(f"  sync: {message}"))
    seconds = time.perf_counter() - started
    added.unlink()
    return {"sync_s": seconds, "added": len(report.added)}


CHILDREN: dict[str, Callable[..., dict]] = {
    "build": _child_build, "startup": _child_startup, "serve": _child_serve, "bm25": _child_bm25, "sync10": _child_sync10,
    "embed-rate": _child_embed_rate, "vectors": _child_vectors,
}


def child_main(argv: list[str]) -> None:
    """Entry point of a measuring process: ``python -m retrieval.evaluation.bench ROLE ARGS…`` prints one JSON line."""
    from retrieval.semantic.encoder import one_blas_thread  # measured as `isnad` runs

    role, *args = argv
    one_blas_thread()
    print(json.dumps(CHILDREN[role](*args), default=float))


if __name__ == "__main__":
    child_main(sys.argv[1:])

