"""Each chat's conversation: the last answered question (per person in a group), so that a follow-up
(«ومتى قال ذلك؟») is read with it. Kept in memory only: forgotten after a quiet while, by /new, and by a
restart; never shared between chats or people.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from retrieval.answers import Answer
from retrieval.question.conversation import Context, Turn, is_follow_up

Key = tuple[int, int]  # (chat id, user id in a group; 0 in a private chat)
REMEMBERED_ANSWERS = 2000  # the bot's answers whose turn a reply can lean on, and questions whose context "more" reuses


class Conversations:
    """The conversations of every chat, each forgotten after ``quiet_seconds`` without a question."""

    def __init__(self, quiet_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet_seconds = quiet_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._latest: dict[Key, tuple[Turn, float]] = {}
        self._answers: OrderedDict[tuple[int, int], Turn] = OrderedDict()  # (chat, bot message id) → its turn
        self._asked: OrderedDict[int, Context | None] = OrderedDict()  # query id → the context it was asked with

    @staticmethod
    def key(chat_id: int, user_id: int, private: bool) -> Key:
        return (chat_id, 0 if private else user_id)

    def context_for(self, key: Key, question: str, replied_to: int | None = None) -> Context | None:
        """The context a question is asked with: that of the answer it replies to, or the chat's latest turn if
        the question leans on it and the conversation has not gone quiet; None for a question of its own."""
        with self._lock:
            if replied_to is not None and (turn := self._answers.get((key[0], replied_to))) is not None:
                return turn.context
            latest = self._latest.get(key)
            if latest is None or self.clock() - latest[1] > self.quiet_seconds:
                self._latest.pop(key, None)
                return None
        return latest[0].context if is_follow_up(question) else None

    def remember(self, key: Key, question: str, answer: Answer, context: Context | None, query_id: int | None) -> Turn:
        turn = Turn.of(question, answer, context)
        with self._lock:
            self._latest[key] = (turn, self.clock())
            if query_id is not None:
                _bounded_put(self._asked, query_id, context)
        return turn

    def answered_by(self, chat_id: int, message_id: int, turn: Turn) -> None:
        """The bot's message that answered a turn: a reply to it leans on that turn."""
        with self._lock:
            _bounded_put(self._answers, (chat_id, message_id), turn)

    def asked_with(self, query_id: int) -> Context | None:
        """The context a logged question was asked with (for "more")."""
        with self._lock:
            return self._asked.get(query_id)

    def forget(self, key: Key) -> None:
        """/new: the next question starts a new conversation."""
        with self._lock:
            self._latest.pop(key, None)


def _bounded_put(table: OrderedDict, key: object, value: object) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > REMEMBERED_ANSWERS:
        table.popitem(last=False)
