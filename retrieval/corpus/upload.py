"""An article file sent from outside (a chat upload): checked whole before anything is written.

A file is taken only if every part of it is good: a `.txt` or `.jsonl` name (path tricks stripped), at most
MAX_UPLOAD_BYTES, UTF-8 text without NUL bytes, every article readable (a `.jsonl` line by line), and no
article the corpus already holds. Otherwise nothing is written and every problem is listed, by line. A
name already in the folder is never overwritten: the file is saved under the next free name, and the
report says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from retrieval.answers import IngestReport, Problem
from retrieval.corpus.articles import ARTICLE_SUFFIXES, Article, ArticleError, iter_jsonl_articles, parse_txt_article

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download (getFile)
_UNSAFE = re.compile(r"[^\w\-]+", re.UNICODE)


@dataclass(frozen=True)
class UploadReport:
    """What became of an uploaded file: where it was saved and what the sync changed, or why it was refused."""

    name: str  # as sent
    saved_as: str | None = None  # the file's name in the data folder; None when refused
    problems: tuple[Problem, ...] = ()
    ingest: IngestReport | None = None
    articles: int = 0

    @property
    def accepted(self) -> bool:
        return self.saved_as is not None

    @property
    def renamed(self) -> bool:
        return self.accepted and self.saved_as != safe_name(self.name)


def safe_name(name: str) -> str:
    """The file name without folders, control characters or anything but letters, digits, - and _ in its
    stem (كتاب ١.txt → كتاب_١.txt, ../../etc/x.txt → x.txt); 'upload' when nothing is left."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1]).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("_.") or "upload"
    return f"{stem[:80]}.{suffix.lower()}" if suffix else stem[:80]


def check_upload(name: str, data: bytes, known: Callable[[list[str]], dict[str, str]]) -> tuple[list[Article], list[Problem]]:
    """The articles of an uploaded file, or the problems that refuse it. ``known`` maps the sha256 of
    articles the corpus holds to their ids."""
    shown = safe_name(name)
    suffix = Path(shown).suffix
    if suffix not in ARTICLE_SUFFIXES:
        return [], [Problem(name, f"only {' and '.join(ARTICLE_SUFFIXES)} files hold articles")]
    if len(data) > MAX_UPLOAD_BYTES:
        return [], [Problem(name, f"the file is {len(data) / 1e6:.1f} MB; at most {MAX_UPLOAD_BYTES // 2**20} MiB")]
    if b"\x00" in data:
        return [], [Problem(name, "binary file (contains NUL bytes), not a UTF-8 text article")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return [], [Problem(name, f"not UTF-8 (invalid byte at offset {error.start})")]
    if not text.strip():
        return [], [Problem(name, "empty file")]
    articles: list[Article] = []
    problems: list[Problem] = []
    stem = Path(shown).stem
    if suffix == ".txt":
        try:
            articles.append(parse_txt_article(stem, text))
        except ArticleError as error:
            problems.append(Problem(name, str(error)))
    else:
        for item in iter_jsonl_articles(stem, text.split("\n")):
            (problems if isinstance(item, Problem) else articles).append(item)
    holders = known([article.sha256 for article in articles])
    seen: dict[str, int | None] = {}
    for article in articles:
        if article.sha256 in holders:
            problems.append(Problem(name, f"the same article as {holders[article.sha256]}, already in the corpus", article.line))
        elif article.sha256 in seen:
            problems.append(Problem(name, f"the same article as line {seen[article.sha256]} of this file", article.line))
        seen.setdefault(article.sha256, article.line)
    problems.sort(key=lambda problem: problem.line or 0)
    return articles, problems


def free_name(folder: Path, name: str) -> str:
    """``name``, or name-2, name-3 … when the folder already has a file so called (never overwrite)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = name, 1
    while (folder / candidate).exists():
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    return candidate
