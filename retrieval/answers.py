"""What retrieval hands back: quotes with their citations, answers, ingest reports, corpus stats."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Quote:
    """One answer sentence, verbatim: ``text == source_text[start:end]`` of document ``doc_id``."""

    text: str
    doc_id: str
    title: str
    paragraph: int  # 1-based paragraph number in the article
    sentence: int  # 1-based sentence number in the article
    score: float
    start: int  # character offsets into the article's text
    end: int
    url: str | None = None
    source: str | None = None  # the outlet
    published: str | None = None  # the publication date, as the article gives it
    # What the question asked for, inside the text: (start, end) offsets of the times of a when-question's
    # answer, the numbers of a how-many question's; for showing in bold.
    highlights: tuple[tuple[int, int], ...] = ()
    dated_relatively: bool = False  # the text says أمس, اليوم, الأحد الماضي …: it needs its article's date

    def to_json(self) -> dict:
        result = {
            "text": self.text,
            "doc_id": self.doc_id,
            "title": self.title,
            "paragraph": self.paragraph,
            "sentence": self.sentence,
            "score": round(self.score, 4),
            "start": self.start,
            "end": self.end,
        }
        for key in ("url", "source", "published"):
            if getattr(self, key):
                result[key] = getattr(self, key)
        if self.highlights:
            result["highlights"] = [list(span) for span in self.highlights]
        return result


@dataclass(frozen=True)
class Answer:
    """The quotes answering one question, best first; no quotes means "no answer", with a reason."""

    question: str
    quotes: tuple[Quote, ...]
    elapsed_ms: float
    no_answer_reason: str | None = None
    has_more: bool = False  # more quotes exist past these (for "more results")
    confidence: float = 0.0  # P(the articles answer the question), from the answerable model
    closest: Quote | None = None  # with no answer: the closest sentence, offered as such, never as the answer
    missing: tuple[str, ...] = ()  # question words no article uses in any form
    model: str = "lexical"  # which fitted variant answered: "semantic" (words and the encoder) or "lexical"
    about: tuple[str, ...] = ()  # with no answer: titles of the articles nearest the question, what the corpus is about
    reading: str | None = None  # a follow-up: how it was read with the conversation's topic («فهمت سؤالك: …»)
    language: str = "ar"  # the question's: "ar", or "en" / "fr" answered through the encoder from the Arabic articles
    # Unsure between two articles' answers: the best quote of each, to ask «هل تقصد …؟» instead of quoting the first.
    alternatives: tuple[Quote, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.quotes)


@dataclass(frozen=True)
class Problem:
    """A file (or one line of an archive) that could not be ingested, and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class IngestReport:
    """What one ingest of the data folder changed, and the corpus totals after it."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    documents: int = 0
    passages: int = 0
    sentences: int = 0
    seconds: float = 0.0
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class CorpusStats:
    """How big the corpus is and which articles it holds (titles of the first few)."""

    documents: int
    passages: int
    sentences: int
    titles: tuple[str, ...]
    vectors: tuple[int, int] = (0, 0)  # (texts with a vector, texts): sentences and titles; (0, 0) without an encoder
    added_last_day: int = 0  # articles that came into the corpus in the last 24 hours
