"""The one retrieval API: open a corpus, bring it up to date with a folder, ask it questions.

    retriever = Retriever.open(Path("isnad.db"))
    retriever.sync(Path("data"))                     # incremental ingest, then a new index swapped in
    answer = retriever.ask("متى زار بينيت موسكو؟")   # Answer with verbatim, cited quotes (or none, with a reason)

Thread-safe: questions are answered from whichever index is current while a sync builds the next
one; the swap is a single reference assignment.

With an encoder, the sentences' vectors are a second source of candidates and features. They are embedded
after the index is built (``embed``: in the foreground for a small corpus, by the bot's worker for a large
one); until a question's candidates all have vectors it is answered by the lexical model alone.
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.answers import Answer, CorpusStats, IngestReport, Problem, Quote
from retrieval.corpus.store import Store
from retrieval.corpus.upload import UploadReport, check_upload, free_name, safe_name
from retrieval.errors import IndexMismatch, IndexWriteError
from retrieval.lexical.build import IndexBuilder
from retrieval.lexical.index import CorpusTables, IndexParams, TfidfIndex
from retrieval.question.conversation import Context, reading
from retrieval.question.language import ARABIC, ENGLISH, FRENCH, question_language
from retrieval.ranking.model import Models
from retrieval.ranking.rank import QueryVector, RankingParams, rank_sentences
from retrieval.semantic.encoder import Encoder
from retrieval.semantic.vectors import BATCH, DenseVectors, EmbedProgress, EmbedReport, VectorStore, embed_missing, text_keys
from retrieval.text.arabic import CUE_NUMBER, CUE_TIME, cue_spans, dated_relatively, question_type, wanted_cue

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 2000
QUESTION_CACHE = 4096  # question vectors kept (1.5 KB each)
# Two articles' answers this close (the second's probability at least this share of the first's), the first
# below CLARIFY_BELOW: the reply asks which one was meant instead of quoting the first.
CLARIFY_SHARE = 0.9
CLARIFY_BELOW = 0.5
Progress = Callable[[str], None]
# Articles counted at a time by a build: what a build holds beyond the vocabulary grows with this, not with the
# corpus. SaudiNewsNet's 4,000 articles are 42,000 sentences, about 150 MB while counted.
CHUNK_ARTICLES = 4_000


def index_folder(db_path: Path) -> Path:
    """Where the index of a database lives: beside it."""
    return db_path.with_name(db_path.name + ".index")


class Retriever:
    """A corpus in SQLite with its TF-IDF index; answers questions with cited sentences."""

    def __init__(
        self, db_path: Path, index: TfidfIndex, ranking: RankingParams, models: Models | None = None, encoder: Encoder | None = None
    ) -> None:
        self.db_path = Path(db_path)
        self.ranking = ranking
        self.models = models or Models.load()
        self.encoder = encoder  # embeds questions; None: words only
        self._index = index
        self._dense: DenseVectors | None = None
        self._sync_lock = threading.Lock()
        self._embed_lock = threading.Lock()
        self._local = threading.local()
        self._citations: dict[str, tuple[str | None, str | None]] = {}  # doc_id → (outlet, date), cleared by a sync
        if encoder is not None:
            self._dense = self._load_vectors(index)
            # "More", a re-asked question, a question asked of several corpora: embedded once.
            self._embed_question = functools.lru_cache(maxsize=QUESTION_CACHE)(lambda text: encoder.queries([text])[0])

    @classmethod
    def open(
        cls,
        db_path: Path,
        index_params: IndexParams | None = None,
        ranking: RankingParams | None = None,
        progress: Progress | None = None,
        models: Models | None = None,
        encoder: Encoder | None = None,
    ) -> Retriever:
        """Open (or create) the store and load its saved index, rebuilding it if stale or built otherwise, and
        the vectors the store holds for it when there is an encoder."""
        db_path = Path(db_path)
        store = Store(db_path)
        try:
            index = load_or_build(store, index_params or IndexParams(), progress)
        finally:
            store.close()
        return cls(db_path, index, ranking or RankingParams(), models, encoder)

    @property
    def index(self) -> TfidfIndex:
        return self._index

    def _store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.db_path)
        return store

    def sync(self, data_dir: Path, progress: Progress | None = None) -> IngestReport:
        """Ingest the folder incrementally; when anything changed, build the new index and swap it in."""
        with self._sync_lock:
            started = time.perf_counter()
            store = Store(self.db_path)
            try:
                before = store.corpus_version
                report = store.ingest(Path(data_dir))
                if store.corpus_version != self._index.corpus_version_:
                    if before == self._index.corpus_version_ and self._index.can_extend(report):
                        self._index = extend_index(store, self._index, report, progress)
                    else:
                        self._index = load_or_build(store, self._index.params, progress)
                    self._citations = {}
                    if self.encoder is not None:
                        self._dense = self._load_vectors(self._index, retain=True)
            finally:
                store.close()
            return replace(report, seconds=time.perf_counter() - started)

    def _load_vectors(self, index: TfidfIndex, retain: bool = False) -> DenseVectors:
        """The stored vectors of this index's texts; with ``retain``, those of texts the corpus no longer holds are dropped."""
        assert self.encoder is not None
        store = Store(self.db_path)
        try:
            vectors = VectorStore(store, self.encoder.name, self.encoder.dim)
            dense = DenseVectors.load(index, vectors)
            if retain:
                gone = vectors.retain(text_keys(index))
                if gone:
                    log.info("dropped the vectors of %d texts no longer in the corpus", gone)
            return dense
        finally:
            store.close()

    def embed(
        self, encoder: Encoder | None = None, seconds: float | None = None, stop: threading.Event | None = None,
        progress: EmbedProgress | None = None, batch: int = BATCH,
    ) -> EmbedReport:
        """Embed the current index's texts that have no vector yet (see ``embed_missing``), with ``encoder``
        (another instance than the question path's, so that questions never wait behind a batch) or this
        retriever's own. One embedding at a time."""
        encoder = encoder or self.encoder
        dense, index = self._dense, self._index
        if encoder is None or dense is None:
            return EmbedReport(0, 0, 0, 0, 0.0)
        with self._embed_lock:
            store = Store(self.db_path)
            try:
                vectors = VectorStore(store, encoder.name, encoder.dim)
                return embed_missing(dense, index, vectors, encoder, seconds=seconds, stop=stop, progress=progress, batch=batch)
            finally:
                store.close()

    def import_vectors(self, donor: Path) -> int:
        """Take the vectors another corpus database holds for texts this one has (same text, same vector), so
        that a corpus made of another's articles is not embedded again; how many rows came."""
        if self.encoder is None:
            return 0
        store = Store(self.db_path)
        try:
            copied = VectorStore(store, self.encoder.name, self.encoder.dim).copy_from(str(donor))
        finally:
            store.close()
        if copied:
            self._dense = self._load_vectors(self._index)
        return copied

    @property
    def vector_coverage(self) -> tuple[int, int]:
        """(texts with a vector, texts): sentences and titles of the current corpus; (0, 0) without an encoder."""
        return self._dense.coverage if self._dense is not None else (0, 0)

    def add_file(self, data_dir: Path, name: str, data: bytes) -> UploadReport:
        """Check an uploaded article file whole; if it is good, write it into the folder under a free, safe
        name and sync. Refused: nothing is written. A failed sync removes the file again and raises."""
        articles, problems = check_upload(name, data, self._store().holders)
        if problems or not articles:
            return UploadReport(name, problems=tuple(problems) or (Problem(name, "no article in the file"),))
        folder = Path(data_dir)
        saved_as = free_name(folder, safe_name(name))
        target = folder / saved_as
        staging = folder / f".{saved_as}.uploading"  # not an article file: a sync running meanwhile skips it
        staging.write_bytes(data)
        staging.rename(target)
        try:
            report = self.sync(folder)
        except Exception:
            target.unlink(missing_ok=True)
            raise
        return UploadReport(name, saved_as, ingest=report, articles=len(articles))

    def ask(self, question: str, top_k: int = 3, offset: int = 0, context: Context | None = None) -> Answer:
        """The best ``top_k`` sentences after the first ``offset``, verbatim and cited, or none with a reason.

        ``context``: the conversation a follow-up leans on (``retrieval/question/conversation.py``); its topic words and
        articles weigh in below the question's own, and the answer says how the question was read.
        """
        started = time.perf_counter()
        index = self._index  # one snapshot for the whole question, whatever a concurrent sync swaps in
        text = question.strip()[:MAX_QUESTION_CHARS]
        if not text:
            return Answer(question, (), _ms(started), "the question is empty")
        if index.n_sentences == 0:
            return Answer(question, (), _ms(started), "the corpus is empty")
        query = self._query_vector(index, encoded_question(text, context))
        language = question_language(text)
        foreign = language in (ENGLISH, FRENCH)
        ranked = rank_sentences(index, text, offset + top_k + 1, self.ranking, self.models, query, context, foreign)
        ids = ranked.sentence_ids[offset : offset + top_k]
        quotes = tuple(_quote(index, sid, score) for sid, score in zip(ids, ranked.scores[offset:], strict=False))
        reason = ranked.no_answer_reason
        if not quotes and reason is None:
            reason = "no further sentences answer this question"
        closest = _quote(index, ranked.closest, ranked.confidence) if ranked.closest is not None else None
        quotes, closest = self._cited(text, quotes, closest)
        return Answer(
            question, quotes, _ms(started), reason, has_more=len(ranked.sentence_ids) > offset + top_k,
            confidence=ranked.confidence, closest=closest, missing=ranked.missing, model=ranked.model,
            about=ranked.about, reading=reading(text, context) if context else None, language=language,
            alternatives=alternatives(quotes) if offset == 0 else (),
        )

    def answers_in(self, language: str) -> bool:
        """Whether questions in this language can be answered: Arabic always; English and French through the
        encoder and the model's crosslingual variant, once the corpus has vectors."""
        if language == ARABIC:
            return True
        embedded = self.vector_coverage[0] > 0
        return language in (ENGLISH, FRENCH) and self.encoder is not None and self.models.crosslingual is not None and embedded

    def query_vector(self, text: str) -> QueryVector | None:
        """The question's vector with the corpus vectors to compare it with, when there are any."""
        return self._query_vector(self._index, text)

    def _query_vector(self, index: TfidfIndex, text: str) -> QueryVector | None:
        """The question's vector with the corpus vectors of this index, when there are any to compare it with."""
        dense = self._dense
        if self.encoder is None or dense is None or dense.corpus_version != index.corpus_version_ or not dense.sentences.has.any():
            return None
        return QueryVector(self._embed_question(text), dense)

    def _cited(self, question: str, quotes: tuple[Quote, ...], closest: Quote | None) -> tuple[tuple[Quote, ...], Quote | None]:
        """The quotes with their outlet and date (from the store), what the question asked for marked in them,
        and whether they date themselves relatively."""
        shown = [*quotes, *([closest] if closest else [])]
        if not shown:
            return quotes, closest
        unknown = [doc_id for doc_id in {q.doc_id for q in shown} if doc_id not in self._citations]
        if unknown:  # outlets and dates change only with the corpus: kept until the next sync
            self._citations.update(self._store().citations(unknown))
        cue = wanted_cue(question_type(question)) & (CUE_TIME | CUE_NUMBER)
        cited = [
            replace(
                q, source=source, published=published,
                highlights=cue_spans(q.text, cue) if cue else (), dated_relatively=dated_relatively(q.text),
            )
            for q in shown
            for source, published in [self._citations.get(q.doc_id, (None, None))]
        ]
        return tuple(cited[: len(quotes)]), (cited[-1] if closest else None)

    def paragraph(self, doc_id: str, paragraph: int) -> str:
        """The whole paragraph a quote comes from; KeyError if the article or paragraph is gone."""
        return self._store().paragraph(doc_id, paragraph)

    def stats(self, titles: int = 10) -> CorpusStats:
        return replace(self._index.stats(titles), vectors=self.vector_coverage, added_last_day=self._store().added_since(24))


def load_or_build(store: Store, params: IndexParams, progress: Progress | None = None) -> TfidfIndex:
    """The saved index of this corpus version, or a new one built from the store and saved."""
    folder = index_folder(store.path)
    version = store.corpus_version
    try:
        return TfidfIndex.load(folder, params, version)
    except IndexMismatch as why:
        log.info("building the index (%s)", why)
    build_index(store, folder, params, progress)
    return TfidfIndex.load(folder, params, version)


def build_index(
    store: Store, folder: Path, params: IndexParams, progress: Progress | None = None, doc_ids: list[str] | None = None,
    chunk_articles: int = CHUNK_ARTICLES,
) -> None:
    """Build the index of the stored corpus (or of the given articles) into ``folder``, a chunk of articles at a
    time; IndexWriteError, the folder as it was, if the disk fails it (full, read-only)."""
    version = store.corpus_version
    try:
        with IndexBuilder(folder, params, progress) as builder:
            for ids in store.document_chunks(chunk_articles, doc_ids):
                builder.add(corpus_tables(store, ids))
            builder.finish(version)
    except OSError as error:
        raise IndexWriteError(f"cannot write the index at {folder}: {error}; the previous index still serves") from error


def extend_index(store: Store, index: TfidfIndex, report: IngestReport, progress: Progress | None = None) -> TfidfIndex:
    """The index with the report's new and updated articles appended and its updated and removed ones retired."""
    folder = index_folder(store.path)
    delta_folder = folder.with_name(folder.name + ".delta")
    try:
        build_index(store, delta_folder, index.params, progress, list(report.added + report.updated))
        delta = TfidfIndex.load(delta_folder, index.params, store.corpus_version)
        extended = index.extend(delta, set(report.updated + report.removed), store.corpus_version)
        try:
            extended.save(folder)
        except OSError as error:
            raise IndexWriteError(f"cannot write the index at {folder}: {error}; the previous index still serves") from error
    finally:
        shutil.rmtree(delta_folder, ignore_errors=True)
    return TfidfIndex.load(folder, index.params, store.corpus_version)


def corpus_tables(store: Store, doc_ids: list[int]) -> CorpusTables:
    """Read these articles (store row ids, in order) out of the store as the index's parallel arrays (sentences in
    document order)."""
    documents, sentences, passages = store.corpus_rows(doc_ids)
    keys = np.array([row[0] for row in documents], dtype=np.int64)
    texts = [row[4] for row in documents]
    sent_doc = np.searchsorted(keys, sentences[:, 0]).astype(np.int32)
    first_of_doc = np.searchsorted(sentences[:, 0], keys)  # index of each document's first sentence
    pass_doc = np.searchsorted(keys, passages[:, 0])
    return CorpusTables(
        doc_ids=[row[1] for row in documents],
        titles=[row[2] for row in documents],
        urls=[row[3] for row in documents],
        sentence_texts=[
            texts[d][s:e] for d, s, e in zip(sent_doc.tolist(), sentences[:, 3].tolist(), sentences[:, 4].tolist(), strict=True)
        ],
        sent_doc=sent_doc,
        sent_paragraph=sentences[:, 2].astype(np.int32),
        sent_number=sentences[:, 1].astype(np.int32),
        sent_start=sentences[:, 3].astype(np.int32),
        sent_end=sentences[:, 4].astype(np.int32),
        pass_first=(first_of_doc[pass_doc] + passages[:, 1] - 1).astype(np.int32),
        pass_last=(first_of_doc[pass_doc] + passages[:, 2] - 1).astype(np.int32),
    )


def _quote(index: TfidfIndex, sid: int, score: float) -> Quote:
    doc = int(index.sent_doc_[sid])
    return Quote(
        text=index.sentence_text(sid),
        doc_id=index.doc_ids_[doc],
        title=index.titles_[doc],
        paragraph=int(index.sent_paragraph_[sid]),
        sentence=int(index.sent_number_[sid]),
        score=score,
        start=int(index.sent_start_[sid]),
        end=int(index.sent_end_[sid]),
        url=index.urls_[doc],
    )


def encoded_question(text: str, context: Context | None) -> str:
    """What the encoder reads of a question: a follow-up with its conversation's topic words after it."""
    return f"{text} {' '.join(context.words)}" if context else text


def alternatives(quotes: tuple[Quote, ...]) -> tuple[Quote, ...]:
    """The best quote and the best of another article when the two are nearly as likely and neither is sure."""
    if not quotes or quotes[0].score >= CLARIFY_BELOW:
        return ()
    other = next((q for q in quotes[1:] if q.doc_id != quotes[0].doc_id and q.title != quotes[0].title), None)
    return (quotes[0], other) if other is not None and other.score >= CLARIFY_SHARE * quotes[0].score else ()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
