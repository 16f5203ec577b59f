"""Conversations end to end (the real python-telegram-bot client, the fake Telegram, a real retriever): a
follow-up is read with the question before it and says so, a reply leans on the answer it replies to, chats
never see each other's conversation, /new and a quiet while forget it, and an unsure answer asks which
article was meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.fake_telegram import FakeTelegram
from bot.rendering import NEW_TOPIC_TEXT
from retrieval import engine
from tests.bot.running import RunningBot, buttons, make_corpus, quotes_of, running_bot

READ_AS = "فهمت سؤالك"
FIRST = "متى سافر بينيت إلى موسكو؟"
FOLLOW_UP = "ومع من تحدث بعد ذلك؟"


async def test_a_three_turn_conversation(bot: RunningBot) -> None:
    first = await bot.ask(1, FIRST)
    assert READ_AS not in first["plain_text"] and quotes_of(first)
    second = await bot.ask(1, FOLLOW_UP)
    assert f"{READ_AS}: {FOLLOW_UP} (عن: سافر بينيت موسكو)" in second["plain_text"]
    assert any("زيلينسكي" in quote for quote in quotes_of(second))
    third = await bot.ask(1, "وكم ساعة استمر اجتماعهما؟")
    assert READ_AS in third["plain_text"] and "بينيت" in third["plain_text"].split("\n")[1]
    # A question of its own starts a new topic: no reading line, its own answer.
    fresh = await bot.ask(1, "كم مواطناً روسياً أُجلي من غزة يوم الأحد؟")
    assert READ_AS not in fresh["plain_text"] and quotes_of(fresh)


async def test_two_chats_interleaved_never_share_a_conversation(bot: RunningBot) -> None:
    await bot.ask(2, FIRST)
    await bot.ask(3, "ماذا قال بوتين عن حق إسرائيل في الدفاع عن نفسها؟")
    in_two = await bot.ask(2, "ومتى قال ذلك؟")
    in_three = await bot.ask(3, "ومتى قال ذلك؟")
    assert "(عن: سافر بينيت موسكو)" in in_two["plain_text"]
    assert "حق" in in_three["plain_text"].split("\n")[1] and "بينيت" not in in_three["plain_text"].split("\n")[1]
    # In a group, each person has their own conversation.
    group = -2001
    await bot.ask(group, f"/ask {FIRST}", chat_type="group", user_id=71)
    other = await bot.ask(group, "/ask ومتى قال ذلك؟", chat_type="group", user_id=72)
    assert READ_AS not in other["plain_text"]
    same = await bot.ask(group, "/ask ومتى قال ذلك؟", chat_type="group", user_id=71)
    assert READ_AS in same["plain_text"]


async def test_a_reply_leans_on_the_answer_it_replies_to(bot: RunningBot) -> None:
    moscow = await bot.ask(4, FIRST)
    await bot.ask(4, "كم مواطناً روسياً أُجلي من غزة يوم الأحد؟")
    # Replying to the first answer, not the latest: the Moscow visit is the topic.
    reply = await bot.ask(4, "ومن قال ذلك؟", reply_to_message_id=moscow["message_id"])
    assert "(عن: سافر بينيت موسكو)" in reply["plain_text"]


async def test_new_forgets_the_conversation(bot: RunningBot) -> None:
    await bot.ask(5, FIRST)
    assert (await bot.ask(5, "/new"))["plain_text"] == NEW_TOPIC_TEXT
    after = await bot.ask(5, FOLLOW_UP)
    assert READ_AS not in after["plain_text"]


async def test_a_conversation_gone_quiet_is_forgotten(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    async with running_bot(make_corpus(tmp_path), fake_telegram, context_minutes=0) as quick:
        await quick.ask(6, FIRST)
        assert READ_AS not in (await quick.ask(6, FOLLOW_UP))["plain_text"]


async def test_an_unsure_answer_asks_which_article_was_meant(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "CLARIFY_BELOW", 1.01)  # every answer unsure; two articles nearly alike
    monkeypatch.setattr(engine, "CLARIFY_SHARE", 0.0)
    asked = await bot.ask(7, "ماذا قال بوتين عن إسرائيل؟")
    assert "هل تقصد" in asked["plain_text"] and not quotes_of(asked)
    choices = [data for data in buttons(asked) if data.startswith("c:")]
    assert len(choices) == 2
    titles = asked["plain_text"].split("\n")[-2:]
    bot.fake.press_button(7, asked["message_id"], choices[1])
    [answer] = await bot.fake.await_messages(7, 1)
    assert quotes_of(answer)
    assert titles[1][3:40] in answer["plain_text"]  # quoted from the article picked
