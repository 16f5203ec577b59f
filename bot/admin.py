"""Admin commands: /reload re-ingests the data folder without a restart; /stats shows corpus and usage;
/unanswered lists the questions that got no answer or a 👎 (the bot's to-do list); /export sends the
query log as a CSV file.

Only users in ADMIN_IDS reach these handlers (a `filters.User` on their CommandHandlers); everyone else
gets `refuse_command`, which answers politely and logs who tried.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.handlers import services
from bot.rendering import (
    ADMIN_ONLY_TEXT,
    RELOAD_BUSY_TEXT,
    RELOAD_STARTED_TEXT,
    render_reload_failure,
    render_reload_report,
    render_stats,
    render_unanswered,
)

logger = logging.getLogger(__name__)
STATS_DAYS = 7
UNANSWERED_DAYS = 7
MAX_DAYS = 365


async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-ingest the data folder in a worker thread; questions keep being answered from the old index."""
    state = services(context)
    message = update.effective_message
    if state.reload_lock.locked():
        await message.reply_text(RELOAD_BUSY_TEXT)
        return
    async with state.reload_lock:
        notice = await message.reply_text(RELOAD_STARTED_TEXT)
        logger.info("Reload of %s requested by user %s", state.settings.data_dir, update.effective_user.id)
        try:
            report = await asyncio.to_thread(state.retriever.sync, state.settings.data_dir)
        except Exception as error:  # the edge: any failure is reported; the old index keeps serving
            logger.exception("Reload failed; the previous index keeps serving")
            await notice.edit_text(render_reload_failure(error), parse_mode=ParseMode.HTML)
            return
        logger.info(
            "Reloaded in %.2fs: %d added, %d updated, %d removed, %d problems",
            report.seconds,
            len(report.added),
            len(report.updated),
            len(report.removed),
            len(report.problems),
        )
        await notice.edit_text(render_reload_report(report), parse_mode=ParseMode.HTML)


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Corpus size, questions today and in all, no-answer rate, answer times, feedback, latest misses."""
    state = services(context)
    corpus = await asyncio.to_thread(state.retriever.stats)
    queries = await asyncio.to_thread(state.query_log.summary)
    days = await asyncio.to_thread(state.query_log.daily, STATS_DAYS)
    await update.effective_message.reply_html(render_stats(corpus, queries, days))


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
    text = await asyncio.to_thread(log.export_csv)
    name = f"isnad-queries-{datetime.now(UTC):%Y%m%d-%H%M}.csv"
    rows = text.count("\n") - 1
    await update.effective_message.reply_document(
        document=io.BytesIO(text.encode("utf-8-sig")), filename=name, caption=f"سجل الأسئلة: {rows} سؤالًا."
    )


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
