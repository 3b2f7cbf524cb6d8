"""A master's ICS feed over real HTTP: the link from the staff bot's /calendar, the visits
parsed back with icalendar, a moved visit at its new time, a revoked link → 404, and the
token in no log line."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from icalendar import Calendar

from bot.booking.booker import Booker
from bot.booking.calendar_feed import token_hash
from bot.booking.slots import Slot
from bot.delivery.channel import ChannelSet
from bot.models import Appointment
from bot.settings import Settings
from bot.staff_models import CalendarToken, CatalogAudit, ServiceOverride
from handlers.calendar_feed import CalendarFeed
from handlers.registry import serve
from tests import staff_fixtures, test_postgres
from tests.staff_fixtures import ANNA, MASHA, OLYA, Desk

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures
pg = test_postgres.pg
URL = re.compile(r"https?://\S+/calendar/([A-Za-z0-9_-]+)\.ics")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def feed_server(desk: Desk) -> AsyncIterator[str]:
    """The product's own web server (handlers/registry.py) with only the feed route."""
    port = _free_port()
    settings = Settings(_env_file=None, webhook_host="127.0.0.1", webhook_port=port)  # type: ignore[call-arg]
    runner = await serve(settings, ChannelSet({}), CalendarFeed(desk.config, desk.clock).register)
    assert runner is not None
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def get(url: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.content_type, await response.read()


async def link_of(desk: Desk, user=ANNA, args: str = "") -> str:
    desk.say(user, f"/calendar {args}".strip())
    message = await desk.sees(user, "Ваш календарь")
    match = URL.search(message["text"])
    assert match, message["text"]
    return match.group(1)


def events(body: bytes) -> dict[str, dict]:
    cal = Calendar.from_ical(body)
    return {
        str(e["UID"]): {
            "start": e.decoded("DTSTART"),
            "end": e.decoded("DTEND"),
            "summary": str(e["SUMMARY"]),
            "status": str(e["STATUS"]),
            "sequence": int(e["SEQUENCE"]),
        }
        for e in cal.walk("VEVENT")
    }


async def test_the_feed_shows_visits_and_a_moved_one_at_its_new_time(desk: Desk, caplog):
    caplog.set_level(logging.DEBUG)
    visit = await desk.book()  # Ксения, manicure with Анна tomorrow
    token = await link_of(desk)
    assert len(token) >= 40
    stored = await CalendarToken.get(master_id="anna")
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash
    async with feed_server(desk) as base:
        status, kind, body = await get(f"{base}/calendar/{token}.ics")
        assert (status, kind) == (200, "text/calendar")
        (only,) = events(body).values()
        assert (only["start"], only["end"]) == (visit.start, visit.end)
        assert only["summary"] == "Маникюр — Ксения"  # first name and service only
        assert "9271234567" not in body.decode() and "79271234567" not in body.decode()

        desk.clock.advance(minutes=10)
        booker = Booker(desk.config, desk.clock)
        three_hours = dt.timedelta(hours=3)
        later = Slot(visit.start + three_hours, visit.end + three_hours, "anna")
        service = desk.config.service("manicure")
        moved = await booker.book(later, service, [], await visit.client, await visit.lead)
        assert moved is not None
        await booker.cancel(await Appointment.get(id=visit.id))  # as a client's move does

        feed = events((await get(f"{base}/calendar/{token}.ics"))[2])
        old, new = feed[f"appointment-{visit.id}@priyom"], feed[f"appointment-{moved.id}@priyom"]
        assert old["status"] == "CANCELLED" and old["sequence"] > only["sequence"]
        assert (new["start"], new["status"]) == (later.start, "CONFIRMED")
    assert token not in caplog.text, "the token reached a log line"


async def test_a_revoked_or_replaced_link_gets_404(desk: Desk):
    await desk.book()
    first = await link_of(desk)
    desk.say(ANNA, "/calendar")
    await desk.sees(ANNA, "уже выдана")  # shown once: only the hash is kept
    second = await link_of(desk, args="new")
    async with feed_server(desk) as base:
        assert (await get(f"{base}/calendar/{first}.ics"))[0] == 404
        assert (await get(f"{base}/calendar/{second}.ics"))[0] == 200
        desk.say(ANNA, "/calendar revoke")
        await desk.sees(ANNA, "отключена")
        assert (await get(f"{base}/calendar/{second}.ics"))[0] == 404
        assert (await get(f"{base}/calendar/{'x' * 43}.ics"))[0] == 404


async def test_each_master_sees_only_their_own_visits(desk: Desk):
    await desk.book()  # Анна's visit
    olya = await link_of(desk, OLYA)
    async with feed_server(desk) as base:
        assert events((await get(f"{base}/calendar/{olya}.ics"))[2]) == {}


@pytest.mark.parametrize("user", [MASHA, staff_fixtures.OWNER])
async def test_only_masters_get_a_feed(desk: Desk, user):
    desk.say(user, "/calendar")
    await desk.sees(user, "Календарь есть у каждого мастера")
    assert await CalendarToken.all().count() == 0


async def test_the_migration_on_postgresql(pg, clock):
    """Migration 7's tables on a real PostgreSQL server: tokens, overrides, audit."""
    now = clock.now()
    await CalendarToken.create(master_id="anna", token_hash="h" * 64, created_by=1, created_at=now)
    await ServiceOverride.create(
        service_id="manicure", masters=["anna"], enabled=False, updated_by=1, updated_at=now
    )
    await CatalogAudit.create(
        service_id="manicure", field="on", before="1", after="0", by=1, at=now
    )
    override = await ServiceOverride.get(service_id="manicure")
    assert (override.masters, override.enabled, override.price_kop) == (["anna"], False, None)
    assert await CatalogAudit.all().count() == 1


def test_a_feed_url_in_any_log_line_loses_its_token():
    from bot.logs import Redactor

    line = 'GET /calendar/AbC_-123xyz.ics HTTP/1.1" 200'
    assert Redactor().scrub(line) == 'GET /calendar/***.ics HTTP/1.1" 200'
