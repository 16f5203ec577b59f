"""`isnad`: the command line of the whole product.

    isnad demo                      # the bot on the seed corpus, a fake Telegram and a terminal chat
    isnad bot                       # the bot on Telegram (TELEGRAM_BOT_TOKEN)
    isnad ingest | ask | eval       # retrieval from the shell (see `isnad ask --help`)
    isnad bench-chats | bench       # load and scale benchmarks

Settings come from the environment and `.env` (see .env.example).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings
from retrieval.cli import add_commands
from retrieval.errors import RetrievalError
from retrieval.semantic.encoder import one_blas_thread


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isnad",
        description="Answers Arabic questions about news articles with verbatim, cited sentences.",
        epilog='Example: isnad demo   |   isnad ask "متى زار بينيت موسكو؟"',
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_commands(commands, settings.data_dir, settings.db_path, settings.encoder)

    bot = commands.add_parser(
        "bot",
        help="run the Telegram bot (long polling)",
        description="Needs TELEGRAM_BOT_TOKEN; ADMIN_IDS may /reload and /stats. Example: isnad bot",
    )
    bot.set_defaults(run=lambda _: _run_bot(settings))

    demo = commands.add_parser(
        "demo",
        help="try the bot in the terminal, no token or network needed",
        description="Starts a local fake Telegram, the bot, and a terminal chat in which you are an admin. "
        "Log lines go to a file beside the database (--log to choose it). Example: isnad demo",
    )
    demo.add_argument("--verbose", action="store_true", help="show the log lines in the terminal too")
    demo.add_argument("--log", type=Path, help="the log file (default: isnad-demo.log beside the database)")
    demo.set_defaults(run=lambda args: _run_demo(settings, args.verbose, args.log))

    load = commands.add_parser(
        "bench-chats",
        help="drive many concurrent chats through the fake Telegram and print throughput and latency",
        description="Example: isnad bench-chats --chats 50 --questions 4",
    )
    load.add_argument("--chats", type=int, default=50, help="concurrent chats (default 50)")
    load.add_argument("--questions", type=int, default=4, help="questions per chat (default 4)")
    load.add_argument("--faults", type=float, default=0.0, help="share of the bot's Bot API calls failing at random, e.g. 0.05")
    load.set_defaults(run=lambda args: _run_loadtest(settings, args.chats, args.questions, args.faults))

    upload = commands.add_parser(
        "bench-upload",
        help="time an admin's article upload in a chat until its articles are answerable (fake Telegram, a copy of the corpus)",
        description="Example: isnad bench-upload news-1000.jsonl",
    )
    upload.add_argument("file", type=Path, help="a .txt or .jsonl article file")
    upload.set_defaults(run=lambda args: _run_source_bench("run_upload_bench", settings, args.file))

    channel = commands.add_parser(
        "bench-channel",
        help="time channel posts until the bot quotes them (fake Telegram, a copy of the corpus)",
        description="Posts news items in a listed channel at different points of the watched folder's cycle and asks "
        "about each until it is quoted. Example: isnad bench-channel --posts 5 --sync-seconds 10",
    )
    channel.add_argument("--posts", type=int, default=5, help="posts to time (default 5)")
    channel.add_argument("--sync-seconds", type=float, default=settings.sync_seconds or 60,
                         help="ISNAD_SYNC_SECONDS for the run (default: the setting)")
    channel.set_defaults(run=lambda args: _run_source_bench("run_channel_bench", settings, args.posts, args.sync_seconds))

    feeds = commands.add_parser(
        "bench-feeds",
        help="poll a local feed of many entries repeatedly: one sync, no article twice, memory over the polls",
        description="Example: isnad bench-feeds --entries 1000 --polls 20",
    )
    feeds.add_argument("--entries", type=int, default=1000, help="entries in the feed (default 1000)")
    feeds.add_argument("--polls", type=int, default=20, help="polls (default 20)")
    feeds.set_defaults(run=lambda args: _run_source_bench("run_feed_bench", settings, args.entries, args.polls))
    return parser


def _run_bot(settings: Settings) -> int:
    from bot.app import run_bot

    return run_bot(settings)


def _run_demo(settings: Settings, verbose: bool, log_file: Path | None) -> int:
    from bot.demo import run_demo

    return run_demo(settings, verbose=verbose, log_file=log_file)


def _run_source_bench(name: str, settings: Settings, *args: Any) -> int:
    """One of bot.sources.bench's run_* functions, imported only when asked for (the CLI starts fast)."""
    from bot.sources import bench

    return getattr(bench, name)(settings, *args)


def _run_loadtest(settings: Settings, chats: int, questions: int, faults: float = 0.0) -> int:
    from bot.loadtest import run_loadtest

    return run_loadtest(settings, chats, questions, faults)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"isnad: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    one_blas_thread()
    args = build_parser(settings).parse_args(argv)
    try:
        return args.run(args)
    except (RetrievalError, ConfigError, OSError) as error:
        print(f"isnad {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
