"""Chat handlers: a question in, verbatim cited quotes out; help, answer buttons, polite replies to the rest.

Handlers are thin: they parse the update, call the retriever in a worker thread (so the event loop, and
every other chat, never waits on it) and reply with what `bot.rendering` makes of the answer.
In groups the bot speaks only when addressed: `/ask question`, a mention, or a reply to one of its messages.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, MaybeInaccessibleMessage, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, MessageEntityType, ParseMode
from telegram.error import NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.conversations import Conversations
from bot.flood import FloodGate, Verdict
from bot.query_log import LoggedQuery, QueryLog, QueryLogUnavailable
from bot.rendering import (
    ERROR_TEXT,
    EXPIRED_BUTTON_TEXT,
    FEEDBACK_THANKS,
    NEW_TOPIC_TEXT,
    NO_MORE_TEXT,
    NOT_TEXT_TEXT,
    PARAGRAPH_GONE_TEXT,
    SLOW_DOWN_TEXT,
    UNKNOWN_COMMAND_TEXT,
    answer_keyboard,
    clarification_keyboard,
    examples_keyboard,
    help_text,
    question_problem,
    render_answer,
    render_channel_membership,
    render_clarification,
    render_paragraph,
)
from bot.sources.channels import ChannelArchive
from bot.sources.feeds import FeedReader, FeedSummary, read_feed_list
from retrieval import Retriever
from retrieval.answers import Answer
from retrieval.question.language import question_language
from retrieval.semantic.worker import EmbeddingWorker

logger = logging.getLogger(__name__)

TOP_K = 3
CLARIFIED_TOP_K = 10  # the quotes looked through for the article a person picked
T = TypeVar("T")
# Candidates for /start and /help: the first few the corpus answers are offered, so a corpus that
# cannot answer one never shows it.
EXAMPLE_QUESTIONS = (
    "متى زار بينيت موسكو؟",
    "أين التقى بوتين ببينيت؟",
    "كم دقيقة استمرت مكالمة نتنياهو مع بوتين؟",
    "ماذا قال بوتين عن سوريا؟",
    "لماذا انتقد نتنياهو بوتين؟",
)
SHOWN_EXAMPLES = 3
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass
class Services:
    """What the handlers work with; built once by `build_application` and kept in `bot_data`."""

    settings: Settings
    retriever: Retriever
    query_log: QueryLog
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    log_failing: bool = False  # the query log could not be written last time (warned once)
    questions: FloodGate = field(default_factory=lambda: FloodGate(0))  # per person, set from the settings
    presses: FloodGate = field(default_factory=lambda: FloodGate(0))
    worker: EmbeddingWorker | None = None  # embeds what the corpus has no vector for, in the background
    conversations: Conversations = field(default_factory=lambda: Conversations(600))  # follow-ups lean on these
    watching: asyncio.Task | None = None  # the watched data folder's loop
    channels: ChannelArchive | None = None  # the listed channels' posts, written into the data folder
    feeds: FeedReader | None = None  # the listed feeds' entries, written into the data folder
    feeding: asyncio.Task | None = None  # the feeds' polling loop

    async def feed_summaries(self) -> list[FeedSummary]:
        """Each listed feed's state (none without ISNAD_FEEDS, or while its list cannot be read)."""
        if self.feeds is None or self.settings.feeds_file is None:
            return []
        try:
            urls = await asyncio.to_thread(read_feed_list, self.settings.feeds_file)
        except (OSError, UnicodeDecodeError):
            return []
        return await asyncio.to_thread(self.feeds.summary, urls)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what the bot knows and how to ask, with example questions to tap."""
    retriever = services(context).retriever
    stats = await asyncio.to_thread(retriever.stats)
    examples = {n: answer.question for n, answer in (await asyncio.to_thread(answerable_examples, retriever)).items()}
    await update.effective_message.reply_html(
        help_text(stats, context.bot.username, list(examples.values())),
        reply_markup=examples_keyboard(examples) if examples else None,
        link_preview_options=NO_PREVIEW,
    )


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer `/ask question`, the way to ask in a group."""
    message = update.effective_message
    await answer_question(context, message, update.effective_user.id, command_argument(message.text or ""))


async def question_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message: any in a private chat, in a group only one addressed to the bot. A reply to one
    of the bot's answers leans on that answer's question."""
    message = update.effective_message
    question = addressed_text(message, context.bot)
    if question is not None:
        replied_to = message.reply_to_message.message_id if is_reply_to_bot(message, context.bot) else None
        await answer_question(context, message, update.effective_user.id, question, replied_to)


async def channel_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was made an administrator of a channel, or removed from one: logged, and the admins told whether
    its posts become articles (a channel not in ISNAD_CHANNELS never writes into the corpus)."""
    state = services(context)
    member = update.my_chat_member
    if member is None or member.chat.type != ChatType.CHANNEL:
        return
    chat = member.chat
    listed = state.channels is not None and state.channels.is_listed(chat)
    joined = member.new_chat_member.status == ChatMemberStatus.ADMINISTRATOR
    if joined == (member.old_chat_member.status == ChatMemberStatus.ADMINISTRATOR):
        return  # a change of rights, not of membership
    logger.info("%s channel %s (%s)%s", "Made an administrator of" if joined else "Removed from", chat.id, chat.title,
                "" if listed else ": not in ISNAD_CHANNELS, its posts are ignored")
    text = render_channel_membership(chat.title or str(chat.id), chat.username, joined, listed)
    for admin in sorted(state.settings.admin_ids):
        try:
            await context.bot.send_message(admin, text)
        except TelegramError as error:  # an admin who never opened a chat with the bot: the log has it
            logger.warning("Could not tell admin %s about channel %s: %s", admin, chat.id, error)


async def new_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: forget the conversation; the next question starts a new topic."""
    message = update.effective_message
    key = Conversations.key(message.chat.id, update.effective_user.id, message.chat.type == ChatType.PRIVATE)
    services(context).conversations.forget(key)
    await message.reply_text(NEW_TOPIC_TEXT)


async def unsupported_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask politely for a text question when sent a sticker, photo, voice note, file, location…"""
    message = update.effective_message
    if message.chat.type == ChatType.PRIVATE or is_reply_to_bot(message, context.bot):
        await message.reply_text(NOT_TEXT_TEXT)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point to /help instead of ignoring a command the bot does not know."""
    await update.effective_message.reply_text(UNKNOWN_COMMAND_TEXT)


async def example_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the example question whose button was tapped."""
    query = update.callback_query
    numbers = button_numbers(context)
    if numbers is None or numbers[0] >= len(EXAMPLE_QUESTIONS):
        await query.answer(EXPIRED_BUTTON_TEXT, show_alert=True)
        return
    (number,) = numbers
    await query.answer()
    await answer_question(context, query.message, query.from_user.id, EXAMPLE_QUESTIONS[number])


MAX_BUTTON_NUMBER = 2**62  # SQLite's integers end at 2**63; callback data may be crafted by hand


def button_numbers(context: ContextTypes.DEFAULT_TYPE) -> tuple[int, ...] | None:
    """The numbers a button's callback data carries, or None when it is not one of the bot's own (empty,
    crafted, or out of range): such a press gets the polite "expired" answer, never an exception."""
    match = context.match
    if not isinstance(match, re.Match):
        return None
    numbers = tuple(int(group) for group in match.groups())
    return numbers if all(abs(n) < MAX_BUTTON_NUMBER for n in numbers) else None


async def button_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[int, ...] | None:
    """The numbers of a press to act on; None when it was answered already: over the flood limit (one
    alert, then the spinner just stops) or not one of the bot's own buttons (the polite "expired")."""
    query = update.callback_query
    verdict = services(context).presses.check(query.from_user.id)
    if verdict is not Verdict.ALLOW:
        await query.answer(SLOW_DOWN_TEXT if verdict is Verdict.WARN else None, show_alert=verdict is Verdict.WARN)
        return None
    numbers = button_numbers(context)
    if numbers is None:
        await query.answer(EXPIRED_BUTTON_TEXT, show_alert=True)
    return numbers


async def pressed_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, of_quote: bool
) -> tuple[int, LoggedQuery, int] | None:
    """(query id, the logged question, the button's own number) of a press on an answer's button; None when the
    press was answered already: flooded, forged, or its question (or, ``of_quote``, its quote) gone."""
    numbers = await button_press(update, context)
    if numbers is None:
        return None
    query_id, number = numbers
    logged = await asyncio.to_thread(services(context).query_log.get, query_id)
    if logged is None or (of_quote and number >= len(logged.quotes)):
        await update.callback_query.answer(EXPIRED_BUTTON_TEXT, show_alert=True)
        return None
    return query_id, logged, number


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the next quotes for the question the button belongs to."""
    pressed = await pressed_question(update, context, of_quote=False)
    if pressed is None:
        return
    query_id, logged, offset = pressed
    query, log = update.callback_query, services(context).query_log
    asked_with = services(context).conversations.asked_with(query_id)
    answer = await asyncio.to_thread(services(context).retriever.ask, logged.question, TOP_K, offset, asked_with)
    if not answer.found:
        await query.answer(NO_MORE_TEXT, show_alert=True)
        return
    await query.answer()
    await write_log(context, log.add_quotes, query_id, offset, answer.quotes)
    await send_answer(context, query.message, query_id, answer, offset)


async def clarification_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The article the person meant: the answer's quotes from that article."""
    pressed = await pressed_question(update, context, of_quote=True)
    if pressed is None:
        return
    query_id, logged, position = pressed
    query, state = update.callback_query, services(context)
    doc_id = logged.quotes[position].doc_id
    answer = await asyncio.to_thread(state.retriever.ask, logged.question, CLARIFIED_TOP_K, 0, state.conversations.asked_with(query_id))
    chosen = tuple(q for q in answer.quotes if q.doc_id == doc_id)[:TOP_K]
    if not chosen:
        await query.answer(EXPIRED_BUTTON_TEXT, show_alert=True)
        return
    await query.answer()
    await write_log(context, state.query_log.add_quotes, query_id, len(logged.quotes), chosen)
    await send_answer(context, query.message, query_id, replace(answer, quotes=chosen, has_more=False, alternatives=()), len(logged.quotes))


async def paragraph_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the whole paragraph around a quote, the quote in bold."""
    pressed = await pressed_question(update, context, of_quote=True)
    if pressed is None:
        return
    _, logged, position = pressed
    query = update.callback_query
    quote = logged.quotes[position]
    try:
        text = await asyncio.to_thread(services(context).retriever.paragraph, quote.doc_id, quote.paragraph)
    except KeyError:
        await query.answer(PARAGRAPH_GONE_TEXT, show_alert=True)
        return
    await query.answer()
    await send_html(context, query.message, render_paragraph(quote.title, quote.paragraph, text, quote.text))


async def feedback_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store 👍 or 👎 with the question."""
    numbers = await button_press(update, context)
    if numbers is None:
        return
    query = update.callback_query
    query_id, value = numbers
    await write_log(context, services(context).query_log.set_feedback, query_id, value)
    await query.answer(FEEDBACK_THANKS[value])


async def expired_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press the bot no longer understands, so its spinner stops."""
    await update.callback_query.answer(EXPIRED_BUTTON_TEXT, show_alert=True)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error and tell the person something went wrong, instead of going silent."""
    if update is None and isinstance(context.error, NetworkError):
        # getUpdates failed; PTB's polling loop retries with backoff and loses no update.
        logger.warning("Telegram is unreachable, retrying: %s", context.error)
        return
    logger.error("Error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        await context.bot.send_message(update.effective_chat.id, ERROR_TEXT)


async def answer_question(
    context: ContextTypes.DEFAULT_TYPE, message: MaybeInaccessibleMessage, user_id: int, question: str, replied_to: int | None = None
) -> None:
    """Log the question, answer it in a worker thread while "typing…" shows (a follow-up with its conversation's
    context), reply with quotes and buttons."""
    verdict = services(context).questions.check(user_id)
    if verdict is not Verdict.ALLOW:
        if verdict is Verdict.WARN:
            logger.warning("Flood: user %s in chat %s is over the limit; answering again when the minute passes", user_id, message.chat.id)
            await send_html(context, message, SLOW_DOWN_TEXT)
        return
    retriever = services(context).retriever
    problem = question_problem(question, retriever.answers_in(question_language(question)))
    if problem:
        await send_html(context, message, problem)
        return
    log = services(context).query_log
    # Logged before answering: a crash mid-answer still leaves the question in the log. A log that cannot
    # be written (disk full, locked) does not stop the answer; its buttons then have nothing to refer to.
    query_id = await write_log(context, log.record, message.chat.id, user_id, question)
    try:
        await message.chat.send_action(ChatAction.TYPING)
    except TelegramError as error:
        logger.warning("Could not show typing in chat %s: %s", message.chat.id, error)
    conversations = services(context).conversations
    key = Conversations.key(message.chat.id, user_id, message.chat.type == ChatType.PRIVATE)
    leaned_on = conversations.context_for(key, question, replied_to)
    answer = await asyncio.to_thread(retriever.ask, question, TOP_K, 0, leaned_on)
    turn = conversations.remember(key, question, answer, leaned_on, query_id)
    if query_id is None:
        sent = await send_html(context, message, render_answer(answer).html)
    elif answer.alternatives:  # unsure between two articles: ask which was meant
        await write_log(context, log.complete, query_id, replace(answer, quotes=answer.alternatives))
        sent = await send_html(context, message, render_clarification(answer), clarification_keyboard(query_id, answer))
    else:
        await write_log(context, log.complete, query_id, answer)
        sent = await send_answer(context, message, query_id, answer, 0)
    conversations.answered_by(message.chat.id, sent.message_id, turn)


async def write_log(context: ContextTypes.DEFAULT_TYPE, write: Callable[..., T], *args: object) -> T | None:
    """A query-log write in a worker thread; if the log cannot be written, None, and one warning until it can again."""
    state = services(context)
    try:
        result = await asyncio.to_thread(write, *args)
    except QueryLogUnavailable as error:
        if not state.log_failing:
            logger.warning("The query log cannot be written (%s); questions are answered, not logged, until it can", error)
        state.log_failing = True
        return None
    if state.log_failing:
        logger.info("The query log is writable again")
        state.log_failing = False
    return result


async def send_answer(
    context: ContextTypes.DEFAULT_TYPE, message: MaybeInaccessibleMessage, query_id: int, answer: Answer, offset: int
) -> Message:
    """Reply with quotes offset+1… of an answer, and the buttons that go with them."""
    rendered = render_answer(answer, first_number=offset + 1)
    more = rendered.shown < len(answer.quotes) or answer.has_more
    keyboard = answer_keyboard(query_id, offset, rendered.shown, offset + rendered.shown if more else None)
    return await send_html(context, message, rendered.html, keyboard)


async def send_html(
    context: ContextTypes.DEFAULT_TYPE, message: MaybeInaccessibleMessage, html: str, keyboard: InlineKeyboardMarkup | None = None
) -> Message:
    """Send HTML to `message`'s chat; in a group as a reply to it, so the thread stays readable."""
    reply_to = None
    if message.chat.type != ChatType.PRIVATE:
        reply_to = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    return await context.bot.send_message(
        message.chat.id,
        html,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
        reply_parameters=reply_to,
        link_preview_options=NO_PREVIEW,
    )


def answerable_examples(retriever: Retriever) -> dict[int, Answer]:
    """Up to SHOWN_EXAMPLES example questions (by number) that the current corpus answers, with their answers."""
    examples: dict[int, Answer] = {}
    for number, question in enumerate(EXAMPLE_QUESTIONS):
        if len(examples) < SHOWN_EXAMPLES and (answer := retriever.ask(question, top_k=1)).found:
            examples[number] = answer
    return examples


def command_argument(text: str) -> str:
    """'/ask@bot  متى…؟' -> 'متى…؟'."""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


def is_reply_to_bot(message: Message, bot: Bot) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot.id)


def addressed_text(message: Message, bot: Bot) -> str | None:
    """The question in a text message without the bot's @mention, or None in a group if not addressed."""
    text = message.text or ""
    mention = f"@{bot.username}"
    mentioned = any(found.lower() == mention.lower() for found in message.parse_entities([MessageEntityType.MENTION]).values())
    if message.chat.type != ChatType.PRIVATE and not (mentioned or is_reply_to_bot(message, bot)):
        return None
    return " ".join(re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).split())
