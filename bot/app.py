"""Wire the Telegram bot: handlers, flood control, retries, error handling; `isnad bot` runs it.

Run it with a token from @BotFather in `.env` (TELEGRAM_BOT_TOKEN=...) and `isnad bot`; without one,
`isnad demo` runs the same application against the fake Bot API in `bot.fake_telegram`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from telegram import BotCommand, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.admin import (
    add_command,
    add_document,
    export_command,
    refuse_command,
    refuse_upload,
    reload_command,
    sources_command,
    stats_command,
    unanswered_command,
)
from bot.config import ConfigError, Settings
from bot.conversations import Conversations
from bot.flood import FloodGate
from bot.handlers import (
    Services,
    ask_command,
    channel_membership,
    clarification_button,
    error_handler,
    example_button,
    expired_button,
    feedback_button,
    help_command,
    more_button,
    new_command,
    paragraph_button,
    question_message,
    unknown_command,
    unsupported_message,
)
from bot.inline import inline_query
from bot.query_log import QueryLog
from bot.sources.channels import FOLDER as CHANNELS_FOLDER
from bot.sources.channels import ArchivingRequest, ChannelArchive
from bot.sources.feeds import FOLDER as FEEDS_FOLDER
from bot.sources.feeds import FeedReader, poll_feeds
from bot.sources.watcher import watch
from retrieval import IngestReport, RetrievalError, Retriever
from retrieval.semantic.encoder import E5Encoder, load_encoder
from retrieval.semantic.worker import EmbeddingWorker

logger = logging.getLogger(__name__)

FLOOD_RETRIES = 5  # a 429 is waited out (retry_after) this many times before a send gives up
NETWORK_RETRIES = 4  # a 5xx or a dropped connection on a send is retried this many times, with backoff
POLL_TIMEOUT_SECONDS = 10  # long-poll duration of getUpdates
BOOTSTRAP_RETRIES = -1  # getMe/deleteWebhook at start-up: retried with backoff until Telegram answers (a 401 stops it)

COMMANDS = (
    BotCommand("ask", "اطرح سؤالًا (في المجموعات: /ask ثم السؤال)"),
    BotCommand("help", "ما الذي أعرفه وكيف تسألني"),
    BotCommand("new", "موضوع جديد: انسَ ما سبق من المحادثة"),
    BotCommand("start", "البداية"),
)


class DeliveryRateLimiter(AIORateLimiter):
    """AIORateLimiter (flood limits, 429 retry_after waited out) that also retries 5xx and dropped
    connections on the bot's own requests, so a reply is not lost to a transient Bot API failure.

    A 400 is the bot's fault and a timeout may have been delivered already: neither is retried.
    Chat actions bypass it: each answer would otherwise spend half the flood budget on "typing…".
    """

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint == "sendChatAction":
            # "typing…" is a hint, not a message: it does not wait behind the messages' flood limit,
            # and a failure is only logged by the handler.
            return await callback(*args, **kwargs)
        attempt = 0
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (BadRequest, TimedOut):
                raise
            except NetworkError as error:
                if attempt == NETWORK_RETRIES:
                    raise
                delay = 0.5 * 2**attempt
                logger.warning("%s failed (%s); retrying in %.1fs", endpoint, error, delay)
                await asyncio.sleep(delay)
                attempt += 1


class TokenRedactor(logging.Filter):
    """Replace the bot token in any log record, wherever it came from (URLs in library messages)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg, record.args = message.replace(self._token, "<token>"), None
        return True


def configure_logging(level: str, token: str | None = None) -> None:
    """Log to stderr at `level`; httpx (one line per request, with the token in the URL) at WARNING."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if token:
        for handler in logging.getLogger().handlers:
            handler.addFilter(TokenRedactor(token))


def build_application(settings: Settings, retriever: Retriever, query_log: QueryLog) -> Application:
    """The bot: handlers over one retriever and query log, concurrent updates, flood control, retries."""
    admins = filters.User(user_id=settings.admin_ids)
    channels = ChannelArchive(settings.data_dir, settings.channels) if settings.channels else None
    update_timeouts = {"connect_timeout": 10, "read_timeout": POLL_TIMEOUT_SECONDS + 5}
    updates_request = ArchivingRequest(channels, **update_timeouts) if channels else HTTPXRequest(1, **update_timeouts)
    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.file_url)
        .rate_limiter(DeliveryRateLimiter(max_retries=FLOOD_RETRIES))
        # One slow answer or a reload must not stall other chats.
        .concurrent_updates(True)
        .connect_timeout(10)
        .read_timeout(15)
        .write_timeout(15)
        .pool_timeout(15)
        .get_updates_request(updates_request)
        .post_init(start_up)
        .post_stop(shut_down)
        .build()
    )
    encoder = retriever.encoder
    application.bot_data["services"] = Services(
        settings, retriever, query_log,
        questions=FloodGate(settings.flood_per_minute), presses=FloodGate(settings.flood_per_minute),
        worker=EmbeddingWorker(retriever, partial(E5Encoder, threads=1)) if isinstance(encoder, E5Encoder) else None,
        conversations=Conversations(settings.context_minutes * 60),
        channels=channels,
        feeds=FeedReader(settings.data_dir, settings.feed_minutes) if settings.feeds_file else None,
    )

    # Channels: their posts are archived as they are fetched (ArchivingRequest); the admins are told when someone
    # makes the bot an administrator of a channel
    application.add_handler(ChatMemberHandler(channel_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    # Everyone
    application.add_handler(CommandHandler(["start", "help"], help_command))
    application.add_handler(CommandHandler("ask", ask_command))
    application.add_handler(CommandHandler("new", new_command))
    # Admins; the same commands from anyone else are refused
    application.add_handler(CommandHandler("reload", reload_command, filters=admins))
    application.add_handler(CommandHandler("stats", stats_command, filters=admins))
    application.add_handler(CommandHandler("sources", sources_command, filters=admins))
    application.add_handler(CommandHandler("unanswered", unanswered_command, filters=admins))
    application.add_handler(CommandHandler("export", export_command, filters=admins))
    application.add_handler(CommandHandler("add", add_command, filters=admins))
    application.add_handler(CommandHandler(["reload", "stats", "sources", "unanswered", "export", "add"], refuse_command))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL & admins, add_document))
    article_file = filters.Document.FileExtension("txt") | filters.Document.FileExtension("jsonl")
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & article_file & filters.ChatType.PRIVATE, refuse_upload))
    # Questions, unknown commands, and messages that are not text
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, question_message))
    private_command = filters.UpdateType.MESSAGE & filters.COMMAND & filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private_command, unknown_command))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL, unsupported_message))
    # Buttons: callback_data carries ids only (<= 64 bytes); the question is looked up in the query log
    application.add_handler(CallbackQueryHandler(example_button, pattern=r"^x:(\d+)$"))
    application.add_handler(CallbackQueryHandler(more_button, pattern=r"^m:(\d+):(\d+)$"))
    application.add_handler(CallbackQueryHandler(paragraph_button, pattern=r"^p:(\d+):(\d+)$"))
    application.add_handler(CallbackQueryHandler(clarification_button, pattern=r"^c:(\d+):(\d+)$"))
    application.add_handler(CallbackQueryHandler(feedback_button, pattern=r"^f:(\d+):([+-]1)$"))
    application.add_handler(CallbackQueryHandler(expired_button))
    # Inline mode: @bot question in any chat (enable it with @BotFather's /setinline)
    application.add_handler(InlineQueryHandler(inline_query))

    application.add_error_handler(error_handler)
    return application


async def start_up(application: Application) -> None:
    """Embed a small corpus's missing vectors (a large one's in the background), watch the data folder, poll the
    feeds, publish the command menu (admin commands stay unlisted)."""
    services = application.bot_data["services"]
    worker = services.worker
    if worker is not None:
        await asyncio.to_thread(worker.start)
    if services.settings.sync_seconds:

        def sync() -> IngestReport:
            report = services.retriever.sync(services.settings.data_dir)
            if worker is not None:
                worker.poke()
            return report

        settings = services.settings
        own = (CHANNELS_FOLDER, FEEDS_FOLDER)
        services.watching = asyncio.create_task(watch(settings.data_dir, settings.sync_seconds, sync, services.reload_lock, own))
    if services.feeds is not None:
        services.feeding = asyncio.create_task(poll_feeds(services.feeds, services.settings.feeds_file))
    await application.bot.set_my_commands(COMMANDS)
    logger.info("Bot @%s is up", application.bot.username)


async def shut_down(application: Application) -> None:
    services = application.bot_data["services"]
    for task in (services.watching, services.feeding):
        if task is not None:
            task.cancel()
    if services.feeds is not None:
        services.feeds.close()
    if services.worker is not None:
        await asyncio.to_thread(services.worker.stop)


def open_corpus(settings: Settings) -> tuple[Retriever, IngestReport]:
    """The retriever over the settings' database (with the sentence encoder they name, when it can run here),
    brought up to date with the data folder."""
    retriever = Retriever.open(settings.db_path, encoder=load_encoder(settings.encoder))
    return retriever, retriever.sync(settings.data_dir)


@asynccontextmanager
async def polling(application: Application) -> AsyncIterator[Application]:
    """Run the application inside the current event loop until the block exits (demo, load test, tests).

    The same steps as `Application.run_polling`, which owns its loop and the process signals.
    """

    def polling_error(error: Exception) -> None:
        application.create_task(application.process_error(update=None, error=error))

    async with application:
        if application.post_init:
            await application.post_init(application)
        await application.updater.start_polling(
            poll_interval=0,
            timeout=POLL_TIMEOUT_SECONDS,
            allowed_updates=Update.ALL_TYPES,
            error_callback=polling_error,
        )
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)


def run_bot(settings: Settings) -> int:
    """`isnad bot`: bring the store up to date with the data folder, then long-poll Telegram."""
    try:
        token = settings.require_token()
    except ConfigError as error:
        print(f"isnad bot: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, token)
    try:
        retriever, report = open_corpus(settings)
    except RetrievalError as error:
        print(f"isnad bot: {error}", file=sys.stderr)
        return 1
    logger.info(
        "Corpus %s: %d articles, %d passages, %d sentences (%d added, %d updated, %d removed)",
        settings.data_dir,
        report.documents,
        report.passages,
        report.sentences,
        len(report.added),
        len(report.updated),
        len(report.removed),
    )
    for problem in report.problems:
        logger.warning("Skipped %s", problem)
    query_log = QueryLog(settings.db_path, settings.log_user_ids, settings.log_days)
    try:
        build_application(settings, retriever, query_log).run_polling(
            timeout=POLL_TIMEOUT_SECONDS,
            bootstrap_retries=BOOTSTRAP_RETRIES,
            allowed_updates=Update.ALL_TYPES,
        )
    except InvalidToken:
        print(
            "isnad bot: Telegram rejected TELEGRAM_BOT_TOKEN. Check it with @BotFather "
            "(/mybots → API Token), or run `isnad demo`, which needs no token.",
            file=sys.stderr,
        )
        return 2
    finally:
        query_log.close()
    return 0
