"""The operations commands of `python -m bot`: migrate, backup, webhook delete, crm sync;
Sentry."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
from pathlib import Path

from bot.settings import Settings

log = logging.getLogger("priyom.ops")
COMMANDS = ("migrate", "backup", "webhook", "crm")


def add_commands(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("migrate", help="apply the database migrations once, then exit")
    backup = sub.add_parser("backup", help="copy the SQLite database (PostgreSQL: pg_dump)")
    backup.add_argument("path", nargs="?", type=Path, help="a folder or file (data/backups)")
    webhook = sub.add_parser("webhook", help="Telegram webhooks: delete (back to polling)")
    webhook.add_argument("action", choices=["delete"])
    crm = sub.add_parser("crm", help="CRM sync: re-push what the CRM lacks, report differences")
    crm.add_argument("action", choices=["sync"])
    crm.add_argument("--since", required=True, type=_day, help="leads created since (YYYY-MM-DD)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    match args.command:
        case "migrate":
            asyncio.run(_migrate(settings.database_url))
            print("migrations applied")
        case "backup":
            from bot.backup import BackupError, backup
            from bot.clock import SystemClock

            try:
                print(backup(settings.database_url, args.path, SystemClock().now()))
            except BackupError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        case "webhook":
            asyncio.run(_delete_webhooks(settings))
            print("webhooks deleted")
        case "crm":
            return asyncio.run(_crm_sync(settings, args.since))
    return 0


def _day(text: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0), tzinfo=dt.UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-12-01") from None


async def _crm_sync(settings: Settings, since: dt.datetime) -> int:
    """Reconcile, then send the queue until it is empty (or an outage stops it)."""
    from bot.clock import SystemClock
    from bot.crm.reconcile import reconcile
    from bot.db import close_db, init_db
    from handlers.crm import start_crm
    from workers.crm_jobs import sync_for

    await init_db(settings.database_url, settings.run_migrations)
    try:
        crm = await start_crm(settings)
        if crm is None:
            print("error: CRM is not set (CRM=bitrix24; docs/crm.md)", file=sys.stderr)
            return 2
        try:
            clock = SystemClock()
            report = await reconcile(crm, since, clock.now())
            sent = await sync_for(crm, clock, budget=600)
        finally:
            await crm.close()
    finally:
        await close_db()
    print("\n".join(report.lines()))
    print(f"sent now: {sent}")
    return 0


async def _migrate(url: str) -> None:
    from bot.db import close_db, init_db

    await init_db(url, migrate=True)
    await close_db()


async def _delete_webhooks(settings: Settings) -> None:
    from handlers.telegram import make_bot
    from handlers.telegram_webhook import delete_webhooks

    tokens = {"client": settings.bot_token, "staff": settings.staff_bot_token}
    bots = {
        name: make_bot(token, settings.telegram_api_url) for name, token in tokens.items() if token
    }
    await delete_webhooks(bots)


def init_sentry(dsn: str) -> bool:
    """Errors to Sentry when SENTRY_DSN is set; no local variables or personal data sent."""
    if not dsn:
        return False
    try:
        import sentry_sdk
    except ImportError:
        log.warning("sentry_unavailable", extra={"hint": "pip install 'priyom[sentry]'"})
        return False
    sentry_sdk.init(
        dsn=dsn, send_default_pii=False, include_local_variables=False, traces_sample_rate=0
    )
    return True
