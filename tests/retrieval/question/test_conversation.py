"""Follow-ups: which messages lean on the conversation, what they carry over, and that a question of its own
is never touched by the one before."""

from __future__ import annotations

import pytest

from retrieval import Retriever
from retrieval.answers import Answer
from retrieval.question.conversation import Context, Turn, is_follow_up, own_words, points_back
from retrieval.question.language import question_language


@pytest.mark.parametrize(
    "message",
    [
        "ولماذا؟",  # nothing of its own
        "ومتى حدث ذلك؟",  # a demonstrative
        "وماذا قال عنه؟",  # a pronoun on a preposition
        "وأين عقدت قمتهما؟",  # a dual pronoun on a noun
        "وهل وافق عليها الطرفان؟",
        "ومن حضر الاجتماع؟",  # a conjunction and two words
        "فأين كان ذلك بالضبط؟",
        "وماذا عن إيران؟",
        "كم استغرقت؟",  # one word of its own
        "متى؟",
    ],
)
def test_messages_that_lean_on_the_conversation(message: str) -> None:
    assert is_follow_up(message)


@pytest.mark.parametrize(
    "message",
    [
        "متى زار بينيت موسكو؟",
        "كم مواطناً روسياً أُجلي من غزة يوم الأحد؟",
        "وكم مواطناً روسياً أُجلي من قطاع غزة يوم الأحد الماضي؟",  # a conjunction, but a question of its own
        "ما هي أعراض الإنفلونزا الموسمية عند الأطفال؟",
        "من هو رئيس وزراء الهند الحالي؟",
        "ماذا قال بوتين عن حق إسرائيل في الدفاع عن نفسها؟",  # نفسها is reflexive, not a pointer back
        "وما الهدية التي قدمها الرئيس الروسي لضيفه الإسرائيلي في سوتشي؟",
    ],
)
def test_questions_that_start_a_new_topic(message: str) -> None:
    assert not is_follow_up(message)


def test_a_reply_to_an_answer_always_leans_on_it() -> None:
    assert is_follow_up("كم مواطناً روسياً أُجلي من غزة يوم الأحد؟", replying=True)


def test_pointers_back_and_own_words() -> None:
    assert points_back("وكم ساعة استمر اجتماعهما؟") and not points_back("كم ساعة استمر الاجتماع؟")
    assert own_words("ومع من تحدث بعده؟") == ["تحدث"]


def test_the_topic_carries_over_and_stays_short() -> None:
    first = Turn.of("متى زار بينيت موسكو؟", Answer("q", (), 1.0))
    assert first.context.words == ("زار", "بينيت", "موسكو")
    second = Turn.of("وكم ساعة استمر اجتماعهما؟", Answer("q", (), 1.0), first.context)
    assert second.context.words[:3] == ("ساعة", "استمر", "اجتماعهما") and "موسكو" in second.context.words
    assert second.context.question.startswith("متى زار بينيت موسكو؟")
    long = Context("س " * 500, tuple(f"كلمة{n}" for n in range(20)), ())
    assert len(Turn.of("ولماذا؟", Answer("q", (), 1.0), long).context.words) <= 8


def test_a_follow_up_is_answered_from_the_conversation(seed_retriever: Retriever) -> None:
    first = seed_retriever.ask("متى زار بينيت موسكو؟")
    context = Turn.of("متى زار بينيت موسكو؟", first).context
    follow = seed_retriever.ask("ومع من تحدث بعد ذلك؟", context=context)
    assert follow.found and follow.reading and "بينيت" in follow.reading
    assert follow.quotes[0].doc_id in context.doc_ids
    assert seed_retriever.ask("ومع من تحدث بعد ذلك؟").reading is None


def test_a_question_without_context_is_untouched(seed_retriever: Retriever) -> None:
    asked = seed_retriever.ask("كم مواطناً روسياً أُجلي من غزة؟")
    again = seed_retriever.ask("كم مواطناً روسياً أُجلي من غزة؟", context=None)
    assert [q.text for q in asked.quotes] == [q.text for q in again.quotes] and asked.reading is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("متى زار بينيت موسكو؟", "ar"),
        ("When did Bennett visit Moscow?", "en"),
        ("Who did Bennett talk to after the meeting?", "en"),
        ("Quand Bennett a-t-il visité Moscou ?", "fr"),
        ("Pourquoi Israël est-il un médiateur ?", "fr"),
        ("¿Cuándo visitó Bennett Moscú?", "other"),
        ("Wann besuchte Bennett Moskau und wo war er danach?", "other"),
        ("😀👍", "other"),
        ("hello", "other"),
        ("Bennett Moscow?", "en"),
    ],
)
def test_the_question_s_language(text: str, language: str) -> None:
    assert question_language(text) == language


def test_a_question_in_another_language_without_vectors_says_so(seed_retriever: Retriever) -> None:
    answer = seed_retriever.ask("When did Bennett visit Moscow?")
    assert not answer.found and answer.language == "en" and "sentence vectors" in answer.no_answer_reason
    assert not seed_retriever.answers_in("en") and seed_retriever.answers_in("ar")
