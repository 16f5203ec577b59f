"""RSS and Atom feeds as sources. Every ISNAD_FEED_MINUTES each feed listed in the ISNAD_FEEDS file (one address a
line, `#` comments) is fetched with a conditional GET (ETag / Last-Modified), under a timeout and a size limit,
and read by feedparser. Each new entry becomes an article line in `feeds/<host>-<id>.jsonl` in the data folder
(appended, one write a line); the watched folder's sync then indexes it, so the folder stays the one source of
truth and `/reload`, backups and `isnad ingest` keep working.

An entry's text is its content when the feed carries it (`content:encoded`, Atom `content`), else its page's
article text as trafilatura extracts it, else (a page that is not an article: a PDF, too large, no text) its
summary. Outlet, date, title and link come from the entry and its feed. An entry already held (same link, or
the same text under another link: agency copy in two feeds) is skipped. A feed that fails waits twice as long
each time (up to a day) and never stops the others; `/sources` and `/stats` say what failed.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import html
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
import lxml.html
import trafilatura
from lxml.etree import ParserError

from bot.sources.archives import append_record, read_records, source_text
from retrieval.corpus.articles import derive_title
from retrieval.semantic.encoder import embeddable

logger = logging.getLogger(__name__)
FOLDER = "feeds"
FEED_BYTES = 10 * 2**20  # a feed larger than this is refused (1,000 entries with full text are ~5 MB)
PAGE_BYTES = 5 * 2**20  # an article page larger than this is not read (the entry keeps its summary)
TIMEOUT_SECONDS = 20.0  # a whole request, however slowly its bytes trickle in
MAX_REDIRECTS = 5
MAX_BACKOFF = timedelta(days=1)
PAGE_ATTEMPTS = 3  # a page that fails for a passing reason (timeout, 5xx) is tried at this many polls, then given up
USER_AGENT = "isnad/0.1 (+https://github.com/isnad; Arabic news Q&A bot)"
_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "tr", "section", "article", "pre")


class FetchError(Exception):
    """A feed or page that could not be had; the message is the reason, for the log and /sources."""

    def __init__(self, reason: str, lasting: bool = False) -> None:
        super().__init__(reason)
        self.lasting = lasting  # True: asking again will not help (not HTML, too large); False: try again later


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 (not modified since the ETag / Last-Modified sent)
    body: bytes
    content_type: str
    etag: str | None = None
    modified: str | None = None


class Fetcher:
    """HTTP GET with a deadline for the whole request, a size limit, and a bounded number of redirects."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self.client = httpx.Client(
            follow_redirects=True, max_redirects=MAX_REDIRECTS, headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        )

    def get(self, url: str, limit: int, etag: str | None = None, modified: str | None = None) -> Fetched:
        """The body of ``url`` (at most ``limit`` bytes); FetchError with the reason otherwise."""
        headers = {**({"If-None-Match": etag} if etag else {}), **({"If-Modified-Since": modified} if modified else {})}
        deadline = time.monotonic() + self.timeout
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return Fetched(str(response.url), 304, b"", "", etag, modified)
                if response.status_code >= 400:
                    raise FetchError(f"HTTP {response.status_code}", lasting=response.status_code in (404, 410))
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchError(f"larger than {_size(limit)} ({_size(int(declared))})", lasting=True)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise FetchError(f"larger than {_size(limit)}", lasting=True)
                    if time.monotonic() > deadline:
                        raise FetchError(f"took longer than {self.timeout:g} s")
                return Fetched(
                    str(response.url), response.status_code, bytes(body), response.headers.get("content-type", ""),
                    response.headers.get("etag"), response.headers.get("last-modified"),
                )
        except httpx.TooManyRedirects as error:
            raise FetchError(f"redirects more than {MAX_REDIRECTS} times", lasting=True) from error
        except httpx.TimeoutException as error:
            raise FetchError(f"no answer within {self.timeout:g} s") from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise FetchError(f"{type(error).__name__}: {error}") from error

    def close(self) -> None:
        self.client.close()


@dataclass
class FeedState:
    """What the reader remembers of one feed between polls (in memory: a restart asks once without ETag)."""

    url: str
    title: str | None = None
    etag: str | None = None
    modified: str | None = None
    failures: int = 0  # consecutive failed polls
    error: str | None = None  # why the last poll failed
    next_poll: float = 0.0  # time.time() of the next poll
    polled: float | None = None  # time.time() of the last successful poll
    skipped: dict[str, str] = field(default_factory=dict)  # entry link → why it was not taken (this poll)


@dataclass(frozen=True)
class FeedSummary:
    url: str
    title: str | None
    articles: int  # held in its archive
    latest: str | None  # when it last brought an article (UTC, "YYYY-MM-DD HH:MM")
    today: int  # articles it brought today (UTC)
    error: str | None  # why the last poll failed
    failures: int
    retry: str | None  # when it is tried again, after a failure
    skipped: tuple[tuple[str, str], ...]  # entries of its last poll not taken: (link, why)


@dataclass(frozen=True)
class PollReport:
    polled: int = 0
    added: int = 0
    failed: int = 0


class FeedReader:
    """Polls feeds and writes their new entries into the data folder; remembers what it holds by link and text."""

    def __init__(
        self, data_dir: Path, minutes: float, fetcher: Fetcher | None = None,
        feed_bytes: int = FEED_BYTES, page_bytes: int = PAGE_BYTES,
    ) -> None:
        self.folder = Path(data_dir) / FOLDER
        self.interval = max(minutes, 0.01) * 60
        self.fetcher = fetcher or Fetcher()
        self.feed_bytes = feed_bytes
        self.page_bytes = page_bytes
        self.feeds: dict[str, FeedState] = {}
        self._page_failures: dict[str, int] = {}  # link → polls its page failed at, for a passing reason
        self._refused: dict[str, str] = {}  # link → why it will never be taken (its page is not read again)
        self._links: set[str] = set()
        self._texts: set[bytes] = set()
        for archive in sorted(self.folder.glob("*.jsonl")):
            for record, _ in read_records(archive):
                if record:
                    self._hold(record)

    def poll(self, urls: Iterable[str], now: float | None = None) -> PollReport:
        """Poll each listed feed that is due (its interval passed, or its backoff after a failure)."""
        now = time.time() if now is None else now
        polled = added = failed = 0
        for url in dict.fromkeys(urls):
            state = self.feeds.setdefault(url, FeedState(url))
            if state.next_poll > now:
                continue
            polled += 1
            try:
                added += self.poll_feed(state)
            except (FetchError, OSError) as error:  # OSError: the data folder cannot be written; the entries wait
                failed += 1
                state.failures += 1
                state.error = str(error)
                state.next_poll = now + min(self.interval * 2 ** (state.failures - 1), MAX_BACKOFF.total_seconds())
                logger.warning("Feed %s failed (%s, %d in a row): next try in %.0f min", url, error, state.failures,
                               (state.next_poll - now) / 60)
                continue
            state.failures, state.error = 0, None
            state.polled, state.next_poll = now, now + self.interval
        return PollReport(polled, added, failed)

    def poll_feed(self, state: FeedState) -> int:
        """Fetch one feed and archive its new entries; the number archived. FetchError if the feed cannot be had."""
        fetched = self.fetcher.get(state.url, self.feed_bytes, state.etag, state.modified)
        if fetched.status == 304:
            return 0
        parsed = feedparser.parse(
            fetched.body, response_headers={"content-type": fetched.content_type, "content-location": fetched.url}
        )
        if not parsed.entries and not parsed.get("version"):  # an error page, JSON, nothing feedparser knows
            reason = parsed.get("bozo_exception") or "no feed in the document"
            raise FetchError(f"not an RSS or Atom feed ({reason})", lasting=True)
        state.title = parsed.feed.get("title") or state.title
        state.skipped = {}
        archive = self.folder / f"{_archive_name(state.url)}.jsonl"
        added = 0
        deferred = False  # an entry waits for the next poll: that poll must read the whole feed again
        for entry in parsed.entries:
            link = entry.get("link") or entry.get("id")
            if not link or link in self._links:
                continue
            if link in self._refused:
                state.skipped[link] = self._refused[link]
                continue
            try:
                record = self._record(entry, link, state.title or urlsplit(state.url).hostname or state.url)
            except FetchError as error:
                state.skipped[link] = str(error)
                logger.info("Feed %s: entry %s skipped: %s", state.url, link, error)
                if error.lasting:
                    self._refused[link] = str(error)
                deferred |= not error.lasting
                continue
            if _text_key(record["content"]) in self._texts:
                self._links.add(link)  # the same text under another link: held already
                state.skipped[link] = "the same text as an article held"
                continue
            append_record(archive, record)
            self._hold(record)
            added += 1
        for link, why in state.skipped.items():
            logger.debug("Feed %s: entry %s skipped: %s", state.url, link, why)
        state.etag, state.modified = (None, None) if deferred else (fetched.etag, fetched.modified)
        if added:
            logger.info("Feed %s: %d new articles", state.url, added)
        return added

    def summary(self, urls: Iterable[str]) -> list[FeedSummary]:
        """Each listed feed: articles held, when it last brought one and how many today, and what failed."""
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        summaries = []
        for url in dict.fromkeys(urls):
            state = self.feeds.get(url, FeedState(url))
            fetched = [str(r.get("fetched")) for r, _ in read_records(self.folder / f"{_archive_name(url)}.jsonl") if r]
            retry = datetime.fromtimestamp(state.next_poll, UTC).strftime("%Y-%m-%d %H:%M") if state.failures else None
            summaries.append(FeedSummary(
                url, state.title, len(fetched), max(fetched, default=None), sum(f.startswith(today) for f in fetched),
                state.error, state.failures, retry, tuple(state.skipped.items()),
            ))
        return summaries

    def close(self) -> None:
        self.fetcher.close()

    def _record(self, entry: feedparser.FeedParserDict, link: str, outlet: str) -> dict:
        """The entry as an archive line; FetchError when it has no text to keep."""
        text = _content_text(entry) or self._page_text(link, _html_text(entry.get("summary", "")))
        if not embeddable(text):
            raise FetchError("no text (neither in the feed nor on its page)", lasting=True)
        title = source_text(html.unescape(entry.get("title", ""))) or derive_title(text)
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else datetime.now(UTC)
        return {
            "title": title, "content": text, "source": outlet, "date": published.date().isoformat(), "url": link,
            "fetched": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        }

    def _page_text(self, link: str, summary: str) -> str:
        """The article text of the entry's page; its summary when the page is not an article; FetchError (the
        entry waits for the next poll) when the page failed for a passing reason and has tries left."""
        try:
            page = self.fetcher.get(link, self.page_bytes)
            kind = page.content_type.split(";")[0].strip().lower()
            if kind and "html" not in kind:
                raise FetchError(f"the page is {kind}, not HTML", lasting=True)
            text = source_text(trafilatura.extract(page.body, url=page.url, include_comments=False) or "")
            if embeddable(text):
                self._page_failures.pop(link, None)
                return text
            reason = "no article text on its page"
        except FetchError as error:
            tries = self._page_failures.get(link, 0) + 1
            if not error.lasting and tries < PAGE_ATTEMPTS:
                self._page_failures[link] = tries
                raise FetchError(f"its page: {error} (tried again at the next poll)") from error
            self._page_failures.pop(link, None)
            reason = f"its page: {error}"
        if summary:
            logger.info("Entry %s: %s; keeping the feed's summary", link, reason)
            return summary
        raise FetchError(reason, lasting=True)

    def _hold(self, record: dict) -> None:
        if record.get("url"):
            self._links.add(str(record["url"]))
        if isinstance(record.get("content"), str):
            self._texts.add(_text_key(record["content"]))


def read_feed_list(path: Path) -> list[str]:
    """The feed addresses of an ISNAD_FEEDS file: one a line; blank lines, `#` comments and non-http(s) lines out."""
    urls = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if urlsplit(line).scheme not in ("http", "https") or not urlsplit(line).hostname:
            logger.warning("%s line %d: %r is not an http(s) feed address; skipped", path, number, line[:80])
            continue
        urls.append(line)
    return urls


async def poll_feeds(reader: FeedReader, feeds_file: Path, tick: float = 30.0) -> None:
    """Read the feed list (edits take effect without a restart) and poll the due feeds, every ``tick`` seconds.
    Never stops on an error: logged, tried again at the next tick."""
    unreadable = None
    while True:
        try:
            urls = await asyncio.to_thread(read_feed_list, feeds_file)
            unreadable = None
            report = await asyncio.to_thread(reader.poll, urls)
            if report.polled:
                logger.info("Feeds: %d polled, %d new articles, %d failed", report.polled, report.added, report.failed)
        except (OSError, UnicodeDecodeError) as error:
            if str(error) != unreadable:  # once, not every tick
                unreadable = str(error)
                logger.error("Cannot read the feed list %s (%s); feeds wait until it can be read", feeds_file, error)
        except Exception:
            logger.exception("Polling the feeds failed; trying again in %.0f s", tick)
        await asyncio.sleep(tick)


def _content_text(entry: feedparser.FeedParserDict) -> str:
    """The entry's full text when the feed carries it (the longest of its contents), else ''."""
    contents = [_html_text(c.get("value", "")) for c in entry.get("content", [])]
    return max(contents, key=len, default="")


def _html_text(markup: str) -> str:
    """Text of an HTML fragment, a paragraph a line (feedparser has already taken scripts and styles out)."""
    if "<" not in markup:
        return source_text(html.unescape(markup))
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (ParserError, ValueError):
        return source_text(re.sub(r"<[^>]*>", " ", html.unescape(markup)))
    for element in root.iter("br", *_BLOCKS):
        element.tail = "\n" + (element.tail or "")
        if element.tag != "br":
            element.text = "\n" + (element.text or "")
    return source_text(re.sub(r"[ \t\u00a0]+", " ", root.text_content()))


def _size(count: int) -> str:
    return f"{count / 2**20:.0f} MB" if count >= 2**20 else f"{count // 1024} KB"


def _text_key(text: str) -> bytes:
    """Equal for the same words, whatever the spacing: agency copy reprinted by two feeds."""
    return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=16).digest()


def _archive_name(url: str) -> str:
    host = re.sub(r"[^A-Za-z0-9.-]", "_", urlsplit(url).hostname or "feed")
    return f"{host}-{hashlib.blake2b(url.encode('utf-8'), digest_size=3).hexdigest()}"
