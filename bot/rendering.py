"""Turn answers, reports and stats into Telegram HTML (everything from users and articles escaped).

Pure functions: no network, no state. Every message stays within Telegram's 4096-character limit by
dropping trailing quotes, and a quote too long on its own is cut before it is escaped, so an entity or
a tag is never broken. `html_to_text` turns a message back into plain text for the terminal demo.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape, unescape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.config import Settings
from bot.query_log import Day, QueryStats, Unanswered
from bot.sources.channels import ChannelSummary
from bot.sources.feeds import FeedSummary
from retrieval.answers import Answer, CorpusStats, IngestReport, Quote
from retrieval.corpus.upload import UploadReport
from retrieval.question.language import SOURCES_NOTE

MAX_MESSAGE_LENGTH = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted in UTF-16 code units
MAX_QUESTION_LENGTH = 500
ECHOED_QUESTION_LENGTH = 200
LISTED_TITLES = 10
LISTED_PROBLEMS = 10
SKIPPED_SHOWN = 5  # a feed's entries not taken at its last poll, listed in /sources (all of them are in the log)
STRONG_SHARE = 0.5  # a quote is shown at once when its probability is at least this share of the first's
MISSING_WORDS = 3  # words of the question no article mentions, named in a no-answer reply
CLOSEST_QUOTE_LENGTH = 1000  # the closest sentence offered with a no-answer is cut to this

ERROR_TEXT = "⚠️ حدث خطأ غير متوقع أثناء معالجة رسالتك. حاول مرة أخرى بعد قليل من فضلك."
NOT_TEXT_TEXT = "🙂 أفهم الرسائل النصية فقط. اكتب سؤالك عن الأخبار بالعربية في رسالة نصية من فضلك."
NEW_TOPIC_TEXT = "🆕 موضوع جديد: سأقرأ سؤالك التالي وحده، دون ما سبقه."
NOT_ARABIC_TEXT = "🙂 أجيب عن الأسئلة المكتوبة بالعربية. اكتب سؤالك بالعربية من فضلك."
EMPTY_ASK_TEXT = "اكتب سؤالك في الرسالة نفسها، مثل: /ask ثم السؤال."
UNKNOWN_COMMAND_TEXT = "لا أعرف هذا الأمر. اكتب سؤالك مباشرة، أو أرسل /help لترى كيف تسأل."
ADMIN_ONLY_TEXT = "عذرًا، هذا الأمر متاح لمشرفي البوت فقط."
RELOAD_BUSY_TEXT = "⏳ إعادة تحميل المقالات جارية الآن؛ انتظر حتى تنتهي."
RELOAD_STARTED_TEXT = "⏳ جارٍ إعادة تحميل المقالات… تبقى الأسئلة تُجاب من الفهرس الحالي حتى ينتهي."
UPLOAD_STARTED_TEXT = "⏳ أفحص الملف وأضيف مقالاته… تبقى الأسئلة تُجاب من الفهرس الحالي حتى ينتهي."
UPLOAD_FETCH_FAILED_TEXT = "❌ تعذّر تنزيل الملف من تيليغرام؛ أرسله مرة أخرى من فضلك. لم يتغير شيء في المقالات."
UPLOAD_ADMIN_ONLY_TEXT = "📄 إضافة المقالات متاحة لمشرفي البوت فقط. لسؤال عن الأخبار، اكتب سؤالك نصًا."
ADD_USAGE_TEXT = "ردّ بـ /add على رسالة نصية فيها المقال (سطره الأول عنوانه)، أو أرسل ملف ‎.txt أو ‎.jsonl."
SLOW_DOWN_TEXT = "🐢 أسئلة كثيرة في دقيقة واحدة! تمهّل قليلًا من فضلك؛ سأجيب عن أسئلتك مجددًا بعد دقيقة."
NO_MORE_TEXT = "لا توجد نتائج أخرى لهذا السؤال."
EXPIRED_BUTTON_TEXT = "انتهت صلاحية هذا الزر؛ أعد طرح السؤال من فضلك."
PARAGRAPH_GONE_TEXT = "لم تعد هذه الفقرة موجودة: ربما حُدّثت المقالات منذ طرح السؤال. أعد طرح السؤال من فضلك."
FEEDBACK_THANKS = {1: "شكرًا! سُجّل تقييمك 👍", -1: "شكرًا! سُجّل تقييمك 👎، وسيساعدنا على التحسين."}

_TAG = re.compile(r"</?[a-z-]+[^>]*>")
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)


@dataclass(frozen=True)
class RenderedAnswer:
    """An answer as one Telegram message; `shown` quotes fitted (fewer than given when over the cap)."""

    html: str
    shown: int


def message_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def question_problem(text: str, answerable_language: bool) -> str | None:
    """Why `text` cannot be taken as a question (the polite reply to send), or None if it can."""
    if not text.strip():
        return EMPTY_ASK_TEXT
    if len(text) > MAX_QUESTION_LENGTH:
        return f"✂️ رسالتك طويلة ({len(text)} حرفًا). اختصر سؤالك في أقل من {MAX_QUESTION_LENGTH} حرف، واسأل سؤالًا واحدًا في كل رسالة."
    if not answerable_language:
        return NOT_ARABIC_TEXT
    return None


def articles_count(n: int) -> str:
    """'مقال واحد', 'مقالان', '5 مقالات', '12 مقالًا', '100 مقال': Arabic number agreement for the article count."""
    if n == 1:
        return "مقال واحد"
    if n == 2:
        return "مقالان"
    if 3 <= n % 100 <= 10:
        return f"{n} مقالات"
    if n % 100 == 0:
        return f"{n} مقال"
    return f"{n} مقالًا"


def help_text(stats: CorpusStats, bot_username: str, examples: list[str]) -> str:
    """/start and /help: what the bot knows, how to ask, in groups too."""
    lines = [
        "👋 أهلًا! أنا <b>إسناد</b>: أجيب عن أسئلتك من مقالات إخبارية بالعربية، "
        "وأقتبس الجمل كما وردت حرفيًا، مع مصدر كل جملة (عنوان المقال ورقم الفقرة).",
        "",
        f"<b>📚 أعرف الآن {articles_count(stats.documents)}:</b>",
    ]
    lines += [f"• {escape(title)}" for title in stats.titles[:LISTED_TITLES]]
    if stats.documents > min(len(stats.titles), LISTED_TITLES):
        lines.append(f"• … و{stats.documents - min(len(stats.titles), LISTED_TITLES)} غيرها")
    lines += [
        "",
        "<b>❓ كيف تسأل؟</b>",
        "اكتب سؤالك بالعربية في رسالة واحدة"
        + (f"، مثل: «{escape(examples[0], quote=False)}». " if examples else ". ")
        + "تحت كل إجابة أزرار: المزيد من النتائج، والفقرة كاملة حول كل اقتباس، و👍/👎 لتقييم الإجابة.",
        f"في المجموعات: اكتب /ask ثم سؤالك، أو اذكرني @{escape(bot_username)}، أو ردّ على إحدى رسائلي.",
    ]
    if examples:
        lines += ["", "<b>👇 جرّب أحد هذه الأسئلة:</b>"]
    return "\n".join(lines)


def render_answer(answer: Answer, first_number: int = 1) -> RenderedAnswer:
    """Numbered verbatim quotes «…» with citation marks, then the sources; or the no-answer text.

    Only the quotes that answer nearly as surely as the first are shown; the others wait behind "more".
    """
    if not answer.found:
        return RenderedAnswer(render_no_answer(answer), 0)
    strong = [q for q in answer.quotes if q.score >= STRONG_SHARE * answer.quotes[0].score]
    for count in range(len(strong), 0, -1):
        html = _render_quotes(answer, answer.quotes[:count], first_number)
        if message_length(html) <= MAX_MESSAGE_LENGTH:
            return RenderedAnswer(html, count)
    # Even one quote is too long: cut its text (before escaping, so no entity is split) to what fits.
    quote = answer.quotes[0]
    frame = message_length(_render_quotes(answer, (replace(quote, text="", highlights=()),), first_number))
    cut = replace(quote, text=_fitting_prefix(quote.text, MAX_MESSAGE_LENGTH - frame), highlights=())
    return RenderedAnswer(_render_quotes(answer, (cut,), first_number), 1)


def render_no_answer(answer: Answer) -> str:
    """Say plainly there is no answer; name the words no article mentions; offer the closest sentence, as
    such, when the model found one worth reading; and how to rephrase."""
    lines = [f"🤷 لم أجد في المقالات ما يجيب عن سؤالك: «{_echo(answer.question)}».", *_reading(answer), ""]
    if answer.missing:
        named = "، ".join(f"«{escape(shorten(word, 40), quote=False)}»" for word in answer.missing[:MISSING_WORDS])
        lines += [f"لا تذكر المقالات: {named}.", ""]
    if answer.closest is not None:
        quote = _fitting_prefix(answer.closest.text, CLOSEST_QUOTE_LENGTH)
        lines += [
            "أقرب ما وجدته، وهو <b>ليس إجابة مؤكدة</b>:",
            f"«{escape(quote, quote=False)}»",
            f"— {_source_line(answer.closest)}",
            "",
        ]
    elif answer.about:
        titles = "\n".join(f"• {escape(shorten(title, 120), quote=False)}" for title in answer.about)
        lines += ["أقرب ما تتناوله المقالات إلى سؤالك:", titles, ""]
    lines += [
        "جرّب أن:",
        "• تذكر اسم شخص أو مكان أو حدث بعينه،",
        "• تستعمل كلمات قريبة من لغة الخبر،",
        "• تسأل سؤالًا واحدًا في كل رسالة.",
        "قد لا تتناول المقالات الموضوع أصلًا: أرسل /help لترى ما أعرفه.",
    ]
    return "\n".join(lines)


def render_paragraph(title: str, paragraph: int, text: str, quote: str) -> str:
    """The full paragraph around a quote, with its citation; the quoted sentence in bold."""
    header = f"📄 <b>{escape(title, quote=False)}</b> — الفقرة {paragraph}\n\n"
    budget = MAX_MESSAGE_LENGTH - message_length(header) - len("<b></b>")
    text = _fitting_prefix(text, budget)
    before, found, after = text.partition(quote) if quote else (text, "", "")
    if not found:
        return header + escape(text, quote=False)
    bold = f"<b>{escape(quote, quote=False)}</b>"
    return header + escape(before, quote=False) + bold + escape(after, quote=False)


def render_reload_report(report: IngestReport) -> str:
    """What a reload changed, the corpus totals after it, and the files it could not read."""
    lines = [
        f"✅ اكتملت إعادة التحميل في {report.seconds:.2f} ث.",
        f"المقالات: أُضيف {len(report.added)} · حُدّث {len(report.updated)} · حُذف {len(report.removed)} · بلا تغيير {report.unchanged}",
        f"المجموع الآن: {articles_count(report.documents)} · {report.passages} فقرة · {report.sentences} جملة",
    ]
    for label, doc_ids in (("أُضيف", report.added), ("حُدّث", report.updated), ("حُذف", report.removed)):
        if doc_ids:
            lines.append(f"{label}: " + "، ".join(f"<code>{escape(doc_id)}</code>" for doc_id in doc_ids[:10]))
    if report.problems:
        lines.append(f"⚠️ ملفات لم تُقرأ ({len(report.problems)}):")
        lines += [f"• {escape(str(problem))}" for problem in report.problems[:LISTED_PROBLEMS]]
    return _fit_lines(lines)


def render_upload_report(report: UploadReport) -> str:
    """What an upload added (and under which name), or every reason it was refused, by line."""
    name = f"«{escape(shorten(report.name, 80), quote=False)}»"
    if not report.accepted:
        lines = [f"❌ لم أُضف الملف {name}، ولم يتغير شيء في المقالات:"]
        lines += [
            f"• {'السطر ' + str(problem.line) + ': ' if problem.line else ''}{escape(problem.reason, quote=False)}"
            for problem in report.problems[:LISTED_PROBLEMS]
        ]
        if len(report.problems) > LISTED_PROBLEMS:
            lines.append(f"• … و{len(report.problems) - LISTED_PROBLEMS} مشكلات أخرى")
        return _fit_lines(lines)
    saved = f"<code>{escape(report.saved_as or '', quote=False)}</code>"
    lines = [f"✅ أُضيف الملف {name} ({articles_count(report.articles)}) باسم {saved}."]
    if report.renamed:
        lines.append("في المجلد ملف بالاسم نفسه، فحُفظ هذا باسم جديد ولم يُستبدل شيء.")
    if report.ingest is not None:
        lines += render_reload_report(report.ingest).split("\n")[1:]
    return _fit_lines(lines)


def render_reload_failure(error: Exception) -> str:
    return (
        f"❌ فشلت إعادة التحميل: <code>{escape(str(error) or type(error).__name__)}</code>\nما زال الفهرس السابق يعمل، والأسئلة تُجاب منه."
    )[:MAX_MESSAGE_LENGTH]


def render_stats(corpus: CorpusStats, queries: QueryStats, days: Sequence[Day] = (), failing: Sequence[FeedSummary] = ()) -> str:
    """/stats: corpus size and the last day's articles, question counts, no-answer rate, answer times, feedback,
    each day's share of no answer and of 👎, recent misses, feeds that fail."""
    rate = "—" if queries.no_answer_rate is None else f"{queries.no_answer_rate:.0%}"
    lines = [
        "📊 <b>إحصاءات إسناد</b>",
        f"المقالات: {corpus.documents} · الفقرات: {corpus.passages} · الجمل: {corpus.sentences}",
        f"أضيف في آخر 24 ساعة: {corpus.added_last_day} مقالة",
        *([render_vectors(corpus.vectors)] if corpus.vectors[1] else []),
        f"الأسئلة اليوم: {queries.today} · المجموع: {queries.total}",
        f"بلا إجابة: {rate}",
        f"زمن الإجابة: الوسيط {_ms(queries.p50_ms)} · p95 {_ms(queries.p95_ms)}",
        f"التقييمات: 👍 {queries.thumbs_up} · 👎 {queries.thumbs_down}",
    ]
    if days:
        lines.append("<b>آخر الأيام</b> (الأسئلة · بلا إجابة · 👎):")
        lines += [f"{d.day}: {d.asked} · {_share(d.no_answer_share)} · {_share(d.thumbs_down_share)}" for d in days]
    if queries.recent_unanswered:
        lines.append("<b>آخر الأسئلة بلا إجابة:</b>")
        lines += [f"• {_echo(question)}" for question in queries.recent_unanswered]
    if failing:
        lines.append("<b>مصادر متعثرة</b> (التفاصيل في /sources):")
        lines += [f"⚠️ {_feed_name(feed)}: {_echo(feed.error or '')}" for feed in failing]
    return _fit_lines(lines)


def render_vectors(vectors: tuple[int, int]) -> str:
    """How much of the corpus the sentence encoder has read: the rest is answered from words only."""
    have, total = vectors
    line = f"المتجهات الدلالية: {have} من {total} ({have / total:.0%})"
    return line if have == total else line + " · يكتمل الباقي في الخلفية"


def render_channel_membership(title: str, username: str | None, joined: bool, listed: bool) -> str:
    """To the admins, when the bot is made an administrator of a channel or removed from one (plain text)."""
    name = f"«{title}»" + (f" (@{username})" if username else "")
    if not joined:
        return f"📡 لم أعد مشرفًا في القناة {name}" + (": لن تصل منشوراتها الجديدة إلى المقالات." if listed else ".")
    if listed:
        return f"📡 صرتُ مشرفًا في القناة {name}: منشوراتها الجديدة تدخل المقالات."
    return (
        f"📡 صرتُ مشرفًا في القناة {name}، وهي ليست في ISNAD_CHANNELS: لن تدخل منشوراتها المقالات. "
        "أضفها إلى ISNAD_CHANNELS إن أردتها مصدرًا."
    )


def render_sources(channels: Sequence[ChannelSummary], feeds: Sequence[FeedSummary], settings: Settings, listed: bool) -> str:
    """/sources: the channels and feeds whose posts become articles (what each holds, when it last brought one,
    today's count, what failed) and the watched folder."""
    lines = ["📡 <b>المصادر</b>"]
    if not listed:
        lines.append("القنوات: لا شيء في ISNAD_CHANNELS.")
    for c in channels:
        latest = f"آخر منشور {escape(c.latest, quote=False)}" if c.latest else "لا منشورات بعد"
        lines.append(f"• @{escape(c.channel, quote=False)}: {c.posts} منشور · {latest} · اليوم {c.today}")
    if settings.feeds_file is None:
        lines.append("الخلاصات: لا شيء في ISNAD_FEEDS.")
    else:
        lines.append(f"<b>الخلاصات</b> (كل {settings.feed_minutes} دقيقة):")
    for f in feeds:
        latest = f"آخر مقالة {escape(f.latest, quote=False)}" if f.latest else "لا مقالات بعد"
        lines.append(f"• {_feed_name(f)}: {f.articles} مقالة · {latest} · اليوم {f.today}")
        if f.error:
            lines.append(f"  ⚠️ تعثرت {f.failures} مرة: {_echo(f.error)} · المحاولة التالية {f.retry} UTC")
        for link, why in f.skipped[:SKIPPED_SHOWN]:
            lines.append(f"  ↷ تُركت {escape(link, quote=False)}: {_echo(why)}")
        if len(f.skipped) > SKIPPED_SHOWN:
            lines.append(f"  ↷ و{len(f.skipped) - SKIPPED_SHOWN} مدخلات أخرى تُركت (في السجل)")
    watched = f"كل {settings.sync_seconds:g} ثانية" if settings.sync_seconds else "متوقفة (/reload فقط)"
    lines.append(f"مراقبة مجلد المقالات: {watched}")
    return _fit_lines(lines)


def _feed_name(feed: FeedSummary) -> str:
    return escape(feed.title or feed.url, quote=False)


def render_unanswered(rows: Sequence[Unanswered], days: int) -> str:
    """/unanswered: the questions of the last days that got no answer or a 👎, most missed first."""
    if not rows:
        return f"✅ لا أسئلة بلا إجابة ولا تقييمات 👎 في آخر {days} أيام."
    lines = [f"📝 <b>أسئلة بلا إجابة أو بتقييم 👎</b> (آخر {days} أيام):"]
    for row in rows:
        counts = [f"سُئل {row.asked}"]
        if row.no_answer:
            counts.append(f"بلا إجابة {row.no_answer}")
        if row.thumbs_down:
            counts.append(f"👎 {row.thumbs_down}")
        lines.append(f"• {_echo(row.question)} — {' · '.join(counts)}")
    return _fit_lines(lines)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def answer_keyboard(query_id: int, first_index: int, shown: int, more_offset: int | None) -> InlineKeyboardMarkup:
    """📄 n for each quote's paragraph; "more results" when there are more; 👍 / 👎 for the question."""
    paragraphs = [
        InlineKeyboardButton(f"📄 {index + 1}", callback_data=f"p:{query_id}:{index}") for index in range(first_index, first_index + shown)
    ]
    actions = []
    if more_offset is not None:
        actions.append(InlineKeyboardButton("المزيد ⬇️", callback_data=f"m:{query_id}:{more_offset}"))
    actions += [
        InlineKeyboardButton("👍", callback_data=f"f:{query_id}:+1"),
        InlineKeyboardButton("👎", callback_data=f"f:{query_id}:-1"),
    ]
    return InlineKeyboardMarkup([row for row in (paragraphs, actions) if row])


def examples_keyboard(examples: dict[int, str]) -> InlineKeyboardMarkup:
    """One button per example question; the callback carries the question's number, not its text."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(question, callback_data=f"x:{number}")] for number, question in examples.items()])


def html_to_text(html: str) -> str:
    """Telegram HTML as plain text: tags dropped (a link keeps its address), entities unescaped."""

    with_addresses = _LINK.sub(r"\2 (\1)", html)
    return unescape(_TAG.sub("", with_addresses))


def _reading(answer: Answer) -> list[str]:
    """A follow-up's one line saying how it was read with the conversation, so a wrong reading shows; for a
    question in another language, a note in that language that the sources are Arabic."""
    lines = [f"↩️ فهمت سؤالك: {escape(shorten(answer.reading, 300), quote=False)}"] if answer.reading else []
    if answer.language in SOURCES_NOTE:
        lines.append(f"🌐 {SOURCES_NOTE[answer.language]}")
    return lines


def render_clarification(answer: Answer) -> str:
    """Unsure between two articles' answers: ask which one was meant."""
    lines = [f"🤔 <b>{_echo(answer.question)}</b>", *_reading(answer), "", "وجدت إجابتين من مقالين مختلفين. هل تقصد:"]
    lines += [f"{n}. {escape(shorten(q.title, 150), quote=False)}" for n, q in enumerate(answer.alternatives, start=1)]
    return "\n".join(lines)


def clarification_keyboard(query_id: int, answer: Answer) -> InlineKeyboardMarkup:
    """A button per article: the answer from that one."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(f"هل تقصد: {shorten(q.title, 40)}؟", callback_data=f"c:{query_id}:{n}")]
            for n, q in enumerate(answer.alternatives)
        ]
    )


def _render_quotes(answer: Answer, quotes: tuple[Quote, ...], first_number: int) -> str:
    sources: dict[tuple[str, int], int] = {}
    lines = [f"🔎 <b>{_echo(answer.question)}</b>", *_reading(answer), ""]
    for number, quote in enumerate(quotes, start=first_number):
        source = sources.setdefault((quote.doc_id, quote.paragraph), len(sources) + 1)
        lines.append(f"{number}. «{_highlighted(quote)}» [{source}]")
        if quote.dated_relatively and quote.published:  # أمس means nothing a month later: the article's date
            lines.append(f"    (تاريخ المقال: {escape(quote.published, quote=False)})")
    lines += ["", "<b>المصادر:</b>"]
    for (doc_id, paragraph), source in sources.items():
        quote = next(q for q in quotes if (q.doc_id, q.paragraph) == (doc_id, paragraph))
        lines.append(f"[{source}] {_source_line(quote)}")
    return "\n".join(lines)


def _source_line(quote: Quote) -> str:
    """The article's title (a link when it has one), its outlet and date when known, and the paragraph."""
    title = escape(quote.title, quote=False)
    if quote.url:
        title = f'<a href="{escape(quote.url)}">{title}</a>'
    known = "، ".join(escape(part, quote=False) for part in (quote.source, quote.published) if part)
    return f"{title}{f' — {known}' if known else ''} — الفقرة {quote.paragraph}"


def _highlighted(quote: Quote) -> str:
    """The quote's text, escaped, with what the question asked for (its highlights) in bold; still verbatim."""
    parts, at = [], 0
    for start, end in quote.highlights:
        start, end = max(start, at), min(end, len(quote.text))
        if start >= end:
            continue
        parts += [escape(quote.text[at:start], quote=False), f"<b>{escape(quote.text[start:end], quote=False)}</b>"]
        at = end
    return "".join([*parts, escape(quote.text[at:], quote=False)])



def _fitting_prefix(text: str, budget: int) -> str:
    """The longest prefix of `text` (marked "…" when cut) whose escaped form fits in `budget` units."""
    if message_length(escape(text, quote=False)) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if message_length(escape(text[:middle], quote=False)) + 1 <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


def _echo(question: str) -> str:
    return escape(shorten(question, ECHOED_QUESTION_LENGTH), quote=False)


def shorten(text: str, limit: int) -> str:
    """The text, cut to ``limit`` characters with "…" when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} م.ث"


def _fit_lines(lines: list[str]) -> str:
    """Join lines, dropping whole lines from the end (never cutting one) to stay under the cap."""
    while len(lines) > 1 and message_length("\n".join(lines)) > MAX_MESSAGE_LENGTH:
        lines = lines[:-1]
    return "\n".join(lines)
