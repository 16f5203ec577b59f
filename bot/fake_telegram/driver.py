"""`FakeTelegram`: the fake Bot API server on a background thread, and a driver that plays the users.

    with FakeTelegram() as fake:
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
        ...  # start the bot polling
        fake.user_says(42, "/ask@isnad_test_bot من قال ذلك؟")
        [reply] = fake.wait_for_messages(42)

Driver methods are synchronous and thread-safe; inside an event loop use the `await_*` variants, which
wait without blocking the loop the bot runs on.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.fake_telegram.html import utf16_length
from bot.fake_telegram.server import FakeBotApi, Params, injected_error

DEFAULT_TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "isnad_test_bot"
CHAT_TYPES = ("private", "group", "supergroup")
_STARTUP_TIMEOUT = 10.0
# Long polls return at once on shutdown, so this only bounds handlers stuck in an injected delay.
_SHUTDOWN_TIMEOUT = 0.5
# Telegram marks commands and @mentions wherever they start a word.
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{5,32})?")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}")


class FakeTelegram:
    """A fake Telegram for one bot: a real Bot API server on loopback plus the users who talk to the bot."""

    def __init__(self, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = token
        self.host = host
        self.port = port
        bot_id = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": "isnad",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._api = FakeBotApi(token, self.bot_user)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_serving: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: Exception | None = None
        self._bound_port: int | None = None
        self._file_ids = itertools.count(1)
        self._message_cursors: dict[int, int] = defaultdict(int)
        self._edit_cursors: dict[int, int] = defaultdict(int)

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        """Serve the Bot API from a background thread with its own event loop; returns self."""
        if self._thread is not None:
            raise RuntimeError("this FakeTelegram is already running")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT):
            raise RuntimeError(f"the fake Telegram server did not start within {_STARTUP_TIMEOUT:g}s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"the fake Telegram server could not listen on {self.host}:{self.port}") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop serving: open long polls return empty, the port is released, the thread ends."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop_serving is not None:
            self._loop.call_soon_threadsafe(self._stop_serving.set)
        self._thread.join()
        self._thread = None
        self._loop = None
        self._bound_port = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        runner = web.AppRunner(
            self._api.build_app(),
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
            handler_cancellation=True,
        )
        try:
            await runner.setup()
            await web.TCPSite(runner, self.host, self.port, backlog=1024).start()
        except Exception as error:
            self._startup_error = error
            await runner.cleanup()
            self._ready.set()
            return
        self._bound_port = runner.addresses[0][1]
        self._loop = asyncio.get_running_loop()
        self._stop_serving = asyncio.Event()
        self._ready.set()
        try:
            await self._stop_serving.wait()
        finally:
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        """The `base_url` to give python-telegram-bot, e.g. "http://127.0.0.1:PORT/bot"."""
        if self._bound_port is None:
            raise RuntimeError("the fake Telegram server is not running; call start() first")
        return f"http://{self.host}:{self._bound_port}/bot"

    @property
    def bot_username(self) -> str:
        """The bot's @username without the @."""
        return BOT_USERNAME

    # --- what users do -------------------------------------------------------------------------------

    def user_says(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """A user writes `text` in the chat; commands and @mentions get entities. Returns the message."""
        content: dict[str, Any] = {"text": text}
        entities = text_entities(text)
        if entities:
            content["entities"] = entities
        return self._api.add_user_message(
            _chat(chat_id, chat_type, first_name),
            _user(chat_id, user_id, first_name),
            content,
            reply_to_message_id,
        )

    def channel_posts(
        self, channel_id: int, username: str | None, text: str | None = None, caption: str | None = None,
        title: str = "قناة الأخبار", edit_of: int | None = None,
    ) -> dict[str, Any]:
        """A post (or, with ``edit_of``, an edit) in a channel where the bot is an administrator: text, a photo
        with a caption, or (neither) a photo alone. Returns the post."""
        channel = {"id": channel_id, "type": "channel", "title": title, **({"username": username} if username else {})}
        if text is not None:
            content: dict[str, Any] = {"text": text}
        else:
            file_id = f"fake-photo-{next(self._file_ids)}"
            content = {"photo": [{"file_id": file_id, "file_unique_id": file_id.replace("-", ""), "width": 800, "height": 600}]}
            if caption is not None:
                content["caption"] = caption
        return self._api.add_channel_post(channel, content, edit_of)

    def channel_admin(
        self, channel_id: int, username: str | None, by: int, title: str = "قناة الأخبار", status: str = "administrator"
    ) -> dict[str, Any]:
        """User ``by`` makes the bot an administrator of a channel (or, with status "left", removes it): the
        `my_chat_member` update the bot gets."""
        channel = {"id": channel_id, "type": "channel", "title": title, **({"username": username} if username else {})}
        return self._api.add_my_chat_member(channel, _user(by, by, "مدير القناة"), status)

    def user_sends(
        self,
        chat_id: int,
        kind: str,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
    ) -> dict[str, Any]:
        """A user sends a message without text: a sticker, photo, voice, document or location."""
        file_id = f"fake-{kind}-{next(self._file_ids)}"
        file = {"file_id": file_id, "file_unique_id": file_id.replace("-", "")}
        contents: dict[str, dict[str, Any]] = {
            "sticker": {
                "sticker": {
                    **file,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "👍",
                }
            },
            "photo": {
                "photo": [
                    {**file, "width": 90, "height": 68, "file_size": 1_500},
                    {**file, "width": 800, "height": 600, "file_size": 60_000},
                ]
            },
            "voice": {"voice": {**file, "duration": 3, "mime_type": "audio/ogg", "file_size": 9_000}},
            "document": {
                "document": {
                    **file,
                    "file_name": "article.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 20_000,
                }
            },
            "location": {"location": {"latitude": 33.5138, "longitude": 36.2765}},
        }
        if kind not in contents:
            raise ValueError(f"unknown kind {kind!r}; choose one of {sorted(contents)}")
        return self._api.add_user_message(_chat(chat_id, chat_type, first_name), _user(chat_id, user_id, first_name), contents[kind])

    def user_sends_file(
        self,
        chat_id: int,
        file_name: str,
        data: bytes,
        user_id: int | None = None,
        caption: str | None = None,
        mime_type: str = "text/plain",
    ) -> dict[str, Any]:
        """A user sends a file as a document; the bot can fetch its bytes with getFile and the file address."""
        file_id = self._api.store_file(data, file_name)
        document = {"file_id": file_id, "file_unique_id": file_id.replace("-", ""), "file_name": file_name,
                    "mime_type": mime_type, "file_size": len(data)}
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        return self._api.add_user_message(_chat(chat_id, "private", "Test"), _user(chat_id, user_id, "Test"), content)

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        user_id: int | None = None,
        strict: bool = True,
    ) -> dict[str, Any]:
        """A user presses an inline button; returns the callback query sent to the bot.

        With `strict` (the default) the message must show a button carrying `callback_data`.
        """
        return self._api.add_callback_query(chat_id, message_id, _user_id(chat_id, user_id), callback_data, strict)

    def user_inline_query(self, user_id: int, query: str, chat_type: str = "private") -> dict[str, Any]:
        """A user types `@bot query` in a chat; returns the inline query sent to the bot."""
        return self._api.add_inline_query(user_id, query, chat_type)

    async def await_inline_answer(self, query_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The bot's answerInlineQuery for that query (its results, cache_time …), once it has answered."""
        answer = await self._api.await_for(lambda: self._api.inline_answer(query_id), timeout)
        if answer is None:
            raise TimeoutError(f"the bot did not answer inline query {query_id} within {timeout} s")
        return answer

    # --- what the bot did ----------------------------------------------------------------------------

    def wait_for_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until the bot has sent `count` messages to the chat since the last wait; return them.

        Each is a record: message_id, chat_id, text (as sent), plain_text (as shown), parse_mode,
        entities, reply_markup, reply_to_message_id, date, edit_date, deleted.
        """
        _refuse_inside_event_loop("wait_for_messages", "await_messages")
        messages = self._api.wait_for(self._take_messages(chat_id, count), timeout)
        if messages is None:
            raise TimeoutError(self._silence_report(chat_id, f"{count} new message(s)", timeout))
        return messages

    async def await_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """`wait_for_messages` for code running in an event loop: waits without blocking the loop."""
        messages = await self._api.await_for(self._take_messages(chat_id, count), timeout)
        if messages is None:
            raise TimeoutError(self._silence_report(chat_id, f"{count} new message(s)", timeout))
        return messages

    def wait_for_edit(self, chat_id: int, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the bot edits a message's text in the chat (the next one since the last wait)."""
        _refuse_inside_event_loop("wait_for_edit", "await_edit")
        edit = self._api.wait_for(self._take_edit(chat_id), timeout)
        if edit is None:
            raise TimeoutError(self._silence_report(chat_id, "new edit", timeout))
        return edit

    async def await_edit(self, chat_id: int, timeout: float = 10.0) -> dict[str, Any]:
        """`wait_for_edit` for code running in an event loop."""
        edit = await self._api.await_for(self._take_edit(chat_id), timeout)
        if edit is None:
            raise TimeoutError(self._silence_report(chat_id, "new edit", timeout))
        return edit

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message the bot sent to the chat, in order, with edits applied."""
        return self._api.sent_messages(chat_id)

    def edits(self, chat_id: int) -> list[dict[str, Any]]:
        """Every editMessageText the bot made in the chat, in order."""
        return self._api.edit_log(chat_id)

    def chat_actions(self, chat_id: int) -> list[str]:
        """The chat actions the bot showed in the chat, e.g. ["typing"]."""
        return self._api.chat_actions(chat_id)

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """The parameters of every successful answerCallbackQuery."""
        return self._api.callback_answers()

    @property
    def calls(self) -> list[tuple[str, Params]]:
        """Every API call as (method, params), in arrival order, failed ones included."""
        return self._api.calls()

    @property
    def rejections(self) -> list[tuple[str, Params, str]]:
        """Every call answered with an error, as (method, params, description)."""
        return self._api.rejections()

    def polling_status(self) -> tuple[bool, int]:
        """Whether the bot has ever called getUpdates, and how many updates it has not confirmed."""
        return self._api.polling_status()

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The command list of the last setMyCommands."""
        return self._api.commands()

    def _take_messages(self, chat_id: int, count: int) -> Callable[[], list[dict[str, Any]] | None]:
        def take() -> list[dict[str, Any]] | None:
            fresh = self._api.sent_messages(chat_id, self._message_cursors[chat_id])
            if len(fresh) < count:
                return None
            self._message_cursors[chat_id] += count
            return fresh[:count]

        return take

    def _take_edit(self, chat_id: int) -> Callable[[], dict[str, Any] | None]:
        def take() -> dict[str, Any] | None:
            fresh = self._api.edit_log(chat_id, self._edit_cursors[chat_id])
            if not fresh:
                return None
            self._edit_cursors[chat_id] += 1
            return fresh[0]

        return take

    def _silence_report(self, chat_id: int, wanted: str, timeout: float) -> str:
        """Why a wait failed: what the bot did send, which of its calls were refused, whether it polls."""
        sent = self._api.sent_messages(chat_id)
        lines = [
            f"the bot sent no {wanted} to chat {chat_id} within {timeout:g}s; "
            f"it sent {len(sent)} message(s) there, {self._message_cursors[chat_id]} already waited for:"
        ]
        lines += [f"  #{record['message_id']}: {record['text'][:300]!r}" for record in sent[-10:]]
        lines += [
            f"  refused {method}: {description}"
            for method, params, description in self._api.rejections()
            if params.get("chat_id") == chat_id
        ][-10:]
        polled, unconfirmed = self._api.polling_status()
        if not polled:
            lines.append("the bot never called getUpdates: is it polling with base_url=fake.base_url?")
        elif unconfirmed:
            lines.append(f"{unconfirmed} update(s) not yet confirmed by the bot")
        return "\n".join(lines)

    # --- fault injection -----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail with `status`; a 429 carries retry_after (default 1)."""
        self._api.fail_next(method, injected_error(status, retry_after, description), times)

    def forget_chat(self, chat_id: int) -> int:
        """Forget the chat's messages (its cursors start again); returns how many the bot had sent there."""
        self._message_cursors.pop(chat_id, None)
        self._edit_cursors.pop(chat_id, None)
        return self._api.forget_chat(chat_id)

    def chaos(self, rate: float, seed: int = 0) -> None:
        """A `rate` share of the bot's calls (getUpdates aside) fail at random from now on: 429, 502, a dropped
        connection or a slow answer (0 stops it)."""
        self._api.chaos(rate, seed)

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` are answered only after `seconds`."""
        self._api.delay_next(method, seconds, times)


def text_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command and mention entities Telegram adds to a user's text, offsets in UTF-16 units."""
    found = [("bot_command", match) for match in _COMMAND.finditer(text)]
    found += [("mention", match) for match in _MENTION.finditer(text)]
    return [
        {
            "type": kind,
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group()),
        }
        for kind, match in sorted(found, key=lambda pair: pair[1].start())
    ]


def _chat(chat_id: int, chat_type: str, first_name: str) -> dict[str, Any]:
    if chat_type not in CHAT_TYPES:
        raise ValueError(f"unknown chat_type {chat_type!r}; choose one of {CHAT_TYPES}")
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": first_name}
    return {"id": chat_id, "type": chat_type, "title": "isnad test group"}


def _user(chat_id: int, user_id: int | None, first_name: str) -> dict[str, Any]:
    return {
        "id": _user_id(chat_id, user_id),
        "is_bot": False,
        "first_name": first_name,
        "language_code": "ar",
    }


def _user_id(chat_id: int, user_id: int | None) -> int:
    """The acting user: `user_id`, else the chat's own id (made positive for group chats)."""
    return abs(chat_id) if user_id is None else user_id


def _refuse_inside_event_loop(blocking: str, alternative: str) -> None:
    """Refuse a blocking wait on an event loop's thread: it would freeze the bot it is waiting for."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{blocking}() would block this event loop and the bot running on it; use `await fake.{alternative}()` instead")
