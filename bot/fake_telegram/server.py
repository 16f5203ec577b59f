"""The fake Bot API: in-memory Telegram state and an aiohttp app serving `/bot<token>/<method>`.

Request handlers run on the server's event loop while the test driver calls in from other threads;
both meet under one lock, so every public method of `FakeBotApi` is thread-safe. Replies follow the
Bot API: `{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": ...}` with the
same HTTP status, which is what python-telegram-bot turns into `BadRequest`, `RetryAfter` and so on.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import itertools
import json
import logging
import random
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot.fake_telegram.html import EntityParseError, parse_telegram_html_entities
from bot.fake_telegram.inline import InlineResultError, check_results

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_COMMANDS = 100
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Delivered when the bot has not asked for specific kinds (Telegram's default leaves these three out).
CALL_LOG_LIMIT = 2_000
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_INTEGER = re.compile(r"-?[0-9]+")
# python-telegram-bot sends form fields: strings as they are, everything else JSON-encoded.
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "reply_parameters",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "results",
        "button",
    }
)
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "cache_time",
        "message_thread_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "drop_pending_updates",
        "show_alert",
        "disable_notification",
        "allow_sending_without_reply",
        "protect_content",
        "disable_web_page_preview",
    }
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)

_Result = TypeVar("_Result")
Params = dict[str, Any]


class ApiError(Exception):
    """A Bot API error reply: the HTTP status, Telegram's description and, for flood control, retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram sends with this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 error worded like Telegram's, e.g. "Bad Request: chat not found"."""
    return ApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {reason}")


def injected_error(status: int, retry_after: int | None, description: str | None) -> ApiError:
    """The error a `fail_next` call asks for; 429 always carries retry_after so clients can back off."""
    if not 400 <= status <= 599:
        raise ValueError(f"an injected failure needs a 4xx or 5xx status, not {status}")
    if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
        retry_after = 1
    if description is None and status == HTTPStatus.TOO_MANY_REQUESTS:
        description = f"Too Many Requests: retry after {retry_after}"
    elif description is None:
        try:
            description = HTTPStatus(status).phrase
        except ValueError:
            description = "Error"
    return ApiError(status, description, retry_after)


@dataclass(frozen=True)
class _Method:
    """A served Bot API method under its canonical camelCase name."""

    name: str
    handler: Callable[[Params], Awaitable[Any]]


class FakeBotApi:
    """Telegram's side of a bot's conversations: chats, messages, the update queue, and a log of calls."""

    def __init__(self, token: str, bot_user: dict[str, Any]) -> None:
        self.token = token
        self.bot_user = bot_user
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._update_arrived = asyncio.Event()
        self._closing = False
        self._poll_generation = 0
        self._polled = False
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self._last_message_id: dict[int, int] = defaultdict(int)
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: list[str] = []
        self._callback_ids = itertools.count(1)
        self._open_callback_queries: set[str] = set()
        self._sent: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self._edits: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self._actions: dict[int, list[str]] = defaultdict(list)
        self._callback_answers: list[dict[str, Any]] = []
        self._open_inline_queries: set[str] = set()
        self._chaos: Chaos | None = None
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes), fetched at /file/bot<token>/<path>
        self._inline_answers: dict[str, dict[str, Any]] = {}
        # The latest calls only: a soak makes hundreds of thousands, and the driver asks about recent ones.
        self._calls: deque[tuple[str, Params]] = deque(maxlen=CALL_LOG_LIMIT)
        self._rejections: list[tuple[str, Params, str]] = []
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._last_commands: list[dict[str, Any]] = []
        self._faults: dict[str, deque[ApiError]] = defaultdict(deque)
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        self._methods = {
            method.name.lower(): method
            for method in (
                _Method("getMe", self._get_me),
                _Method("logOut", self._ok),
                _Method("close", self._ok),
                _Method("deleteWebhook", self._delete_webhook),
                _Method("getWebhookInfo", self._get_webhook_info),
                _Method("getUpdates", self._get_updates),
                _Method("sendMessage", self._send_message),
                _Method("sendDocument", self._send_document),
                _Method("editMessageText", self._edit_message_text),
                _Method("editMessageReplyMarkup", self._edit_message_reply_markup),
                _Method("deleteMessage", self._delete_message),
                _Method("answerCallbackQuery", self._answer_callback_query),
                _Method("answerInlineQuery", self._answer_inline_query),
                _Method("getFile", self._get_file),
                _Method("sendChatAction", self._send_chat_action),
                _Method("setMyCommands", self._set_my_commands),
                _Method("getMyCommands", self._get_my_commands),
                _Method("deleteMyCommands", self._delete_my_commands),
                _Method("setMyDescription", self._ok),
                _Method("setMyShortDescription", self._ok),
                _Method("getChat", self._get_chat),
            )
        }

    # --- the HTTP side ---------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """An aiohttp application serving this API at `/bot<token>/<method>`."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self.handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self.download)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._update_arrived = asyncio.Event()
            self._closing = False

    async def _on_shutdown(self, app: web.Application) -> None:
        with self._lock:
            self._closing = True
            self._loop = None
        self._update_arrived.set()

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one Bot API call, applying any injected delay or failure first."""
        if request.match_info["token"] != self.token:
            unauthorized = ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            return _json_reply(unauthorized.body(), unauthorized.status)
        requested = request.match_info["method"]
        method = self._methods.get(requested.lower())
        name = method.name if method else requested
        try:
            params = await _read_params(request)
        except ApiError as error:
            return self._reject(name, {}, error)
        with self._lock:
            self._calls.append((name, copy.deepcopy(params)))
            delay = self._delays[name.lower()].popleft() if self._delays[name.lower()] else None
            fault = self._faults[name.lower()].popleft() if self._faults[name.lower()] else None
            if fault is None and delay is None and self._chaos is not None and name != "getUpdates":
                delay, fault, drop = self._chaos.draw()
                if drop:  # the connection drops before the call is carried out, as a flaky network does
                    request.transport.close()
                    return web.Response(status=HTTPStatus.BAD_GATEWAY)
        logger.debug("%s chat_id=%s", name, params.get("chat_id"))
        if delay is not None:
            await asyncio.sleep(delay)
        try:
            if fault is not None:
                raise fault
            if method is None:
                raise ApiError(HTTPStatus.NOT_FOUND, "Not Found")
            result = await method.handler(params)
        except ApiError as error:
            return self._reject(name, params, error)
        return _json_reply({"ok": True, "result": result}, HTTPStatus.OK)

    def _reject(self, name: str, params: Params, error: ApiError) -> web.Response:
        logger.info("%s rejected: %s", name, error.description)
        with self._lock:
            self._rejections.append((name, copy.deepcopy(params), error.description))
        return _json_reply(error.body(), error.status)

    # --- fault injection ---------------------------------------------------------------------------

    def fail_next(self, method: str, error: ApiError, times: int) -> None:
        """Make the next `times` calls of `method` fail with `error`."""
        with self._lock:
            self._faults[method.lower()].extend([error] * times)

    def forget_chat(self, chat_id: int) -> int:
        """Drop what the chat holds (its messages, sent records and edits), as a long soak must to measure the
        bot's memory rather than this fake's; returns how many sent messages were dropped."""
        with self._lock:
            dropped = len(self._sent.pop(chat_id, []))
            self._messages.pop(chat_id, None)
            self._edits.pop(chat_id, None)
            return dropped

    def chaos(self, rate: float, seed: int = 0) -> None:
        """From now on, a `rate` share of calls (getUpdates aside) fail at random: a 429 with retry_after, a
        502, a dropped connection, or a slow answer; the same seed gives the same faults. 0 stops it."""
        with self._lock:
            self._chaos = Chaos(rate, random.Random(seed)) if rate > 0 else None

    def delay_next(self, method: str, seconds: float, times: int) -> None:
        """Make the next `times` calls of `method` sleep `seconds` before being answered."""
        with self._lock:
            self._delays[method.lower()].extend([seconds] * times)

    # --- what users do -----------------------------------------------------------------------------

    def add_user_message(
        self,
        chat: dict[str, Any],
        user: dict[str, Any],
        content: dict[str, Any],
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """Store a message a user sent to `chat` and queue it as a `message` update; returns the message."""
        chat_id = chat["id"]
        with self._lock:
            reply: dict[str, Any] = {}
            if reply_to_message_id is not None:
                target = self._messages[chat_id].get(reply_to_message_id)
                if target is None:
                    raise ValueError(f"chat {chat_id} has no message {reply_to_message_id} to reply to")
                reply["reply_to_message"] = _without_reply(target)
            self._chats[chat_id] = chat
            self._users[user["id"]] = user
            message = {
                "message_id": self._next_message_id(chat_id),
                "from": user,
                "chat": chat,
                "date": int(time.time()),
                **content,
                **reply,
            }
            self._messages[chat_id][message["message_id"]] = message
            self._push_update("message", message)
            return copy.deepcopy(message)

    def add_channel_post(self, channel: dict[str, Any], content: dict[str, Any], edit_of: int | None = None) -> dict[str, Any]:
        """Queue a post in a channel the bot administers (`channel_post`), or an edit of post `edit_of`
        (`edited_channel_post`, same message id, an edit date); returns the post."""
        chat_id = channel["id"]
        with self._lock:
            self._chats[chat_id] = channel
            if edit_of is None:
                post = {"message_id": self._next_message_id(chat_id), "chat": channel, "date": int(time.time()), **content}
                self._messages[chat_id][post["message_id"]] = post
                self._push_update("channel_post", post)
            else:
                original = self._messages[chat_id].get(edit_of)
                if original is None:
                    raise ValueError(f"channel {chat_id} has no post {edit_of} to edit")
                post = {**{k: v for k, v in original.items() if k not in ("text", "caption", "photo")}, **content,
                        "edit_date": int(time.time())}
                self._messages[chat_id][edit_of] = post
                self._push_update("edited_channel_post", post)
            return copy.deepcopy(post)

    def add_my_chat_member(self, chat: dict[str, Any], by: dict[str, Any], status: str) -> dict[str, Any]:
        """Queue the `my_chat_member` update Telegram sends when someone changes the bot's membership of a chat:
        made an administrator ("administrator"), or removed ("left"). Returns the update's payload."""
        administrator = {
            "status": "administrator", "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
            "can_delete_messages": False, "can_manage_video_chats": False, "can_restrict_members": False,
            "can_promote_members": False, "can_change_info": False, "can_invite_users": False, "can_post_messages": True,
            "can_edit_messages": False, "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False,
        }
        before, after = ({"status": "left"}, administrator) if status == "administrator" else (administrator, {"status": status})
        bot = _short_user(self.bot_user)
        member = {
            "chat": chat, "from": by, "date": int(time.time()),
            "old_chat_member": {"user": bot, **before}, "new_chat_member": {"user": bot, **after},
        }
        with self._lock:
            self._chats[chat["id"]] = chat
            self._push_update("my_chat_member", member)
        return copy.deepcopy(member)

    def add_callback_query(self, chat_id: int, message_id: int, user_id: int, data: str, strict: bool = True) -> dict[str, Any]:
        """Queue a press of the inline button carrying `data` under a message; returns the callback query.

        With `strict`, the message must show a button with that callback_data, as in a real client.
        """
        with self._lock:
            message = self._messages[chat_id].get(message_id)
            if message is None:
                raise ValueError(f"chat {chat_id} has no message {message_id} whose button could be pressed")
            offered = [button.get("callback_data") for row in message.get("reply_markup", {}).get("inline_keyboard", []) for button in row]
            if strict and data not in offered:
                raise ValueError(
                    f"message {message_id} in chat {chat_id} has no button with callback_data {data!r}; its buttons carry {offered}"
                )
            user = self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Test"}
            query = {
                "id": str(next(self._callback_ids)),
                "from": user,
                "message": message,
                "chat_instance": str(chat_id),
                "data": data,
            }
            self._open_callback_queries.add(query["id"])
            self._push_update("callback_query", query)
            return copy.deepcopy(query)

    def store_file(self, data: bytes, file_name: str) -> str:
        """Keep a file a user sent; returns its file_id (getFile gives its path, the file address its bytes)."""
        with self._lock:
            file_id = f"file-{len(self._files) + 1}"
            self._files[file_id] = (f"documents/file_{len(self._files) + 1}{Path(file_name).suffix}", data)
            return file_id

    async def download(self, request: web.Request) -> web.Response:
        """The Bot API's file address: /file/bot<token>/<file_path> from getFile."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        with self._lock:
            found = next((data for path, data in self._files.values() if path == request.match_info["path"]), None)
        if found is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found, content_type="application/octet-stream")

    def add_inline_query(self, user_id: int, query: str, chat_type: str = "private") -> dict[str, Any]:
        """Queue an inline query: the user typed `@bot query` in a chat of that type; returns it."""
        with self._lock:
            user = self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Test"}
            inline = {"id": f"iq{next(self._callback_ids)}", "from": user, "query": query, "offset": "", "chat_type": chat_type}
            self._open_inline_queries.add(inline["id"])
            self._push_update("inline_query", inline)
            return copy.deepcopy(inline)

    def inline_answer(self, query_id: str) -> dict[str, Any] | None:
        """The parameters of the answerInlineQuery call for this query, once it came (lock held by callers of take)."""
        answer = self._inline_answers.get(query_id)
        return copy.deepcopy(answer) if answer is not None else None

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _push_update(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue an update (lock held) and wake any long-polling getUpdates."""
        self._updates.append({"update_id": next(self._update_ids), kind: copy.deepcopy(payload)})
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._update_arrived.set)

    # --- reading what the bot did ------------------------------------------------------------------

    def sent_messages(self, chat_id: int, start: int = 0) -> list[dict[str, Any]]:
        """Records of the messages the bot sent to `chat_id`, from the `start`-th on, edits applied."""
        with self._lock:
            return copy.deepcopy(self._sent[chat_id][start:])

    def edit_log(self, chat_id: int, start: int = 0) -> list[dict[str, Any]]:
        """The bot's editMessageText calls in `chat_id`, from the `start`-th on."""
        with self._lock:
            return copy.deepcopy(self._edits[chat_id][start:])

    def chat_actions(self, chat_id: int) -> list[str]:
        """The actions the bot showed in `chat_id` with sendChatAction."""
        with self._lock:
            return list(self._actions[chat_id])

    def callback_answers(self) -> list[dict[str, Any]]:
        """The parameters of every answerCallbackQuery call that succeeded."""
        with self._lock:
            return copy.deepcopy(self._callback_answers)

    def calls(self) -> list[tuple[str, Params]]:
        """Every authenticated API call as (method, params), in arrival order."""
        with self._lock:
            return copy.deepcopy(list(self._calls))

    def rejections(self) -> list[tuple[str, Params, str]]:
        """Every call answered with an error, as (method, params, description)."""
        with self._lock:
            return copy.deepcopy(self._rejections)

    def commands(self) -> list[dict[str, Any]]:
        """The command list of the last setMyCommands call."""
        with self._lock:
            return copy.deepcopy(self._last_commands)

    def polling_status(self) -> tuple[bool, int]:
        """Whether the bot has ever called getUpdates, and how many updates it has not confirmed."""
        with self._lock:
            return self._polled, len(self._updates)

    # --- waiting for the bot -------------------------------------------------------------------------

    def wait_for(self, take: Callable[[], _Result | None], timeout: float) -> _Result | None:
        """Block until `take()` (run under the lock after each change) returns non-None, or time out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (result := take()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
            return result

    async def await_for(self, take: Callable[[], _Result | None], timeout: float) -> _Result | None:
        """Like `wait_for`, without blocking the caller's event loop."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._async_waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    waiter[1].clear()
                    with self._lock:
                        result = take()
                    if result is not None:
                        return result
                    await waiter[1].wait()
        except TimeoutError:
            return None
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)

    def _notify(self) -> None:
        """Wake everyone waiting for the bot (lock held)."""
        self._changed.notify_all()
        for loop, event in list(self._async_waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                # The waiter's event loop has closed, so nobody is left to wake.
                self._async_waiters.discard((loop, event))

    # --- validation shared by methods ----------------------------------------------------------------

    def _chat(self, params: Params) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        with self._lock:
            chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _message_id(self, params: Params) -> int:
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        return message_id

    # --- methods -------------------------------------------------------------------------------------

    async def _ok(self, params: Params) -> bool:
        return True

    async def _get_me(self, params: Params) -> dict[str, Any]:
        return dict(self.bot_user)

    async def _delete_webhook(self, params: Params) -> bool:
        if params.get("drop_pending_updates"):
            with self._lock:
                self._updates.clear()
        return True

    async def _get_webhook_info(self, params: Params) -> dict[str, Any]:
        with self._lock:
            pending = len(self._updates)
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}

    async def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        """Confirm updates below `offset`, then return pending ones, long-polling up to `timeout` seconds."""
        offset = params.get("offset", 0)
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = max(params.get("timeout", 0), 0)
        allowed = params.get("allowed_updates")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        event = self._update_arrived
        with self._lock:
            if allowed is not None:
                self._allowed_updates = list(allowed)
            if offset > 0:
                self._updates = [update for update in self._updates if update["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._polled = True
            self._poll_generation += 1
            generation = self._poll_generation
        event.set()  # an older long poll still waiting learns it has been superseded
        while True:
            event.clear()
            with self._lock:
                if generation != self._poll_generation:
                    raise ApiError(
                        HTTPStatus.CONFLICT,
                        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                    )
                updates = [update for update in self._updates if self._wanted(update)][:limit]
                closing = self._closing
            remaining = deadline - loop.time()
            if updates or closing or remaining <= 0:
                return copy.deepcopy(updates)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        return kind in self._allowed_updates if self._allowed_updates else kind not in _OPT_IN_UPDATES

    async def _send_message(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        chat_id = chat["id"]
        text, entities = _formatted_text(params)
        markup = _reply_markup(params)
        reply = params.get("reply_parameters") or {}
        reply_to = params.get("reply_to_message_id", reply.get("message_id"))
        may_skip_reply = params.get("allow_sending_without_reply", reply.get("allow_sending_without_reply"))
        with self._lock:
            target = self._messages[chat_id].get(reply_to) if reply_to is not None else None
            if reply_to is not None and target is None and not may_skip_reply:
                raise bad_request("message to be replied not found")
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "from": _short_user(self.bot_user),
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
            if target is not None:
                message["reply_to_message"] = _without_reply(target)
            _set_content(message, entities, markup)
            self._messages[chat_id][message["message_id"]] = message
            self._sent[chat_id].append(
                _record(chat_id, message["message_id"], params, text, entities, markup, message["date"])
                | {
                    "reply_to_message_id": message.get("reply_to_message", {}).get("message_id"),
                    "edit_date": None,
                    "deleted": False,
                }
            )
            self._notify()
            return copy.deepcopy(message)

    async def _send_document(self, params: Params) -> dict[str, Any]:
        """A file from the bot: kept with its name and bytes for the driver; an HTML caption validated like a text."""
        chat = self._chat(params)
        document = params.get("document")
        if not isinstance(document, UploadedFile):
            raise bad_request("there is no document in the request")
        if not document.data:
            raise bad_request("file must be non-empty")
        caption, entities = ("", [])
        if params.get("caption"):
            caption, entities = _formatted_text({"text": params["caption"], "parse_mode": params.get("parse_mode")})
        with self._lock:
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat["id"]),
                "from": _short_user(self.bot_user),
                "chat": chat,
                "date": int(time.time()),
                "document": {
                    "file_name": document.filename,
                    "file_id": f"doc-{chat['id']}-{len(self._sent[chat['id']]) + 1}",
                    "file_unique_id": f"u{len(self._sent[chat['id']]) + 1}",
                    "file_size": len(document.data),
                },
            }
            if caption:
                message["caption"], message["caption_entities"] = caption, entities
            self._messages[chat["id"]][message["message_id"]] = message
            shown = {**params, "text": params.get("caption", "")}
            self._sent[chat["id"]].append(
                _record(chat["id"], message["message_id"], shown, caption, entities, None, message["date"])
                | {
                    "document": {"file_name": document.filename, "data": document.data},
                    "reply_to_message_id": None,
                    "edit_date": None,
                    "deleted": False,
                }
            )
            self._notify()
            return copy.deepcopy(message)

    def _bot_message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """The bot's own message to edit (lock held)."""
        message = self._messages[chat_id].get(message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"] or "text" not in message:
            raise bad_request("message can't be edited")
        return message

    def _sent_record(self, chat_id: int, message_id: int) -> dict[str, Any]:
        return next(record for record in self._sent[chat_id] if record["message_id"] == message_id)

    async def _edit_message_text(self, params: Params) -> dict[str, Any]:
        chat_id = self._chat(params)["id"]
        message_id = self._message_id(params)
        text, entities = _formatted_text(params)
        markup = _inline_markup(params)
        with self._lock:
            message = self._bot_message(chat_id, message_id)
            if (message["text"], message.get("entities", []), message.get("reply_markup")) == (
                text,
                entities,
                markup,
            ):
                raise bad_request(_NOT_MODIFIED)
            message["text"] = text
            message["edit_date"] = int(time.time())
            _set_content(message, entities, markup)
            edit = _record(chat_id, message_id, params, text, entities, markup, message["edit_date"])
            self._edits[chat_id].append(edit)
            record = self._sent_record(chat_id, message_id)
            record.update({key: edit[key] for key in ("text", "plain_text", "parse_mode", "entities")})
            record.update(reply_markup=markup, edit_date=edit["date"])
            self._notify()
            return copy.deepcopy(message)

    async def _edit_message_reply_markup(self, params: Params) -> dict[str, Any]:
        chat_id = self._chat(params)["id"]
        message_id = self._message_id(params)
        markup = _inline_markup(params)
        with self._lock:
            message = self._bot_message(chat_id, message_id)
            if message.get("reply_markup") == markup:
                raise bad_request(_NOT_MODIFIED)
            message["edit_date"] = int(time.time())
            _set_content(message, message.get("entities", []), markup)
            record = self._sent_record(chat_id, message_id)
            record["reply_markup"] = markup
            record["edit_date"] = message["edit_date"]
            self._notify()
            return copy.deepcopy(message)

    async def _delete_message(self, params: Params) -> bool:
        chat_id = self._chat(params)["id"]
        message_id = self._message_id(params)
        with self._lock:
            message = self._messages[chat_id].pop(message_id, None)
            if message is None:
                raise bad_request("message to delete not found")
            if message["from"]["id"] == self.bot_user["id"]:
                self._sent_record(chat_id, message_id)["deleted"] = True
            self._notify()
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        with self._lock:
            if query_id not in self._open_callback_queries:
                raise bad_request("query is too old and response timeout expired or query ID is invalid")
            self._open_callback_queries.discard(query_id)
            self._callback_answers.append(copy.deepcopy(params))
            self._notify()
        return True

    async def _answer_inline_query(self, params: Params) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        try:
            check_results(params.get("results"))
        except InlineResultError as error:
            raise bad_request(str(error)) from error
        with self._lock:
            if query_id not in self._open_inline_queries:
                raise bad_request("query is too old and response timeout expired or query ID is invalid")
            self._open_inline_queries.discard(query_id)
            self._inline_answers[query_id] = copy.deepcopy(params)
            self._notify()
        return True

    async def _get_file(self, params: Params) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        with self._lock:
            if file_id not in self._files:
                raise bad_request("invalid file_id")
            path, data = self._files[file_id]
        return {"file_id": file_id, "file_unique_id": file_id.replace("-", ""), "file_size": len(data), "file_path": path}

    async def _send_chat_action(self, params: Params) -> bool:
        chat_id = self._chat(params)["id"]
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        with self._lock:
            self._actions[chat_id].append(action)
            self._notify()
        return True

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self._commands[_commands_key(params)] = commands
            self._last_commands = commands
        return True

    async def _get_my_commands(self, params: Params) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._commands.get(_commands_key(params), []))

    async def _delete_my_commands(self, params: Params) -> bool:
        with self._lock:
            self._commands.pop(_commands_key(params), None)
        return True

    async def _get_chat(self, params: Params) -> dict[str, Any]:
        return {
            **self._chat(params),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


async def _read_params(request: web.Request) -> Params:
    """Merge query string and body (JSON, urlencoded or multipart) into typed parameters."""
    params: Params = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as error:
                raise bad_request("can't parse JSON object") from error
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            params.update(body)
        else:
            form = await request.post()
            # An uploaded file (sendDocument's document) keeps its name and bytes; other fields are strings.
            params.update(
                (key, value if isinstance(value, str) else UploadedFile(value.filename, value.file.read())) for key, value in form.items()
            )
    return {key: _coerce(key, value) for key, value in params.items()}


@dataclass(frozen=True)
class Chaos:
    """Random faults for a soak: each call fails with probability `rate`, one of four ways."""

    rate: float
    random: random.Random

    def draw(self) -> tuple[float | None, ApiError | None, bool]:
        """(delay, error, drop the connection) for one call."""
        if self.random.random() >= self.rate:
            return None, None, False
        kind = self.random.choice(("429", "502", "drop", "slow"))
        if kind == "429":
            return None, ApiError(HTTPStatus.TOO_MANY_REQUESTS, "Too Many Requests: retry after 1", retry_after=1), False
        if kind == "502":
            return None, ApiError(HTTPStatus.BAD_GATEWAY, "Bad Gateway"), False
        return (0.8, None, False) if kind == "slow" else (None, None, True)


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    filename: str
    data: bytes


def _coerce(name: str, value: Any) -> Any:
    """Type a form field: JSON-decode objects, parse integers and booleans, keep other strings."""
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise bad_request(f"can't parse {name} JSON object") from error
    if name in _INT_PARAMS:
        if _INTEGER.fullmatch(value):
            return int(value)
        if name != "chat_id":  # chat_id may also be "@channelusername"
            raise bad_request(f"wrong parameter {name} in request")
    if name in _BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


def _formatted_text(params: Params) -> tuple[str, list[dict[str, Any]]]:
    """The plain text and entities of a message's `text`, validated as Telegram does."""
    raw = params.get("text")
    if not isinstance(raw, str) or not raw:
        raise bad_request("message text is empty")
    parse_mode = str(params.get("parse_mode") or "")
    if parse_mode.lower() == "html":
        try:
            text, entities = parse_telegram_html_entities(raw)
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from error
    elif parse_mode.lower() in ("", "markdown", "markdownv2"):
        # Markdown is passed through unchecked; only HTML is validated.
        text, entities = raw, list(params.get("entities") or [])
    else:
        raise bad_request("unsupported parse_mode")
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text, entities


def _reply_markup(params: Params) -> dict[str, Any] | None:
    """The message's reply_markup, with inline keyboard buttons checked as Telegram does."""
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not str(button.get("text", "")).strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        if not any(action in button for action in _BUTTON_ACTIONS):
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if "callback_data" in button and not (1 <= len(str(button["callback_data"]).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES):
            raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    return markup


def _inline_markup(params: Params) -> dict[str, Any] | None:
    """The inline keyboard of an edit; any other kind of markup cannot be attached to an edited message."""
    markup = _reply_markup(params)
    return markup if markup is not None and "inline_keyboard" in markup else None


def _set_content(message: dict[str, Any], entities: list[dict[str, Any]], markup: dict[str, Any] | None) -> None:
    """Set entities and inline keyboard of a stored message; Telegram omits both fields when empty."""
    message.pop("entities", None)
    message.pop("reply_markup", None)
    if entities:
        message["entities"] = entities
    if markup is not None and "inline_keyboard" in markup:
        message["reply_markup"] = markup


def _without_reply(message: dict[str, Any]) -> dict[str, Any]:
    """A copy of `message` to nest as `reply_to_message`: Telegram nests only one level."""
    return copy.deepcopy({key: value for key, value in message.items() if key != "reply_to_message"})


def _short_user(user: dict[str, Any]) -> dict[str, Any]:
    """The `from` field of the bot's messages: the user without getMe's capability flags."""
    return {key: user[key] for key in ("id", "is_bot", "first_name", "username")}


def _commands_key(params: Params) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _json_reply(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _record(
    chat_id: int, message_id: int, params: Params, text: str, entities: list[dict[str, Any]], markup: dict[str, Any] | None, date: int
) -> dict[str, Any]:
    """What the driver keeps of a message the bot sent or edited: the raw HTML, what the user sees, the buttons."""
    return {
        "message_id": message_id,
        "chat_id": chat_id,
        "text": params["text"],
        "plain_text": text,
        "parse_mode": params.get("parse_mode"),
        "entities": entities,
        "reply_markup": markup,
        "date": date,
    }
