"""Prepared SQL (bot.raw_sql) writes values as tortoise does: SQLite keeps datetimes as text
and compares them as text, so an instant stored with another offset would sort wrong
against every row the ORM wrote (a report's range, the due rows, the slot cache)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

from bot.models import LeadEvent, LeadStatus
from bot.staffwork.leads import open_lead, record_event

SAMARA = ZoneInfo("Europe/Samara")


async def test_a_datetime_with_an_offset_is_stored_as_the_orm_stores_it(db):
    local = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SAMARA)  # 05:00 UTC
    lead = await open_lead(
        channel="telegram", client_id=None, source=None, campaign=None, now=local
    )
    raw = await record_event(lead.id, local, "client", LeadStatus.NEW, LeadStatus.QUALIFIED)
    orm = await LeadEvent.create(
        lead=lead, at=local, actor="client", from_status=None, to_status=LeadStatus.NEW
    )
    with sqlite3.connect(db) as connection:
        stored = dict(connection.execute('SELECT "id", "at" FROM "lead_event"').fetchall())
    assert stored[raw] == stored[orm.id]
    assert stored[raw].startswith("2026-11-23 05:00:00")
