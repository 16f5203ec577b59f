"""The article archives the bot itself writes into the data folder (channel posts, feed entries): one article a
JSON line in a `.jsonl` file, which the watched folder's sync then indexes like any other archive.

A line is appended with one write() on a file opened for appending, so a kill leaves no half line; a line is
replaced by writing the whole archive beside it and renaming it over, so a reader never sees half an edit.
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

# Invisible direction marks and embeddings (LRM, RLM, LRE…PDF, LRI…PDI): they change how a quote is laid out
# in a chat, never what it says. Zero-width joiners stay: Arabic and Persian spelling uses them.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def append_record(archive: Path, record: dict) -> None:
    """Append ``record`` as one JSON line, in one write()."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    line = record_line(record)
    descriptor = os.open(archive, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode("utf-8"))
    finally:
        os.close(descriptor)


def record_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def replace_lines(archive: Path, lines: list[str]) -> None:
    """Make the archive exactly ``lines``: written beside it, then renamed over it (never half written)."""
    staging = archive.with_name(f".{archive.name}.edit")
    staging.write_text("".join(lines), encoding="utf-8")
    os.replace(staging, archive)


def read_records(archive: Path) -> list[tuple[dict | None, str]]:
    """Each line of the archive, with its record (None for a line that is not a JSON object: kept as it is)."""
    if not archive.exists():
        return []
    held = []
    for line in archive.read_text(encoding="utf-8").splitlines(keepends=True):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        held.append((record if isinstance(record, dict) else None, line))
    return held


def source_text(text: str) -> str:
    """A post's or an entry's text as an article holds it: direction controls and other control characters out
    (tabs and line breaks kept), lines stripped, blank lines out (a paragraph is a line)."""
    text = text.translate(_BIDI_CONTROLS).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())
