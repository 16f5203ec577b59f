"""A local web of feeds and article pages, for the feed tests and `isnad bench-feeds`: served over real loopback
HTTP, with the web's misbehaviours on demand (ETags, slow bodies, no Content-Length, a declared 50 MB, redirect
loops, errors). Nothing leaves the machine."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass
class Route:
    body: bytes = b""
    content_type: str = RSS
    status: int = 200
    etag: str | None = None
    redirect: str | None = None  # a path to redirect to
    trickle: float = 0.0  # seconds between the body's 1 KB pieces
    length: int | None = None  # the Content-Length declared (default: the body's); -1: none, read until close


class FeedSite:
    """Serves routes set by the test; records each request's path and conditional headers."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, If-None-Match)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.path, self.headers.get("If-None-Match")))
                route = site.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if route.redirect:
                    self.send_response(302)
                    self.send_header("Location", route.redirect)
                    self.end_headers()
                    return
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                length = len(route.body) if route.length is None else route.length
                if length >= 0:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    for start in range(0, len(route.body), 1024):
                        self.wfile.write(route.body[start : start + 1024])
                        if route.trickle:
                            self.wfile.flush()
                            time.sleep(route.trickle)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the reader gave up: what the test wants

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, path: str, body: str | bytes = b"", **route: object) -> str:
        """Serve ``body`` at ``path``; its full address."""
        self.routes[path] = Route(body.encode("utf-8") if isinstance(body, str) else body, **route)
        return self.url + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rss(title: str, items: list[dict[str, str]]) -> str:
    """An RSS 2.0 feed; an item's keys: title, link, description, content (content:encoded), date (RFC 822)."""
    parts = []
    for item in items:
        parts.append(
            "<item>"
            + "".join(f"<{tag}>{escape(item[key])}</{tag}>" for key, tag in
                      (("title", "title"), ("link", "link"), ("description", "description"), ("date", "pubDate"))
                      if key in item)
            + (f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>" if "content" in item else "")
            + "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link><description>news</description>"
        + "".join(parts) + "</channel></rss>"
    )


def atom(title: str, entries: list[dict[str, str]]) -> str:
    """An Atom feed without content: keys title, link, summary, updated (ISO 8601)."""
    parts = [
        f"<entry><title>{escape(e['title'])}</title><link href=\"{escape(e['link'])}\"/><id>{escape(e['link'])}</id>"
        f"<updated>{e.get('updated', '2026-12-01T08:00:00Z')}</updated>"
        + (f"<summary>{escape(e['summary'])}</summary>" if "summary" in e else "")
        + "</entry>"
        for e in entries
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:feed</id><updated>2026-12-01T08:00:00Z</updated>"
        + "".join(parts) + "</feed>"
    )


def page(title: str, paragraphs: list[str]) -> str:
    """A news page with its article among a menu and a footer, as trafilatura meets them."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f"<html><head><meta charset='utf-8'><title>{escape(title)}</title></head><body>"
        "<nav><a href='/'>الرئيسية</a> <a href='/sport'>رياضة</a> <a href='/eco'>اقتصاد</a></nav>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>جميع الحقوق محفوظة © 2026 — سياسة الخصوصية — اتصل بنا</footer></body></html>"
    )
