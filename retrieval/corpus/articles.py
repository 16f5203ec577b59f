"""Reading articles from the data folder: `.txt` files (optional metadata header) and `.jsonl` archives.

A `.txt` article may start with a header between two `---` lines, one `key: value` a line
(keys: title, source, url, published); the article text is everything after it:

    ---
    title: بوتين يستقبل بينيت في سوتشي
    source: عنب بلدي
    url: https://example.org/article
    published: 2021-10-22
    ---
    التقى الرئيس الروسي ...

Without a header the title is the article's first line when it reads as a headline, else its
opening words. A `.jsonl` archive holds one article a line: `{"title", "content", "url"?, "date"?,
"source"?}`; its articles are named `<file stem>:<line number>`.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from retrieval.answers import Problem
from retrieval.text.sentences import split_paragraphs

ARTICLE_SUFFIXES = (".txt", ".jsonl")
HEADER_KEYS = ("title", "source", "url", "published")
_HEADLINE_MAX_CHARS = 140
_TITLE_WORDS = 12


@dataclass(frozen=True)
class Article:
    doc_id: str
    title: str
    text: str
    url: str | None = None
    source: str | None = None
    published: str | None = None
    line: int | None = None  # line number in a .jsonl archive

    @cached_property
    def sha256(self) -> str:
        payload = json.dumps([self.title, self.text, self.url, self.source, self.published], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ArticleError(ValueError):
    """An article file that cannot be read; the message says why."""


def find_article_files(data_dir: Path) -> list[Path]:
    """Every `.txt` and `.jsonl` file under the folder, in a stable order (hidden files skipped)."""
    files = [
        path
        for path in data_dir.rglob("*")
        if path.suffix.lower() in ARTICLE_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(data_dir).parts)
    ]
    return sorted(files)


def file_key(data_dir: Path, path: Path) -> str:
    """The file's name within the data folder, without extension: `000_ca49…` or `archive/2015-07`."""
    return path.relative_to(data_dir).with_suffix("").as_posix()


READ_BLOCK = 1 << 20  # bytes read at a time when a file is checked without holding it


def check_text_file(path: Path) -> str:
    """The SHA-256 of the file's text (UTF-8, a BOM dropped), read a block at a time so a large archive is never
    held whole; ArticleError if it is binary, not UTF-8 or empty."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    digest = hashlib.sha256()
    offset, has_text = 0, False
    with open(path, "rb") as handle:
        while block := handle.read(READ_BLOCK):
            if b"\x00" in block:
                raise ArticleError("binary file (contains NUL bytes), not a UTF-8 text article")
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as error:
                raise ArticleError(f"not UTF-8 (invalid byte at offset {offset - pending + error.start})") from error
            digest.update(text.encode("utf-8"))
            has_text = has_text or bool(text.strip())
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise ArticleError(f"not UTF-8 (invalid byte at offset {offset - len(error.object) + error.start})") from error
    if not has_text:
        raise ArticleError("empty file")
    return digest.hexdigest()


def text_lines(path: Path) -> Iterator[str]:
    """The lines of a checked file (``check_text_file``), one at a time and as written: split at \\n only, as
    ``str.split("\\n")`` splits (a stray \\r stays inside its line), so joined they are the file's text."""
    with open(path, encoding="utf-8-sig", newline="\n") as handle:
        yield from handle


def parse_txt_article(doc_id: str, raw: str) -> Article:
    """An article from a `.txt` file's text, with its header if it has one."""
    meta: dict[str, str] = {}
    text = raw
    lines = raw.split("\n")
    if lines and lines[0].strip() == "---":
        try:
            close = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration as error:
            raise ArticleError("header opened with '---' is never closed") from error
        for number, line in enumerate(lines[1:close], start=2):
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            key = key.strip().lower()
            if not sep or key not in HEADER_KEYS:
                raise ArticleError(f"header line {number}: expected one of {', '.join(HEADER_KEYS)} as 'key: value'")
            meta[key] = value.strip()
        text = "\n".join(lines[close + 1 :])
    if not text.strip():
        raise ArticleError("the article has no text")
    return Article(
        doc_id=doc_id,
        title=meta.get("title") or derive_title(text),
        text=text,
        url=meta.get("url") or None,
        source=meta.get("source") or None,
        published=meta.get("published") or None,
    )


def derive_title(text: str) -> str:
    """The first line when it is a headline (short, no final full stop), else the opening words."""
    first = split_paragraphs(text)[0]
    line = text[first.start : first.end]
    if len(line) <= _HEADLINE_MAX_CHARS and not line.endswith((".", "؟", "?", "!", ":")):
        return line
    words = line.split()
    return " ".join(words[:_TITLE_WORDS]) + ("…" if len(words) > _TITLE_WORDS else "")


def iter_jsonl_articles(stem: str, lines: Iterable[str]) -> Iterator[Article | Problem]:
    """Articles of a `.jsonl` archive's lines (its text split at \\n, or ``text_lines``), and a Problem for
    each line that is not one."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield Problem(f"{stem}.jsonl", f"malformed JSON ({error.msg})", number)
            continue
        if not isinstance(record, dict):
            yield Problem(f"{stem}.jsonl", "a line must be a JSON object with title and content", number)
            continue
        content = record.get("content")
        if not isinstance(content, str) or not content.strip():
            yield Problem(f"{stem}.jsonl", "no 'content' text", number)
            continue
        title = record.get("title")
        yield Article(
            doc_id=f"{stem}:{number}",
            title=title.strip() if isinstance(title, str) and title.strip() else derive_title(content),
            text=content,
            url=_optional_str(record.get("url")),
            source=_optional_str(record.get("source")),
            published=_optional_str(record.get("date") or record.get("published")),
            line=number,
        )


def _optional_str(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None
