"""`isnad demo`: chat with the bot in the terminal: the real bot on a fake Telegram, no token, no network.

    isnad demo                        # type a question; a number presses a button; /quit or Ctrl-D leaves
    isnad demo --verbose              # the log lines in the terminal too (they always go to isnad-demo.log)
    (in the chat) /inline سؤال          # what `@bot سؤال` would list in any chat (inline mode)
    printf 'متى زار بينيت موسكو؟\\n1\\n' | isnad demo

The bot runs exactly as with Telegram (same handlers, same HTTP client) against `bot.fake_telegram` on
127.0.0.1. The person at the keyboard is an admin, so /reload and /stats work too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from telegram.ext import Application

from bot.app import build_application, open_corpus, polling
from bot.config import Settings
from bot.fake_telegram import FakeTelegram
from bot.query_log import QueryLog
from bot.rendering import html_to_text
from retrieval import RetrievalError

DEMO_TOKEN = "100000:isnad-demo-token-not-a-secret-at-all"
YOU = 1001  # the chat and user id of the person at the keyboard
REPLY_TIMEOUT_SECONDS = 60.0
QUIT_COMMANDS = frozenset({"/quit", "/exit", "/q"})
INLINE_COMMAND = "/inline"  # the demo's own: what inline mode (@bot question) would list


def run_demo(
    settings: Settings, stdin: TextIO | None = None, stdout: TextIO | None = None, verbose: bool = False, log_file: Path | None = None
) -> int:
    """`isnad demo`: open the corpus, start the fake Telegram and the bot, chat until /quit or EOF.

    The terminal is the chat: log lines go to ``log_file`` (beside the database by default), and to stderr
    as well only when ``verbose``.
    """
    out = stdout or sys.stdout
    log_file = log_file or demo_log_file(settings)
    restore = log_to(log_file, settings.log_level, verbose)
    print(f"isnad demo: log lines go to {log_file}{'' if verbose else ' (--verbose shows them here)'}", file=out, flush=True)
    try:
        return asyncio.run(_demo(settings, stdin or sys.stdin, out))
    except KeyboardInterrupt:
        return 0
    finally:
        restore()


def demo_log_file(settings: Settings) -> Path:
    return settings.db_path.with_name("isnad-demo.log")


def log_to(path: Path, level: str, also_stderr: bool) -> Callable[[], None]:
    """Send every log line to ``path`` (appended), and to stderr too when asked; httpx stays at WARNING.
    Returns what puts the previous logging back."""
    root = logging.getLogger()
    previous, previous_level = list(root.handlers), root.level
    for handler in previous:
        root.removeHandler(handler)
    path.parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if also_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    def restore() -> None:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        for handler in previous:
            root.addHandler(handler)
        root.setLevel(previous_level)

    return restore


async def _demo(settings: Settings, stdin: TextIO, out: TextIO) -> int:
    print(f"isnad demo: reading the articles in {settings.data_dir}…", file=out, flush=True)
    try:
        retriever, report = await asyncio.to_thread(open_corpus, settings)
    except RetrievalError as error:
        print(f"isnad demo: {error}", file=sys.stderr)
        return 1
    print(
        f"{report.documents} articles, {report.sentences} sentences. The bot is running on a fake Telegram; "
        f"type a question in Arabic, a number to press a button, {INLINE_COMMAND} and a question to see what "
        "`@bot question` lists in any chat (inline mode), /quit to leave.\n",
        file=out,
        flush=True,
    )
    lines = _stdin_lines(stdin)
    query_log = QueryLog(settings.db_path, settings.log_user_ids, settings.log_days)
    try:
        with FakeTelegram(token=DEMO_TOKEN) as fake:
            demo_settings = replace(
                settings,
                telegram_token=DEMO_TOKEN,
                telegram_api_url=fake.base_url,
                admin_ids=settings.admin_ids | {YOU},
            )
            application = build_application(demo_settings, retriever, query_log)
            async with polling(application):
                chat = TerminalChat(fake, application, out)
                await chat.say("/start")
                interactive = stdin.isatty()
                while True:
                    if interactive:
                        print("أنت ▸ ", end="", file=out, flush=True)
                    line = await lines.get()
                    if line is None or line.strip() in QUIT_COMMANDS:
                        break
                    if not line.strip():
                        continue
                    if not interactive:
                        print(f"أنت ▸ {line}", file=out, flush=True)
                    if line.strip().isdigit():
                        await chat.press(int(line.strip()))
                    elif line.strip().split(maxsplit=1)[0] == INLINE_COMMAND:
                        await chat.inline(line.strip()[len(INLINE_COMMAND) :].strip())
                    else:
                        await chat.say(line)
    finally:
        query_log.close()
    print("مع السلامة!", file=out, flush=True)
    return 0


class TerminalChat:
    """The person at the keyboard: sends what they type to the bot and prints what the bot does."""

    def __init__(self, fake: FakeTelegram, application: Application, out: TextIO) -> None:
        self.fake = fake
        self.application = application
        self.out = out
        self.buttons: list[tuple[int, str]] = []  # (message_id, callback_data), pressed by number
        self._seen_messages = 0
        self._seen_edits = 0
        self._seen_answers = 0

    async def say(self, text: str) -> None:
        self.fake.user_says(YOU, text, user_id=YOU, first_name="أنت")
        await self._show_response()

    async def inline(self, query: str) -> None:
        """Show what `@bot query` lists in a chat: each inline result's title and description."""
        asked = self.fake.user_inline_query(YOU, query)
        try:
            answer = await self.fake.await_inline_answer(asked["id"], REPLY_TIMEOUT_SECONDS)
        except TimeoutError:
            print("(لا رد من البوت)", file=self.out, flush=True)
            return
        results = answer["results"]
        print(f"isnad ▸ (وضع السطر: {len(results)} نتيجة)", file=self.out, flush=True)
        for n, result in enumerate(results, start=1):
            print(f"  {n}. {result['title']}\n     {result.get('description', '')}", file=self.out, flush=True)
        print(file=self.out, flush=True)

    async def press(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            print(f"(لا يوجد زر رقم {number})", file=self.out, flush=True)
            return
        message_id, data = self.buttons[number - 1]
        self.fake.press_button(YOU, message_id, data, user_id=YOU)
        await self._show_response()

    async def _show_response(self) -> None:
        """Wait until the bot has responded and finished handling, then print what it did."""
        deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
        while not self._responded() or not await self._bot_idle():
            if time.monotonic() > deadline:
                print("(لا رد من البوت)", file=self.out, flush=True)
                break
            await asyncio.sleep(0.02)
        messages = self.fake.messages(YOU)
        fresh = messages[self._seen_messages :]
        for message in fresh:  # as they read now, edits included
            self._print("isnad ▸", message["text"])
            if message.get("reply_markup"):
                self._show_buttons(message)
        edits = self.fake.edits(YOU)
        shown = {message["message_id"] for message in fresh}
        for edit in edits[self._seen_edits :]:
            if edit["message_id"] not in shown:
                self._print("isnad ✎", edit["text"])
        answers = self.fake.callback_answers
        for answer in answers[self._seen_answers :]:
            if answer.get("text"):
                print(f"isnad 💬 {answer['text']}\n", file=self.out, flush=True)
        self._seen_messages, self._seen_edits, self._seen_answers = len(messages), len(edits), len(answers)

    def _responded(self) -> bool:
        return (
            len(self.fake.messages(YOU)) > self._seen_messages
            or len(self.fake.edits(YOU)) > self._seen_edits
            or len(self.fake.callback_answers) > self._seen_answers
        )

    async def _bot_idle(self) -> bool:
        """No update queued or being handled, twice in a row (a handler may be between two sends)."""
        for _ in range(2):
            if self.application.update_queue.qsize() or self.application.update_processor.current_concurrent_updates:
                return False
            await asyncio.sleep(0.05)
        return True

    def _print(self, who: str, html: str) -> None:
        print(f"{who}\n{html_to_text(html)}\n", file=self.out, flush=True)

    def _show_buttons(self, message: dict[str, Any]) -> None:
        self.buttons = []
        for row in message["reply_markup"]["inline_keyboard"]:
            labels = []
            for button in row:
                self.buttons.append((message["message_id"], button["callback_data"]))
                labels.append(f"[{len(self.buttons)}] {button['text']}")
            print("   " + "   ".join(labels), file=self.out)
        print(file=self.out, flush=True)


def _stdin_lines(stdin: TextIO) -> asyncio.Queue[str | None]:
    """Lines typed (or piped) into stdin, then None at EOF; read by a daemon thread so Ctrl-C still works."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: the demo has ended
            for line in stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\r\n"))
            loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="demo-stdin", daemon=True).start()
    return lines
