"""Inline mode: `@bot question` in any chat lists the quotes that answer it, each ready to send into that chat.

An empty query lists the example questions the corpus answers, each with its answer. Every result's
message is the same HTML a chat answer has (one quote and its source), within Telegram's limits. Telegram
caches the results for INLINE_CACHE_SECONDS; the question is logged like any other.
"""

from __future__ import annotations

import asyncio

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.handlers import answerable_examples, services, write_log
from bot.rendering import question_problem, render_answer, shorten
from retrieval.answers import Answer
from retrieval.question.language import question_language

INLINE_RESULTS = 5
INLINE_CACHE_SECONDS = 300  # the corpus changes by /reload; five minutes of staleness is acceptable
TITLE_CHARS = 90
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an inline query with its quotes, or with the examples when it is empty."""
    query = update.inline_query
    text = query.query.strip()
    state = services(context)
    if not text:
        examples = await asyncio.to_thread(answerable_examples, state.retriever)
        results = [example_result(n, answer) for n, answer in examples.items()]
    elif question_problem(text, state.retriever.answers_in(question_language(text))):
        results = []  # not a question isnad can take: Telegram shows nothing, as it does for an unknown word
    else:
        answer = await asyncio.to_thread(state.retriever.ask, text, INLINE_RESULTS)
        await write_log(context, state.query_log.record, None, query.from_user.id, text, answer)
        results = inline_results(answer)
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS)


def inline_results(answer: Answer) -> list[InlineQueryResultArticle]:
    """One result a quote (the quote as title, its article as description); or one saying there is no answer."""
    if not answer.found:
        html = render_answer(answer).html
        return [_article("none", "لا إجابة في المقالات", answer.no_answer_reason or "", html)]
    results = []
    for n, quote in enumerate(answer.quotes):
        single = Answer(answer.question, (quote,), answer.elapsed_ms, confidence=answer.confidence)
        source = f"{quote.title} — الفقرة {quote.paragraph}"
        results.append(_article(f"q{n}", shorten(quote.text, TITLE_CHARS), source, render_answer(single).html))
    return results


def example_result(number: int, answer: Answer) -> InlineQueryResultArticle:
    """An example question (one the corpus answers) as a result whose message is its answer."""
    return _article(f"x{number}", answer.question, shorten(answer.quotes[0].text, TITLE_CHARS), render_answer(answer).html)


def _article(result_id: str, title: str, description: str, html: str) -> InlineQueryResultArticle:
    """A result whose message is ``html`` (render_answer keeps it within Telegram's 4,096 characters)."""
    content = InputTextMessageContent(html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
    return InlineQueryResultArticle(result_id, title, content, description=description)
