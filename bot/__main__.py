"""`python -m bot` — run the client bot; `shell` — chat in the terminal; `links` — ad links;
`init` — write a business config from a few questions."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot import init_cli, ops_cli, startup
from bot.config import BusinessConfig, ConfigError, load_config
from bot.logs import setup_logging
from bot.settings import Settings, SettingsError, check_channels, load_settings

T = TypeVar("T")
MISSING_REDIS = (
    "REDIS_URL is not set: workers need Redis (e.g. REDIS_URL=redis://localhost:6379). "
    "Without Redis, python -m bot runs the timed work itself."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the Telegram client bot (the default)")
    shell = sub.add_parser("shell", help="chat with the bot in this terminal, no Telegram needed")
    shell.add_argument("--start", default="", help="a /start payload, e.g. src-instagram")
    shell.add_argument("--database", default="", help="default: console.sqlite3 by the live one")
    links = sub.add_parser("links", help="print the deep link of every configured source")
    links.add_argument("--bot", default="", help="the bot's @username (else asked from Telegram)")
    sub.add_parser("worker", help="run an arq worker for the timed work (needs REDIS_URL)")
    sub.add_parser("check", help="validate settings and the business config, then exit")
    ops_cli.add_commands(sub)
    init_cli.add_command(sub)
    args = parser.parse_args(argv)
    if args.command == "init":  # before any config exists
        return init_cli.run(args)

    try:
        settings = load_settings()
        configured = load_config(settings.business_config)
        settings.owner_ids  # noqa: B018 - validates OWNER_TELEGRAM_IDS early
        check_channels(settings)
    except (SettingsError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = startup.effective_config(settings, configured)
    if args.command == "check":
        return _check(settings, configured)
    problems = startup.problems(settings, args.command or "run")
    if problems:
        print(f"error: {problems[0]}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings)
    ops_cli.init_sentry(settings.sentry_dsn)

    match args.command:
        case "shell":
            return asyncio.run(_shell(settings, config, args.start, args.database))
        case "links":
            return asyncio.run(_links(settings, config, args.bot))
        case command if command in ops_cli.COMMANDS:
            return ops_cli.run(args, settings)
        case "worker":
            if not settings.redis_url:
                print(MISSING_REDIS, file=sys.stderr)
                return 2
            return serve(_worker(settings, config))
        case _:
            return _run(settings, configured, config)


GC_THRESHOLDS = (20_000, 20, 20)
"""The cyclic garbage collector's thresholds in a long-lived process. With Python's
(700, 10, 10) a flat-out client flow ran about a thousand collections per run, a few of
them full ones over the whole heap (about 0.1 s each): 1.2 s of its CPU, some 15 %.
Here: about 30 and none full, 0.35 s (bench/flow_bench.py runs through `serve`)."""


def serve(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-lived process's coroutine on uvloop when it is installed (the client flow
    measured 1.15-1.21x faster on it, issue 16), else on asyncio's own loop; the garbage
    collector runs less often (GC_THRESHOLDS)."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _run(settings: Settings, configured: BusinessConfig, config: BusinessConfig) -> int:
    """The bots until a signal; a token Telegram refuses ends it with one line, exit 2."""
    from bot.app import run_bot

    try:
        serve(run_bot(settings, config, warnings=startup.warnings(settings, configured)))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _check(settings: Settings, config: BusinessConfig) -> int:
    """Everything `run` needs, offline: each error one line (exit 2), warnings loudly."""
    problems = startup.problems(settings)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    for warning in startup.warnings(settings, config):
        print(f"WARNING: {warning}", file=sys.stderr)
    ai = _check_ai(settings, config)
    if problems or ai:
        return 2
    mode = startup.effective_config(settings, config).booking.mode
    print(
        f"ok: {config.business.name}, {len(config.services)} services, "
        f"{len(config.masters)} masters, booking mode {mode}"
    )
    return 0


def _check_ai(settings: Settings, config) -> int:
    """The AI settings: the knowledge file must load; say whether a model is used."""
    from bot.ai.knowledge import Knowledge
    from bot.i18n import Texts

    try:
        knowledge = Knowledge.load(
            config, Texts(config.business.locale), settings.ai_knowledge_file
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model = settings.openai_model if settings.openai_api_key else "none (rules only)"
    print(f"ai: model {model}, {len(knowledge.entries)} FAQ entries")
    return 0


async def _shell(settings: Settings, config, start: str, database: str) -> int:
    from bot.ai.factory import assistant, model_client
    from bot.clock import SystemClock
    from bot.db import close_db, init_db
    from bot.dialogs import DialogService
    from bot.i18n import Texts
    from handlers.console import ConsoleChannel, console_database, log_to_file

    database = database or console_database(settings.database_url)
    log_to_file(database, settings.log_level)
    await init_db(database)
    clock, texts = SystemClock(), Texts(config.business.locale)
    ai = model_client(settings, config, clock)
    dialogs = DialogService(
        config, clock, texts, understander=assistant(settings, config, texts, ai)
    )
    try:
        await ConsoleChannel(dialogs, start_arg=start).receive()
    finally:
        if ai is not None:
            await ai.close()
        await close_db()
    return 0


async def _worker(settings: Settings, config) -> int:
    from workers.arq_worker import build_worker

    worker = build_worker(settings, config)
    try:
        await worker.async_run()
    finally:
        await worker.close()
    return 0


async def _links(settings: Settings, config, username: str) -> int:
    from scenarios.deeplink import telegram_link

    if not username:
        if not settings.bot_token:
            print("error: pass --bot <username> or set BOT_TOKEN to ask Telegram", file=sys.stderr)
            return 2
        from handlers.telegram import make_bot

        bot = make_bot(settings.bot_token, settings.telegram_api_url)
        async with bot.context():
            username = (await bot.get_me()).username or ""
    for source in config.sources:
        print(f"{source.title}: {telegram_link(username, source.id)}")
        for campaign in source.campaigns:
            print(f"{source.title} / {campaign}: {telegram_link(username, source.id, campaign)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
