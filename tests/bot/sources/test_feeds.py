"""Feeds as sources (issue 17, item 2): RSS and Atom entries become articles in the data folder, each once, over
real HTTP against a local server; feeds that misbehave are reported and retried later, never stopping the others."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.fake_telegram import FakeTelegram
from bot.sources.archives import source_text
from bot.sources.fake_web import ATOM, HTML, FeedSite, atom, page, rss
from bot.sources.feeds import FOLDER, FeedReader, Fetcher, _html_text, read_feed_list
from retrieval import Retriever
from tests.bot.running import ADMIN, make_corpus, quotes_of, running_bot

MUSEUM = "افتتح وزير الثقافة المغربي متحف الخط العربي في مدينة الرباط يوم الخميس."
DAM = "أعلنت وزارة المياه اكتمال بناء سد وادي النخيل بسعة تخزين تبلغ ثلاثين مليون متر مكعب."
BRIDGE = "افتتحت هيئة الطرق جسر الملك فهد الجديد أمام حركة المرور صباح السبت بعد ثلاث سنوات من العمل."


@pytest.fixture
def site() -> Iterator[FeedSite]:
    served = FeedSite()
    yield served
    served.close()


def held(data_dir: Path) -> list[dict]:
    return [json.loads(line) for path in sorted((data_dir / FOLDER).glob("*.jsonl")) for line in path.read_text("utf-8").splitlines()]


def test_an_rss_feed_s_entries_with_content_become_articles_once(tmp_path: Path, site: FeedSite) -> None:
    feed = site.serve("/rss", rss("وكالة الأنباء", [
        {"title": "افتتاح متحف الخط العربي", "link": "https://example.org/a/1", "date": "Tue, 01 Dec 2026 09:30:00 GMT",
         "description": "موجز قصير.", "content": f"<p>{MUSEUM}</p><p>وحضر الافتتاح عدد من الخطاطين.</p>"},
        {"title": "سد وادي النخيل", "link": "https://example.org/a/2",
         "content": f"<div>{DAM}<br>وقال الوزير إن السد يخدم المزارعين.</div>"},
    ]), etag='"v1"')
    reader = FeedReader(tmp_path, minutes=15, fetcher=Fetcher(timeout=5))
    report = reader.poll([feed], now=0)
    assert (report.polled, report.added, report.failed) == (1, 2, 0)
    first, second = held(tmp_path)
    assert first["title"] == "افتتاح متحف الخط العربي" and first["source"] == "وكالة الأنباء"
    assert first["date"] == "2026-12-01" and first["url"] == "https://example.org/a/1"
    assert first["content"] == f"{MUSEUM}\nوحضر الافتتاح عدد من الخطاطين."  # the full text, not the summary
    assert second["content"] == f"{DAM}\nوقال الوزير إن السد يخدم المزارعين."

    assert reader.poll([feed], now=60).polled == 0  # not due before ISNAD_FEED_MINUTES
    assert reader.poll([feed], now=15 * 60).added == 0
    assert site.requests[-1] == ("/rss", '"v1"')  # a conditional GET, answered 304
    site.routes["/rss"].etag = None  # a server without ETags: entries are recognized by their links
    again = FeedReader(tmp_path, minutes=15, fetcher=Fetcher(timeout=5))  # after a restart: the archive is read back
    assert again.poll([feed], now=0).added == 0 and len(held(tmp_path)) == 2

    retriever = Retriever.open(tmp_path / "isnad.db")
    retriever.sync(tmp_path)
    answer = retriever.ask("أين افتتح متحف الخط العربي؟")
    assert MUSEUM in answer.quotes[0].text and answer.quotes[0].url == "https://example.org/a/1"


def test_an_atom_entry_without_content_is_read_from_its_page(tmp_path: Path, site: FeedSite) -> None:
    paragraphs = [BRIDGE, "وقال مدير الهيئة إن الجسر يختصر زمن الرحلة إلى النصف تقريبا."]
    article = site.serve("/news/bridge.html", page("افتتاح الجسر الجديد", paragraphs), content_type=HTML)
    pdf = site.serve("/report.pdf", b"%PDF-1.7 binary", content_type="application/pdf")
    huge = site.serve("/huge.html", "<html>", content_type=HTML, length=50 * 2**20)  # declares 50 MB
    loop = site.serve("/loop", redirect="/loop")
    feed = site.serve("/atom", atom("هيئة الطرق", [
        {"title": "افتتاح الجسر الجديد", "link": article, "summary": "افتتاح جسر."},
        {"title": "التقرير السنوي", "link": pdf, "summary": "نشرت الهيئة تقريرها السنوي عن السلامة المرورية."},
        {"title": "صفحة ضخمة", "link": huge, "summary": "ملخص الخبر الطويل عن الطرق السريعة."},
        {"title": "بلا نص", "link": loop},
    ]), content_type=ATOM)
    reader = FeedReader(tmp_path, minutes=15, fetcher=Fetcher(timeout=5))
    assert reader.poll([feed], now=0).added == 3
    bridge, report, big = held(tmp_path)
    assert BRIDGE in bridge["content"] and "جميع الحقوق" not in bridge["content"] and "رياضة" not in bridge["content"]
    assert bridge["source"] == "هيئة الطرق" and bridge["date"] == "2026-12-01"
    assert report["content"] == "نشرت الهيئة تقريرها السنوي عن السلامة المرورية."  # a PDF: the summary is kept
    assert big["content"] == "ملخص الخبر الطويل عن الطرق السريعة."  # 50 MB is not read
    [summary] = reader.summary([feed])
    assert summary.articles == 3 and summary.today == 3 and summary.error is None
    [(link, why)] = summary.skipped
    assert link == loop and "redirects more than 5 times" in why
    site.routes["/atom"].body += b" "  # the feed changes: read whole again, the refused entry's page is not
    asked = len(site.requests)
    assert reader.poll([feed], now=15 * 60).added == 0
    assert [path for path, _ in site.requests[asked:]] == ["/atom"] and reader.summary([feed])[0].skipped == summary.skipped


def test_failing_feeds_back_off_and_never_stop_the_others(tmp_path: Path, site: FeedSite) -> None:
    good = site.serve("/good", rss("صحيفة", [{"title": "السد", "link": "https://example.org/dam", "content": DAM}]))
    broken = site.serve("/broken", "<html><body><h1>503 الخدمة غير متاحة</h1></body></html>", content_type="text/html")
    slow = site.serve("/slow", rss("بطيئة", [{"title": "x", "link": "https://example.org/x", "content": MUSEUM * 100}]), trickle=0.5)
    huge = site.serve("/huge", rss("ضخمة", [{"title": "y", "link": "https://example.org/y", "content": BRIDGE * 200}]), length=-1)
    missing = site.url + "/gone"
    loop = site.serve("/a", redirect="/b") and site.serve("/b", redirect="/a")
    feeds = [broken, slow, huge, missing, loop, good]
    reader = FeedReader(tmp_path, minutes=10, fetcher=Fetcher(timeout=1.5), feed_bytes=16 * 1024)
    started = time.monotonic()
    report = reader.poll(feeds, now=0)
    assert time.monotonic() - started < 30  # the slow feed was cut at its deadline (a bound, not a benchmark)
    assert (report.polled, report.added, report.failed) == (6, 1, 5)
    errors = {s.url: s.error for s in reader.summary(feeds)}
    assert "not an RSS or Atom feed" in errors[broken] and "1.5 s" in errors[slow]
    assert "larger than 16 KB" in errors[huge] and errors[missing] == "HTTP 404" and errors[good] is None
    assert errors[loop] == "redirects more than 5 times"

    assert reader.poll([broken], now=10 * 60 - 1).polled == 0  # backoff: the interval after the first failure
    assert reader.poll([broken], now=10 * 60).failed == 1
    assert reader.poll([broken], now=10 * 60 + 20 * 60 - 1).polled == 0  # then twice as long
    [state] = [s for s in reader.summary([broken])]
    assert state.failures == 2 and state.retry is not None

    site.serve("/broken", rss("صارت سليمة", [{"title": "z", "link": "https://example.org/z", "content": BRIDGE}]))
    assert reader.poll([broken], now=30 * 60).added == 1  # mended: back to the normal interval
    assert reader.summary([broken])[0].failures == 0


def test_the_same_text_under_another_link_is_held_once(tmp_path: Path, site: FeedSite) -> None:
    one = site.serve("/one", rss("وكالة", [{"title": "السد", "link": "https://one.example/dam", "content": DAM}]))
    two = site.serve("/two", rss("صحيفة", [{"title": "السد", "link": "https://two.example/dam", "content": f"<p>  {DAM} </p>"}]))
    empty = site.serve("/empty", rss("فارغة", [{"title": "🙂", "link": "https://three.example/e", "content": "<p>🙂 🎉</p>"}]))
    reader = FeedReader(tmp_path, minutes=15, fetcher=Fetcher(timeout=5))
    assert reader.poll([one, two, empty], now=0).added == 1
    assert [s.skipped for s in reader.summary([two, empty])] == [
        (("https://two.example/dam", "the same text as an article held"),),
        (("https://three.example/e", "no text (neither in the feed nor on its page)"),),
    ]


def test_a_thousand_entries_in_one_poll_are_one_sync(tmp_path: Path, site: FeedSite) -> None:
    items = [{"title": f"خبر رقم {n}", "link": f"https://example.org/n/{n}", "content": f"<p>سجل المؤشر {n} نقطة في جلسة اليوم {n}.</p>"}
             for n in range(1000)]
    feed = site.serve("/many", rss("البورصة", items))
    reader = FeedReader(tmp_path, minutes=15, fetcher=Fetcher(timeout=10))
    assert reader.poll([feed], now=0).added == 1000
    retriever = Retriever.open(tmp_path / "isnad.db")
    report = retriever.sync(tmp_path)
    assert len(report.added) == 1000 and not report.problems
    assert reader.poll([feed], now=15 * 60).added == 0 and retriever.sync(tmp_path).added == ()


@pytest.mark.parametrize(("markup", "text"), [
    ("<p>الفقرة الأولى.</p><p>الفقرة الثانية.</p>", "الفقرة الأولى.\nالفقرة الثانية."),
    ("سطر<br/>سطر آخر", "سطر\nسطر آخر"),
    ("قال &quot;نعم&quot; &amp; مضى", 'قال "نعم" & مضى'),
    ("<div><b>عاجل:</b> خبر <a href='x'>مهم</a></div>", "عاجل: خبر مهم"),
    ("<p>\u202bنص\u202c باتجاه\u200f</p>", "نص باتجاه"),
    ("", ""),
])
def test_html_text(markup: str, text: str) -> None:
    assert _html_text(markup) == text


def test_source_text_drops_direction_controls_and_blank_lines() -> None:
    assert source_text("\u2067عنوان\u2069\r\n\r\n\r\nنص\u200e الخبر\x07") == "عنوان\nنص الخبر"


def test_the_feed_list(tmp_path: Path) -> None:
    listed = tmp_path / "feeds.txt"
    listed.write_text("# agencies\nhttps://a.example/rss\n\n  http://b.example/feed.xml  \nftp://c.example/x\nnot a url\nhttps://a.example/rss\n")
    assert read_feed_list(listed) == ["https://a.example/rss", "http://b.example/feed.xml", "https://a.example/rss"]


async def test_a_feed_s_entry_is_answerable_and_admins_see_the_feeds(tmp_path: Path, site: FeedSite, fake_telegram: FakeTelegram) -> None:
    good = site.serve("/rss", rss("وكالة الأنباء", [{"title": "السد", "link": "https://example.org/dam", "content": DAM}]))
    listed = tmp_path / "feeds.txt"
    listed.write_text(f"# two feeds\n{good}\n{site.url}/missing\n", encoding="utf-8")
    corpus = make_corpus(tmp_path)
    async with running_bot(corpus, fake_telegram, sync_seconds=0.2, feeds_file=listed, feed_minutes=15) as bot:
        for _ in range(60):
            reply = await bot.ask(1, "ما سعة تخزين سد وادي النخيل؟")
            if any("ثلاثين مليون" in quote for quote in quotes_of(reply)):
                break
            await asyncio.sleep(0.25)
        else:
            raise AssertionError("the feed's entry never became answerable")
        assert "https://example.org/dam" in json.dumps(reply, ensure_ascii=False)
        sources = (await bot.ask(ADMIN, "/sources"))["plain_text"]
        assert "وكالة الأنباء: 1 مقالة" in sources and "اليوم 1" in sources and "كل 15 دقيقة" in sources
        assert "/missing: 0 مقالة" in sources and "تعثرت 1 مرة: HTTP 404" in sources
        stats = (await bot.ask(ADMIN, "/stats"))["plain_text"]
        assert "أضيف في آخر 24 ساعة: 6 مقالة" in stats and "HTTP 404" in stats  # the seeds came today too


def test_an_entry_whose_page_failed_for_a_passing_reason_is_taken_at_a_later_poll(tmp_path: Path, site: FeedSite) -> None:
    article = site.serve("/news/bridge.html", "خطأ مؤقت", content_type=HTML, status=503)
    feed = site.serve("/atom", atom("هيئة الطرق", [{"title": "افتتاح الجسر الجديد", "link": article}]), content_type=ATOM, etag='"v1"')
    reader = FeedReader(tmp_path, minutes=1, fetcher=Fetcher(timeout=5))
    assert reader.poll([feed], now=0).added == 0
    [(_, why)] = reader.summary([feed])[0].skipped
    assert why == "its page: HTTP 503 (tried again at the next poll)"
    site.serve("/news/bridge.html", page("افتتاح الجسر الجديد", [BRIDGE]), content_type=HTML)
    assert reader.poll([feed], now=60).added == 1  # the feed read whole again, though its ETag had not changed
    assert ("/atom", None) in site.requests[-3:] and BRIDGE in held(tmp_path)[0]["content"]


def test_a_data_folder_that_cannot_be_written_is_a_failure_the_entries_wait(tmp_path: Path, site: FeedSite) -> None:
    feed = site.serve("/rss", rss("وكالة", [{"title": "السد", "link": "https://example.org/dam", "content": DAM}]))
    (tmp_path / FOLDER).write_text("a file where the folder should be", encoding="utf-8")
    reader = FeedReader(tmp_path, minutes=1, fetcher=Fetcher(timeout=5))
    assert reader.poll([feed], now=0).failed == 1 and reader.summary([feed])[0].error
    (tmp_path / FOLDER).unlink()
    assert reader.poll([feed], now=60).added == 1  # nothing was lost: taken once the folder can be written
