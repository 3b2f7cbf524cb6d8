"""The waitlist: clients nothing fit wait for a service (a master or any, a window of days
and a part of the day); a freed slot is offered to them through the outbox.

Every change that frees a master's time calls ONE hook, `slot_freed`, in its own
transaction: a cancellation or a move (`Booker.cancel`), an extra shift added or time off
undone (bot/booking/schedule.py). In FIFO mode (the default) a slot goes to the first
matching client; an offer not taken within `waitlist.offer_minutes` expires and the slot
goes to the next (bot/booking/waitlist_timed.py). In "all" mode every match is offered at
once. Either way, taking an offer (bot/booking/waitlist_take.py) books through
`Booker.book`, whose unique grid cells decide a race: exactly one client gets the slot, the
others hear «уже занято» and stay on the list.

Built on the reshuffle's machinery (bot/booking/reshuffle.py) rather than beside it: the
offer goes out as an outbox row, the tap comes back as a typed payload and books through the
dialogue's own `Book` effect. The payload differs on purpose: `TakeOffer` moves a displaced
visit to a slot named in the button, `TakeSpot` names an offer row that the server re-reads
(whose, still live, which slot), so a forged or stale tap changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from bot import raw_sql
from bot.booking import versions
from bot.booking.slots import Slot, is_offerable, iter_free_slots, visit_minutes
from bot.config import BusinessConfig, Service
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Client
from bot.staffwork.intake import PHONE_CHANNEL
from bot.waitlist_models import (
    EntryStatus,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
)
from scenarios.actions import LeaveWaitlist, TakeSpot

if TYPE_CHECKING:
    from bot.booking.booker import Booker
    from bot.booking.slots import Busy, Changes

log = logging.getLogger("priyom.waitlist")
PAGE = 50  # entries first read while walking the line (then 100, 200, …)


@dataclass(frozen=True)
class Window:
    """What the client waits for, in business-local days and start minutes."""

    day_from: dt.date
    day_to: dt.date
    after_minute: int | None = None
    before_minute: int | None = None

    def fits(self, local: dt.datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return (
            self.day_from <= local.date() <= self.day_to
            and (self.after_minute is None or minute >= self.after_minute)
            and (self.before_minute is None or minute <= self.before_minute)
        )


def window_of(entry: WaitlistEntry | Waiting) -> Window:
    return Window(entry.day_from, entry.day_to, entry.after_minute, entry.before_minute)


# --- joining and leaving ------------------------------------------------------------------


async def join(
    config: BusinessConfig,
    client_id: int,
    lead_id: int | None,
    service_id: str,
    addon_ids: Sequence[str],
    master_id: str | None,
    window: Window,
    now: dt.datetime,
) -> WaitlistEntry | None:
    """A place on the list (the same wish again keeps the place it has); None when the
    service or master is not one the config offers (a stale or forged request)."""
    service = config.service(service_id)
    if service is None or (master_id is not None and master_id not in service.masters):
        return None
    same = await WaitlistEntry.filter(
        client_id=client_id,
        service_id=service_id,
        master_id=master_id,
        day_from=window.day_from,
        day_to=window.day_to,
        status=EntryStatus.WAITING,
    ).first()
    if same is not None:
        return same
    return await WaitlistEntry.create(
        client_id=client_id,
        lead_id=lead_id,
        service_id=service_id,
        addon_ids=[a for a in addon_ids if service.addon(a) is not None],
        master_id=master_id,
        day_from=window.day_from,
        day_to=window.day_to,
        after_minute=window.after_minute,
        before_minute=window.before_minute,
        created_at=now,
        expires_at=now + dt.timedelta(days=config.waitlist.entry_days),
    )


async def leave(booker: Booker, client_id: int | None, entry_id: int, now: dt.datetime) -> bool:
    """The client leaves the list (their own entry only); a live offer passes on."""
    if client_id is None:
        return False
    left = await WaitlistEntry.filter(
        id=entry_id, client_id=client_id, status=EntryStatus.WAITING
    ).update(status=EntryStatus.LEFT, ended_at=now)
    if left:
        await _withdraw_offers(booker, entry_id, now)
    return bool(left)


async def leave_all(booker: Booker, client_id: int | None, now: dt.datetime) -> int:
    """Every place of a client who asked to be forgotten; their live offers pass on."""
    ids = await WaitlistEntry.filter(client_id=client_id, status=EntryStatus.WAITING).values_list(
        "id", flat=True
    )
    return sum([await leave(booker, client_id, entry_id, now) for entry_id in ids])


async def booked_elsewhere(
    booker: Booker, client_id: int, service_id: str, start: dt.datetime, now: dt.datetime
) -> int:
    """The client booked the service themselves: a place whose days hold that visit is done
    (its live offers pass on), so nobody is offered what they already have."""
    day = start.astimezone(booker.config.tz).date()
    # Prepared SQL in the step's transaction (every booking asks; almost always nothing).
    rows = await raw_sql.fetch(WAITING_FOR, (client_id, service_id, day, day))
    return sum([await leave(booker, client_id, entry_id, now) for (entry_id,) in rows])


WAITING_FOR = (
    'SELECT "id" FROM "waitlist_entry" WHERE "client_id" = ? AND "service_id" = ? '
    f'AND "status" = \'{EntryStatus.WAITING.value}\' AND "day_from" <= ? AND "day_to" >= ?'
)


async def _withdraw_offers(booker: Booker, entry_id: int, now: dt.datetime) -> None:
    live = await WaitlistOffer.filter(entry_id=entry_id, status=OfferStatus.OFFERED)
    await WaitlistOffer.filter(entry_id=entry_id, status=OfferStatus.OFFERED).update(
        status=OfferStatus.WITHDRAWN
    )
    for offer in live:
        await pass_on(booker, offer, now)


async def pass_on(booker: Booker, offer: WaitlistOffer, now: dt.datetime) -> int:
    """An offer that ended untaken: in FIFO mode its slot goes to the next in line."""
    if booker.config.waitlist.mode != "fifo":
        return 0
    return await slot_freed(booker, offer.master_id, offer.start, offer.end, now)


# --- the hook -----------------------------------------------------------------------------


async def slot_freed(
    booker: Booker, master_id: str, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> int:
    """The master's time [start, end) has just been freed: offer it to the waiting clients
    it fits, in their order. Runs in the caller's transaction; returns the offers queued."""
    config = booker.config
    line = _line(config, master_id, start, end, now)
    wanted = await line.distinct().values_list("service_id", "addon_ids") if line else []
    if not wanted:
        return 0
    with versions.fresh():  # the step's snapshot predates its own change (this freed time)
        busy = await booker.busy([master_id], now)
        changes = await booker.changes([master_id], now - dt.timedelta(days=1))
    freed = Freed(master_id, start, end, busy, changes, now)
    found = {
        (service.id, tuple(addons)): candidates(config, service, addons, freed)
        for service_id, addons in wanted
        if (service := config.service(service_id)) is not None
    }
    minutes = [_minute_of(config, s.start) for slots in found.values() for s in slots]
    if not minutes:
        return 0  # nothing of the freed time is offerable (a block, the lead time…)
    line = line.filter(  # a window that meets none of these start times waits on
        Q(after_minute__isnull=True) | Q(after_minute__lte=max(minutes)),
        Q(before_minute__isnull=True) | Q(before_minute__gte=min(minutes)),
    )
    fifo = config.waitlist.mode == "fifo"
    held = await _live_spans(master_id, start, end, now) if fifo else []
    had = set(
        await WaitlistOffer.filter(master_id=master_id, start__gte=start, start__lt=end)
        .values_list("entry_id", "start")
    )  # fmt: skip
    texts, offered = Texts(config.business.locale), 0
    async for entry in _in_order(line):
        if fifo and not _any_unheld(config, found, held):
            break  # every slot of the freed time is on offer: the rest of the line waits
        slots = found.get((entry.service_id, entry.addon_ids), [])
        slot = _first_fit(config, entry, slots, held, had)
        if slot is None or not await _offer(config, texts, entry, slot, now):
            continue
        offered += 1
        if fifo:
            held.append((slot.start, slot.end))
    if offered:
        log.info("waitlist_offered", extra={"master": master_id, "offers": offered})
    return offered


@dataclass(frozen=True)
class Freed:
    """A master's freed time and what the slot engine needs to judge slots in it."""

    master_id: str
    start: dt.datetime
    end: dt.datetime
    busy: Busy
    changes: Changes
    now: dt.datetime


@dataclass(frozen=True)
class Waiting:
    """A live entry as the hook reads it: plain values, not a model (hundreds per call)."""

    id: int
    client_id: int
    lead_id: int | None
    service_id: str
    addon_ids: tuple[str, ...]
    day_from: dt.date
    day_to: dt.date
    after_minute: int | None
    before_minute: int | None


_WAITING_FIELDS = tuple(f for f in Waiting.__dataclass_fields__)


def _line(
    config: BusinessConfig, master_id: str, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> QuerySet[WaitlistEntry] | None:
    """Live entries whose service this master does and whose days meet the freed time (the
    window's times are checked slot by slot); None when the list is off or cannot match."""
    services = [s.id for s in config.services if master_id in s.masters]
    if not (config.waitlist.enabled and services):
        return None
    tz = config.tz
    return WaitlistEntry.filter(
        Q(master_id__isnull=True) | Q(master_id=master_id),
        status=EntryStatus.WAITING,
        expires_at__gt=now,
        service_id__in=services,
        day_from__lte=end.astimezone(tz).date(),
        day_to__gte=start.astimezone(tz).date(),
    )


async def _in_order(line: QuerySet[WaitlistEntry]) -> AsyncIterator[Waiting]:
    """First come first, a page at a time, each twice the last: the head of a long line is
    usually enough, and the whole line still takes few queries."""
    last, size = 0, PAGE
    while True:
        query = line.filter(id__gt=last).order_by("id").limit(size)
        page = await query.values_list(*_WAITING_FIELDS)
        for row in page:
            yield Waiting(*row[:4], tuple(row[4]), *row[5:])
        if len(page) < size:
            return
        last, size = page[-1][0], size * 2


def _minute_of(config: BusinessConfig, moment: dt.datetime) -> int:
    local = moment.astimezone(config.tz)
    return local.hour * 60 + local.minute


def _any_unheld(
    config: BusinessConfig,
    found: dict[tuple[str, tuple[str, ...]], list[Slot]],
    held: list[tuple[dt.datetime, dt.datetime]],
) -> bool:
    buffer = dt.timedelta(minutes=config.booking.buffer_minutes)
    return any(not _overlaps_held(slot, held, buffer) for slots in found.values() for slot in slots)


def _overlaps_held(
    slot: Slot, held: list[tuple[dt.datetime, dt.datetime]], buffer: dt.timedelta
) -> bool:
    return any(slot.start < e + buffer and s < slot.end + buffer for s, e in held)


async def _live_spans(
    master_id: str, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Slots of this master already offered and still live: in FIFO mode nobody else is
    offered them until they end."""
    return list(
        await WaitlistOffer.filter(
            master_id=master_id,
            status=OfferStatus.OFFERED,
            expires_at__gt=now,
            start__lt=end,
            end__gt=start,
        ).values_list("start", "end")
    )


def candidates(
    config: BusinessConfig, service: Service, addon_ids: Sequence[str], freed: Freed
) -> list[Slot]:
    """Offerable slots of the service starting within the freed time, nearest first: the
    freed start itself, then the engine's own slots."""
    minutes = dt.timedelta(minutes=visit_minutes(service, addon_ids))
    first = Slot(freed.start, freed.start + minutes, freed.master_id)
    args = (config, service, addon_ids)
    found = [first] if is_offerable(*args, first, freed.busy, freed.now, freed.changes) else []
    tz = config.tz
    days = (freed.start.astimezone(tz).date(), freed.end.astimezone(tz).date())
    busy = {freed.master_id: freed.busy.get(freed.master_id, [])}
    for slot in iter_free_slots(*args, busy, freed.now, *days, freed.changes):
        if slot.master_id == freed.master_id and freed.start < slot.start < freed.end:
            found.append(slot)
    return found


def _first_fit(
    config: BusinessConfig,
    entry: Waiting,
    slots: list[Slot],
    held: list[tuple[dt.datetime, dt.datetime]],
    had: set[tuple[int, dt.datetime]],
) -> Slot | None:
    window, tz = window_of(entry), config.tz
    buffer = dt.timedelta(minutes=config.booking.buffer_minutes)
    for slot in slots:
        if (entry.id, slot.start) in had or not window.fits(slot.start.astimezone(tz)):
            continue
        if not _overlaps_held(slot, held, buffer):
            return slot
    return None


async def _offer(
    config: BusinessConfig, t: Texts, entry: Waiting, slot: Slot, now: dt.datetime
) -> WaitlistOffer | None:
    """One offer row and its message; None when this entry had this slot already or the
    client cannot be written to (erased, or known only by phone)."""
    client = await Client.get_or_none(id=entry.client_id, erased_at__isnull=True)
    if client is None or client.channel == PHONE_CHANNEL:
        return None
    try:
        async with in_transaction():  # a savepoint: another process may offer it too
            offer = await WaitlistOffer.create(
                entry_id=entry.id,
                master_id=slot.master_id,
                start=slot.start,
                end=slot.end,
                offered_at=now,
                expires_at=now + dt.timedelta(minutes=config.waitlist.offer_minutes),
            )
    except IntegrityError:
        return None
    await enqueue(
        bot="client",
        channel=client.channel,
        chat_id=client.channel_user_id,
        kind="waitlist_offer",
        message=offer_message(config, t, entry, offer),
        dedup_key=f"woffer:{offer.id}",
        now=now,
        lead_id=entry.lead_id,
    )
    return offer


def offer_message(
    config: BusinessConfig, t: Texts, entry: Waiting, offer: WaitlistOffer
) -> Message:
    service, master = config.service(entry.service_id), config.master(offer.master_id)
    text = t(
        "waitlist.offer",
        service=service.title if service else entry.service_id,
        master=master.name if master else offer.master_id,
        when=t.moment(offer.start.astimezone(config.tz)),
        minutes=config.waitlist.offer_minutes,
    )
    buttons = [
        [(t("waitlist.btn_take"), TakeSpot(offer.id).pack())],
        [(t("waitlist.btn_leave"), LeaveWaitlist(entry.id).pack())],
    ]
    return Message(text, buttons)
