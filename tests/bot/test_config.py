"""Settings from the environment: the bot token, ADMIN_IDS, defaults."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from bot.config import DEFAULT_API_URL, PROJECT_ROOT, ConfigError, Settings, parse_admin_ids

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def settings(**environ: str) -> Settings:
    return Settings.from_env(environ)


@pytest.mark.parametrize("environ", [{}, {"TELEGRAM_BOT_TOKEN": ""}, {"TELEGRAM_BOT_TOKEN": "   "}])
def test_missing_token_says_where_one_comes_from(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="BotFather") as error:
        settings(**environ).require_token()
    assert "isnad demo" in str(error.value)


@pytest.mark.parametrize("token", ["abc", "123456:short", "token:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0", "123456789"])
def test_malformed_token(token: str) -> None:
    with pytest.raises(ConfigError, match="does not look like a bot token") as error:
        settings(TELEGRAM_BOT_TOKEN=token).require_token()
    assert token not in str(error.value)  # the message never echoes a secret


def test_good_token() -> None:
    assert settings(TELEGRAM_BOT_TOKEN=f" {TOKEN} ").require_token() == TOKEN


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("", frozenset()),
        ("42", frozenset({42})),
        ("1, 2,3 ,", frozenset({1, 2, 3})),
        ("7;8", frozenset({7, 8})),
        ("-100123", frozenset({-100123})),
    ],
)
def test_admin_ids(text: str, ids: frozenset[int]) -> None:
    assert parse_admin_ids(text) == ids
    assert settings(ADMIN_IDS=text).admin_ids == ids


@pytest.mark.parametrize("text", ["alice", "1,bob", "1.5"])
def test_bad_admin_ids(text: str) -> None:
    with pytest.raises(ConfigError, match="ADMIN_IDS"):
        parse_admin_ids(text)


def test_defaults_and_overrides(tmp_path: Path) -> None:
    default = settings()
    assert default.telegram_api_url == DEFAULT_API_URL
    assert default.admin_ids == frozenset()
    assert default.telegram_token is None
    custom = settings(
        ISNAD_DATA=str(tmp_path),
        ISNAD_DB=str(tmp_path / "x.db"),
        TELEGRAM_API_URL="http://127.0.0.1:8081/bot",
        ISNAD_LOG_LEVEL="debug",
    )
    assert (custom.data_dir, custom.db_path) == (tmp_path, tmp_path / "x.db")
    assert custom.telegram_api_url == "http://127.0.0.1:8081/bot"
    assert custom.log_level == "DEBUG"


def test_the_service_unit_runs_the_bot_and_restarts_it() -> None:
    unit = configparser.ConfigParser(strict=False)
    unit.read_string((PROJECT_ROOT / "bot" / "isnad.service").read_text(encoding="utf-8"))
    assert unit["Service"]["ExecStart"].endswith("/.venv/bin/isnad bot")
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Service"]["EnvironmentFile"].endswith("/.env")
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "**Run it on Telegram**" in readme and "bot/isnad.service" in readme


@pytest.mark.parametrize(
    ("environ", "file_url"),
    [
        ({}, "https://api.telegram.org/file/bot"),
        ({"TELEGRAM_API_URL": "http://127.0.0.1:8081/bot"}, "http://127.0.0.1:8081/file/bot"),
        ({"TELEGRAM_API_URL": "http://local:8081/bot/"}, "http://local:8081/file/bot"),
        ({"TELEGRAM_API_URL": "http://local/api", "TELEGRAM_FILE_URL": "http://files.local/file/bot"}, "http://files.local/file/bot"),
    ],
)
def test_the_file_address_follows_the_api_url_unless_set(environ: dict[str, str], file_url: str, tmp_path: Path) -> None:
    settings = Settings.from_env({"ISNAD_DATA": str(tmp_path), **environ})
    assert settings.file_url == file_url


def test_privacy_settings(tmp_path: Path) -> None:
    default = Settings.from_env({"ISNAD_DATA": str(tmp_path)})
    assert default.log_user_ids is True and default.log_days == 90
    private = Settings.from_env({"ISNAD_DATA": str(tmp_path), "ISNAD_LOG_USER_IDS": "false", "ISNAD_LOG_DAYS": "30"})
    assert private.log_user_ids is False and private.log_days == 30
    for name, value in (("ISNAD_LOG_USER_IDS", "maybe"), ("ISNAD_LOG_DAYS", "-5"), ("ISNAD_LOG_DAYS", "a week")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({"ISNAD_DATA": str(tmp_path), name: value})


def test_feed_settings(tmp_path: Path) -> None:
    assert Settings.from_env({"ISNAD_DATA": str(tmp_path)}).feeds_file is None
    listed = tmp_path / "feeds.txt"
    listed.write_text("https://example.org/rss\n")
    settings = Settings.from_env({"ISNAD_DATA": str(tmp_path), "ISNAD_FEEDS": str(listed), "ISNAD_FEED_MINUTES": "5"})
    assert settings.feeds_file == listed and settings.feed_minutes == 5
    for name, value in (("ISNAD_FEEDS", str(tmp_path / "nowhere.txt")), ("ISNAD_FEED_MINUTES", "0"), ("ISNAD_FEED_MINUTES", "soon")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({"ISNAD_DATA": str(tmp_path), name: value})
