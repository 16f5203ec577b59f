"""Admin commands: /reload re-ingests the data folder without a restart; /stats shows corpus and usage;
/unanswered lists the questions that got no answer or a 👎 (the bot's to-do list); /export sends the
query log as a CSV file; a .txt or .jsonl file sent to the bot (or /add replied to a text) adds articles.

Only users in ADMIN_IDS reach these handlers (a `filters.User` on their CommandHandlers); everyone else
gets `refuse_command`, which answers politely and logs who tried.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.handlers import services
from bot.rendering import (
    ADD_USAGE_TEXT,
    ADMIN_ONLY_TEXT,
    RELOAD_BUSY_TEXT,
    RELOAD_STARTED_TEXT,
    UPLOAD_ADMIN_ONLY_TEXT,
    UPLOAD_FETCH_FAILED_TEXT,
    UPLOAD_STARTED_TEXT,
    render_reload_failure,
    render_reload_report,
    render_sources,
    render_stats,
    render_unanswered,
    render_upload_report,
)
from retrieval.answers import Problem
from retrieval.corpus.upload import MAX_UPLOAD_BYTES, UploadReport

logger = logging.getLogger(__name__)
T = TypeVar("T")
STATS_DAYS = 7
UNANSWERED_DAYS = 7
MAX_DAYS = 365


async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-ingest the data folder in a worker thread; questions keep being answered from the old index."""
    state = services(context)
    logger.info("Reload of %s requested by user %s", state.settings.data_dir, update.effective_user.id)
    done = await change_corpus(update, context, RELOAD_STARTED_TEXT, partial(state.retriever.sync, state.settings.data_dir))
    if done is None:
        return
    notice, report = done
    logger.info(
        "Reloaded in %.2fs: %d added, %d updated, %d removed, %d problems",
        report.seconds, len(report.added), len(report.updated), len(report.removed), len(report.problems),
    )
    await notice.edit_text(render_reload_report(report), parse_mode=ParseMode.HTML)


async def change_corpus(
    update: Update, context: ContextTypes.DEFAULT_TYPE, started: str, change: Callable[[], T]
) -> tuple[Message, T] | None:
    """Run one change of the corpus at a time (a reload or an upload) in a worker thread, behind a notice the
    caller edits with the result; a failure is reported on the notice and the old index keeps serving."""
    state = services(context)
    message = update.effective_message
    if state.reload_lock.locked():
        await message.reply_text(RELOAD_BUSY_TEXT)
        return None
    async with state.reload_lock:
        notice = await message.reply_text(started)
        try:
            result = await asyncio.to_thread(change)
            if state.worker is not None:
                state.worker.poke()  # the new articles' sentences are embedded in the background
            return notice, result
        except Exception as error:  # the edge: any failure is reported; the old index keeps serving
            logger.exception("Changing the corpus failed; the previous index keeps serving")
            await notice.edit_text(render_reload_failure(error), parse_mode=ParseMode.HTML)
            return None


async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The channels and feeds whose posts become articles (held, the latest, today's, what failed) and the watched folder."""
    state = services(context)
    channels = await asyncio.to_thread(state.channels.summary) if state.channels else []
    feeds = await state.feed_summaries()
    await update.effective_message.reply_html(
        render_sources(channels, feeds, state.settings, listed=bool(state.channels))
    )


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Corpus size and the last day's articles, questions today and in all, no-answer rate, answer times, feedback,
    latest misses, failing feeds."""
    state = services(context)
    corpus = await asyncio.to_thread(state.retriever.stats)
    queries = await asyncio.to_thread(state.query_log.summary)
    days = await asyncio.to_thread(state.query_log.daily, STATS_DAYS)
    failing = [feed for feed in await state.feed_summaries() if feed.error]
    await update.effective_message.reply_html(render_stats(corpus, queries, days, failing))


async def unanswered_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The most asked questions of the last days (7, or /unanswered N) that got no answer or a 👎."""
    days = UNANSWERED_DAYS
    if context.args:
        if not context.args[0].isdigit() or not 1 <= int(context.args[0]) <= MAX_DAYS:
            await update.effective_message.reply_text(f"اكتب عدد الأيام بين 1 و{MAX_DAYS}، مثل: /unanswered 30")
            return
        days = int(context.args[0])
    rows = await asyncio.to_thread(services(context).query_log.unanswered, days)
    await update.effective_message.reply_html(render_unanswered(rows, days))


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the whole query log as a CSV file (UTF-8 with a byte-order mark, so spreadsheets read the Arabic)."""
    log = services(context).query_log
    text = (await asyncio.to_thread(log.export_csv)).replace(context.bot.token, "<token>")  # even if someone typed it
    name = f"isnad-queries-{datetime.now(UTC):%Y%m%d-%H%M}.csv"
    rows = text.count("\n") - 1
    await update.effective_message.reply_document(
        document=io.BytesIO(text.encode("utf-8-sig")), filename=name, caption=f"سجل الأسئلة: {rows} سؤالًا."
    )


async def add_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's .txt or .jsonl file: checked whole, saved under a safe name, synced; the report says what."""
    document = update.effective_message.document
    if document.file_size and document.file_size > MAX_UPLOAD_BYTES:
        await update.effective_message.reply_html(render_upload_report(UploadReport(
            document.file_name or "", problems=(Problem(document.file_name or "", f"at most {MAX_UPLOAD_BYTES // 2**20} MiB"),)
        )))
        return
    try:
        data = bytes(await (await document.get_file()).download_as_bytearray())
    except TelegramError as error:
        logger.warning("Could not fetch the upload %s: %s", document.file_name, error)
        await update.effective_message.reply_text(UPLOAD_FETCH_FAILED_TEXT)
        return
    await _add_articles(update, context, document.file_name or "upload.txt", data)


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add as a reply to a text message: that text becomes an article (its first line the title)."""
    message = update.effective_message
    original = message.reply_to_message
    if original is None or not original.text:
        await message.reply_text(ADD_USAGE_TEXT)
        return
    await _add_articles(update, context, f"chat-{message.chat.id}-{original.message_id}.txt", original.text.encode("utf-8"))


async def _add_articles(update: Update, context: ContextTypes.DEFAULT_TYPE, name: str, data: bytes) -> None:
    """One change of the corpus at a time; a file taken back out if its sync fails; the old index serves meanwhile."""
    state = services(context)
    done = await change_corpus(update, context, UPLOAD_STARTED_TEXT, partial(state.retriever.add_file, state.settings.data_dir, name, data))
    if done is None:
        return
    notice, report = done
    logger.info("Upload %s by user %s: %s", name, update.effective_user.id, report.saved_as or "refused")
    await notice.edit_text(render_upload_report(report), parse_mode=ParseMode.HTML)


async def refuse_upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An article file from someone who is not an admin: refused, and logged."""
    logger.warning("Refused an upload from non-admin user %s", update.effective_user.id if update.effective_user else None)
    await update.effective_message.reply_text(UPLOAD_ADMIN_ONLY_TEXT)


async def refuse_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Politely refuse an admin command to someone who is not an admin, and log it."""
    user = update.effective_user
    logger.warning(
        "Refused %s to non-admin user %s in chat %s",
        (update.effective_message.text or "").split(maxsplit=1)[0],
        user.id if user else None,
        update.effective_chat.id,
    )
    await update.effective_message.reply_text(ADMIN_ONLY_TEXT)
