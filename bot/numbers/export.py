"""/export: the period's leads and appointments as CSV and XLSX files (bytes).

Rows are read in batches of `BATCH` (keyset on id) and written straight into the CSV and the
write-only XLSX sheet, so memory holds one batch plus the files being built; the writing runs
in a thread, batch by batch, so a big export doesn't stall the bots. Times are shown in the
business timezone; money in rubles. An erased client's name and phone are blank.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.numbers import sql
from bot.numbers.kpi import Period

BATCH = 2000

_LEADS = (
    "SELECT l.id, l.created_at, l.channel, l.source, l.campaign, l.status, l.lost_reason, "
    "l.manager_id, s.name, c.name, c.phone, c.erased_at FROM lead l "
    "LEFT JOIN client c ON c.id = l.client_id "
    "LEFT JOIN staff_member s ON s.telegram_id = l.manager_id "
    "WHERE l.created_at >= ? AND l.created_at < ? AND l.id > ? ORDER BY l.id LIMIT ?"
)
_APPOINTMENTS = (
    "SELECT a.id, a.lead_id, a.created_at, l.source, l.manager_id, s.name, a.service_id, "
    "a.master_id, a.start, a.status, a.price_kop, a.paid_kop, c.name, c.phone, c.erased_at, "
    "d.amount_kop, d.status "
    "FROM appointment a LEFT JOIN client c ON c.id = a.client_id "
    "LEFT JOIN deposit d ON d.appointment_id = a.id AND d.paid_at IS NOT NULL "
    "LEFT JOIN lead l ON l.id = a.lead_id "
    "LEFT JOIN staff_member s ON s.telegram_id = l.manager_id "
    "WHERE a.start >= ? AND a.start < ? AND a.id > ? ORDER BY a.id LIMIT ?"
)


@dataclass(frozen=True)
class ExportFiles:
    leads_csv: bytes
    appointments_csv: bytes
    xlsx: bytes
    leads: int
    appointments: int


async def _batches(query: str, period: Period) -> AsyncIterator[list[tuple]]:
    last = 0
    while True:
        rows = await sql.rows(query, [period.start, period.end, last, BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE_CHARS = set("+0123456789 -()")


def _text(value: Any) -> str:
    """People's text (names, reasons) as a cell: one starting like a formula gets a leading
    apostrophe, so Excel never runs what a client typed as their name (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Shape:
    """Turns raw SQL rows into the cells people read (local times, rubles, names)."""

    def __init__(self, config: BusinessConfig) -> None:
        self.config = config

    def time(self, value: Any) -> str:
        return (
            ""
            if value is None
            else f"{sql.timestamp(value).astimezone(self.config.tz):%Y-%m-%d %H:%M}"
        )

    @staticmethod
    def rubles(kop: Any) -> Decimal | None:
        return None if kop is None else Decimal(int(kop)) / 100

    @staticmethod
    def person(name: Any, phone: Any, erased: Any) -> list[Any]:
        if erased is not None:
            return ["", ""]
        phone = phone or ""  # E.164 «+7927…» stays as it is: digits can't call anything
        return [_text(name), phone if set(phone) <= _PHONE_CHARS else _text(phone)]

    @staticmethod
    def manager(manager_id: Any, name: Any) -> str:
        return "" if manager_id is None else _text(name or manager_id)

    def lead(self, row: tuple) -> list[Any]:
        id_, created, channel, source, campaign, status, lost, mid, mname, *who = row
        return [
            id_,
            self.time(created),
            channel,
            _text(source),
            _text(campaign),
            status,
            _text(lost),
            self.manager(mid, mname),
            *self.person(*who),
        ]

    def appointment(self, row: tuple) -> list[Any]:
        id_, lead_id, created, source, mid, mname, service_id, master_id, start, *rest = row
        status, price, paid, name, phone, erased, deposit, deposit_status = rest
        service = self.config.service(service_id)
        master = self.config.master(master_id)
        return [
            id_,
            lead_id or "",
            self.time(created),
            _text(source),
            self.manager(mid, mname),
            service.title if service else service_id,
            master.name if master else master_id,
            self.time(start),
            status,
            self.rubles(price),
            self.rubles(paid),
            *self.person(name, phone, erased),
            self.rubles(deposit),  # a deposit paid for it, and what became of it
            deposit_status,
        ]


async def _table(
    query: str, period: Period, header: list[str], shape: Callable[[tuple], list[Any]], sheet: Any
) -> tuple[bytes, int]:
    """One table into a CSV (UTF-8 with BOM, so Excel opens Cyrillic right) and a sheet."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    sheet.append(header)
    count = 0

    def write(batch: list[tuple]) -> None:
        for row in batch:
            cells = shape(row)
            writer.writerow(["" if c is None else c for c in cells])
            sheet.append(cells)

    async for batch in _batches(query, period):
        # openpyxl is CPU-bound (~10 µs a cell): a thread keeps the bots answering meanwhile.
        await asyncio.to_thread(write, batch)
        count += len(batch)
    return text.getvalue().encode("utf-8-sig"), count


async def build_export(config: BusinessConfig, texts: Texts, period: Period) -> ExportFiles:
    shape = _Shape(config)
    book = Workbook(write_only=True)
    leads_sheet = book.create_sheet(texts("money.export.leads_sheet"))
    visits_sheet = book.create_sheet(texts("money.export.appointments_sheet"))
    leads_csv, leads = await _table(
        _LEADS, period, texts("money.export.lead_columns").split(","), shape.lead, leads_sheet
    )
    visits_csv, visits = await _table(
        _APPOINTMENTS,
        period,
        texts("money.export.appointment_columns").split(","),
        shape.appointment,
        visits_sheet,
    )
    out = io.BytesIO()
    book.save(out)
    return ExportFiles(leads_csv, visits_csv, out.getvalue(), leads, visits)


def file_stem(period: Period, config: BusinessConfig) -> str:
    """«2026-11-01_2026-11-30»: the period's local dates, for the file names."""
    first = period.start.astimezone(config.tz).date()
    last = period.end.astimezone(config.tz).date() - dt.timedelta(days=1)
    return f"{first}_{last}"
