"""A conversation, not a search box: which messages lean on the previous question, and what they carry over.

After «متى سافر بينيت إلى موسكو؟» people write «وكم ساعة استمر اجتماعهما؟» or «ومتى قال ذلك؟»: a message that
opens with a conjunction, points back (ذلك، فيها، بعده، a pronoun suffix: اجتماعهما) or has hardly a word of
its own continues the conversation. Such a follow-up is asked with the conversation's topic: the previous
question's content words, at a lower weight than its own (``RankingParams.context_weight``), and the
articles the previous answer quoted. A message with words enough of its own starts a new topic, untouched
by the old one, whatever conjunction it opens with.

    turn = Turn.of(question, answer)                         # what the conversation remembers
    if is_follow_up(next_question):
        retriever.ask(next_question, context=turn.context)   # the topic lends its words and articles
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.answers import Answer
from retrieval.text.arabic import QUESTION_WORDS, as_written, content_tokens, normalize_arabic, tokenize

# Words that point back at what was said: demonstratives, and prepositions and adverbs carrying a pronoun.
_ANAPHOR_WORDS = """
    ذلك ذاك تلك هذا هذه هذي هاد هادا هداك هديك هيك هناك هنالك هنا حينها وقتها عندها بعدها بعده قبله قبلها
    خلاله خلالها فيه فيها فيهم فيهما منه منها منهم منهما عنه عنها عنهم عنهما له لها لهم لهما به بها بهم بهما
    معه معها معهم معهما عليه عليها عليهم عليهما إليه إليها إليهم اليه اليها اليهم بينهما بينهم لديه لديها
    أثناءها اثناءها أثناءه اثناءه حوله حولها ضده ضدها
"""
ANAPHORS = frozenset(map(normalize_arabic, _ANAPHOR_WORDS.split()))
# A word ending in one of these pronoun suffixes as written (ها، هما، هم; not the ة that normalizing turns into ه).
_PRONOUN_SUFFIX = re.compile(r"(?:هما|هم|ها)$")
_ARABIC_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u0640]")
# A follow-up has at most this many words of its own: any message (an ellipsis: «كم استغرقت؟»), one opening
# with a conjunction, one pointing back.
ELLIPTICAL_WORDS = 1
CONJUNCTION_WORDS = 3
ANAPHOR_WORDS = 4
TOPIC_WORDS = 8  # the topic keeps the latest this many content words
TOPIC_CHARS = 400  # and the encoder reads at most this much of the conversation before the follow-up


def own_words(question: str) -> list[str]:
    """The question's content words that are its own (words pointing back are not)."""
    return [w for w in dict.fromkeys(content_tokens(question)) if w not in ANAPHORS]


def opens_with_conjunction(question: str) -> bool:
    """و or ف before the first word (ومتى، فأين، وعلى ماذا), or before a question word."""
    tokens = tokenize(question)
    if not tokens:
        return False
    first = tokens[0]
    return len(first) > 1 and first[0] in "وف" and (first[1:] in QUESTION_WORDS or len(first) > 2)


def points_back(question: str) -> bool:
    """A demonstrative or a pronoun (ذلك، فيها، بعده، اجتماعهما) refers to what came before."""
    if any(token in ANAPHORS or token[1:] in ANAPHORS for token in tokenize(question)):
        return True
    raw = [_ARABIC_DIACRITICS.sub("", w.strip("؟?!.,،؛:«»\"'()")) for w in question.split()]
    return any(len(w) >= 5 and _PRONOUN_SUFFIX.search(w) and normalize_arabic(w) not in QUESTION_WORDS for w in raw)


def is_follow_up(question: str, replying: bool = False) -> bool:
    """Whether a message continues the conversation: a reply to one of the bot's answers, or a message with
    hardly a word of its own, or few words and a conjunction or a word pointing back. (Whether there is a
    conversation to continue, one not gone quiet, is the caller's to know.)"""
    if replying:
        return True
    own = len(own_words(question))
    if own <= ELLIPTICAL_WORDS:
        return True
    if points_back(question) and own <= ANAPHOR_WORDS:
        return True
    return opens_with_conjunction(question) and own <= CONJUNCTION_WORDS


@dataclass(frozen=True)
class Context:
    """What a follow-up leans on: the topic's words and question, and the articles its answer quoted."""

    question: str  # the previous question, as read (what the encoder embeds before the follow-up)
    words: tuple[str, ...]  # the topic's content words, as written
    doc_ids: tuple[str, ...]  # the articles the previous answer quoted, best first


@dataclass(frozen=True)
class Turn:
    """What a conversation remembers of an answered question."""

    context: Context

    @classmethod
    def of(cls, question: str, answer: Answer, leaned_on: Context | None = None) -> Turn:
        """The turn after ``question`` was answered (``leaned_on``: the context it was asked with, if any)."""
        written = as_written(question)
        own = [written.get(w, w) for w in own_words(question)]
        inherited = [w for w in leaned_on.words if w not in own] if leaned_on else []
        words = tuple((own + inherited)[:TOPIC_WORDS])
        read = f"{leaned_on.question} {question}"[-TOPIC_CHARS:] if leaned_on else question
        quoted = tuple(dict.fromkeys(q.doc_id for q in answer.quotes)) or (leaned_on.doc_ids if leaned_on else ())
        return cls(Context(read, words, quoted))


def reading(question: str, context: Context) -> str:
    """How a follow-up was read, for the one line that shows it: the message, and the topic it leans on."""
    return f"{question.strip()} (عن: {' '.join(context.words[:TOPIC_WORDS])})"
