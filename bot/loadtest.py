"""`isnad bench-chats`: many chats asking at once through the fake Bot API; prints answered and lost,
replies per second, and p50 / p99 reply latency (question sent → reply received).

    isnad bench-chats                 # 50 chats × 4 questions, each chat asking its next after each reply

The bot runs as deployed, flood control included: AIORateLimiter lets at most 30 messages a second reach
Telegram, which caps throughput near 30 answers a second whatever the retriever's speed. The questions
go to a throwaway query log, not the real one.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from telegram.constants import FloodLimit

from bot.app import build_application, configure_logging, polling
from bot.config import Settings
from bot.fake_telegram import FakeTelegram
from bot.query_log import QueryLog
from retrieval import RetrievalError, Retriever

BENCH_TOKEN = "100001:isnad-bench-token-not-a-secret-at-all"
FIRST_CHAT_ID = 10_000
REPLY_TIMEOUT_SECONDS = 60.0
MISMATCH = -1.0
# Questions of the kinds people ask about the seed corpus, a couple with no answer in it.
QUESTIONS = (
    "متى زار بينيت موسكو؟",
    "أين التقى بوتين ببينيت؟",
    "كم دقيقة استمرت مكالمة نتنياهو مع بوتين؟",
    "ماذا قال بوتين عن سوريا؟",
    "لماذا انتقد نتنياهو بوتين؟",
    "من هو رئيس وزراء إسرائيل؟",
    "ما موقف روسيا من الحرب في غزة؟",
    "ما الهدية التي قدمها بوتين لبينيت خلال لقائهما؟",
    "هل تحدث بوتين ونتنياهو عن إيران؟",
    "كم عدد القتلى الإسرائيليين في 7 أكتوبر؟",
)


def run_loadtest(settings: Settings, chats: int = 50, questions_per_chat: int = 4, faults: float = 0.0) -> int:
    """Drive `chats` concurrent chats of `questions_per_chat` questions each, a `faults` share of the bot's Bot API
    calls failing at random; 0 if every question got exactly one answer."""
    configure_logging("WARNING")
    try:
        return asyncio.run(_loadtest(settings, chats, questions_per_chat, faults))
    except RetrievalError as error:
        print(f"isnad bench-chats: {error}")
        return 1


async def _loadtest(settings: Settings, chats: int, questions_per_chat: int, faults: float) -> int:
    retriever = await asyncio.to_thread(Retriever.open, settings.db_path)
    await asyncio.to_thread(retriever.sync, settings.data_dir)
    total = chats * questions_per_chat
    print(f"isnad bench-chats: {chats} chats × {questions_per_chat} questions = {total} via the fake Bot API"
          + (f", {faults:.0%} of its calls failing" if faults else ""))
    with (
        tempfile.TemporaryDirectory(prefix="isnad-bench-") as folder,
        FakeTelegram(token=BENCH_TOKEN) as fake,
    ):
        query_log = QueryLog(Path(folder) / "queries.db")
        # A load test, not an abuse test: each chat asks as fast as it is answered.
        bench_settings = replace(settings, telegram_token=BENCH_TOKEN, telegram_api_url=fake.base_url, flood_per_minute=0)
        application = build_application(bench_settings, retriever, query_log)
        memory = MemoryWatch(total // 10)
        try:
            async with polling(application):
                fake.chaos(faults, seed=1)
                started = time.perf_counter()
                results = await asyncio.gather(*(_chat(fake, FIRST_CHAT_ID + n, n, questions_per_chat, memory) for n in range(chats)))
                seconds = time.perf_counter() - started
                fake.chaos(0)
                await asyncio.sleep(1.0)  # a late duplicate would arrive by now
                late = sum(fake.forget_chat(FIRST_CHAT_ID + n) for n in range(chats))
        finally:
            query_log.close()
    latencies = sorted(ms for chat in results for ms in chat if ms is not None and ms >= 0)
    lost = total - len(latencies)
    mismatched = sum(ms is not None and ms < 0 for chat in results for ms in chat)
    # Each reply is taken, then forgotten (the fake keeps nothing, so the memory measured is the bot's):
    # a message left in a chat at the end, or a reply that was not to its question, is a duplicate.
    duplicates = late + mismatched
    print(f"answered   {len(latencies)}")
    print(f"lost       {lost}")
    print(f"duplicates {duplicates}")
    if memory.early and memory.current():
        print(f"memory     {memory.early:.0f} MiB after {memory.after} answers, {memory.current():.0f} MiB at the end "
              f"({memory.current() / memory.early - 1:+.1%})")
    print(f"seconds    {seconds:.2f}")
    print(f"replies/s  {len(latencies) / seconds:.1f}")
    if latencies:
        p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
        print(f"latency    p50 {p50:.0f} ms · p99 {p99:.0f} ms")
    print(f"(flood control: at most {FloodLimit.MESSAGES_PER_SECOND} messages/s to Telegram)")
    return 0 if lost == 0 and duplicates == 0 else 1


class MemoryWatch:
    """The process's resident memory once `after` answers have come, to compare with the end."""

    def __init__(self, after: int) -> None:
        self.after = max(after, 1)
        self.answers = 0
        self.early: float | None = None

    def answered(self) -> None:
        self.answers += 1
        if self.answers == self.after:
            self.early = self.current()

    @staticmethod
    def current() -> float | None:
        """Resident memory in MiB (Linux /proc), or None elsewhere."""
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return None
        return int(status.split("VmRSS:")[1].split()[0]) / 1024


async def _chat(fake: FakeTelegram, chat_id: int, seed: int, count: int, memory: MemoryWatch) -> list[float | None]:
    """One person asking `count` questions, each after the previous reply; latency in ms, None if none came,
    MISMATCH if the reply was not to that question (a duplicate of an earlier one)."""
    latencies: list[float | None] = []
    for index in range(count):
        question = QUESTIONS[(seed + index) % len(QUESTIONS)]
        sent = time.perf_counter()
        fake.user_says(chat_id, question)
        try:
            [reply] = await fake.await_messages(chat_id, 1, REPLY_TIMEOUT_SECONDS)
        except TimeoutError:
            latencies.append(None)
            continue
        latencies.append((time.perf_counter() - sent) * 1000 if question in reply["plain_text"] else MISMATCH)
        fake.forget_chat(chat_id)
        memory.answered()
    return latencies


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
