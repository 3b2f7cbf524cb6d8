"""Free slots: pure computation over the config and the masters' busy spans.

No database, no I/O. Working hours are local wall-clock times in the business timezone;
everything else here is an aware UTC instant. Local times are turned into instants through
zoneinfo, so daylight-saving changes are handled: a local start that does not exist (the
spring-forward gap) is never offered, an ambiguous one (the autumn fold) means its first
occurrence (fold=0), and a visit's end is its start plus the real elapsed minutes.

A slot of master M is offered when
- [start, end) lies within one of M's working intervals of that local date,
- start >= now + min_lead_minutes, and
- [start, end + buffer) does not intersect any of M's busy spans, each of which is
  already [appointment start, appointment end + buffer).
So two visits of one master are at least `buffer` minutes apart, while the buffer after the
last visit of the day may run past closing time.

Candidate starts: every `slot_step_minutes` of wall-clock time from each working interval's
start, plus the end of each busy span (so a client can take the time right after a visit and
its buffer).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.config import GRID_MINUTES, BusinessConfig, Master, Service

UTC = dt.UTC

Span = tuple[dt.datetime, dt.datetime]
Busy = Mapping[str, Sequence[Span]]
"""Per master id: occupied UTC spans [start, end + buffer) of existing appointments."""


class TimeChange(NamedTuple):
    """A stored change of a master's time on top of the TOML schedule (bot.booking.schedule):
    `adds` is an extra shift; anything else (day off, sick, vacation, block) removes time.
    A tuple: the slot page's memo (bot.booking.day_slots) hashes a day's changes per look."""

    start: dt.datetime  # aware, UTC
    end: dt.datetime
    adds: bool = False


Changes = Mapping[str, Sequence[TimeChange]]
"""Per master id: the active overrides that meet the search's horizon."""
NO_CHANGES: Changes = {}


@dataclass(frozen=True, order=True)
class Slot:
    start: dt.datetime  # aware, UTC
    end: dt.datetime  # aware, UTC: start + service duration + chosen add-ons' durations
    master_id: str


def visit_minutes(service: Service, addon_ids: Iterable[str]) -> int:
    """The length of a visit: the service plus the chosen add-ons (unknown ids are ignored,
    an add-on chosen twice counts once)."""
    chosen = set(addon_ids)
    return service.duration + sum(a.duration for a in service.addons if a.id in chosen)


def occupied_span(start: dt.datetime, end: dt.datetime, buffer_minutes: int) -> Span:
    """What an appointment [start, end) blocks for its master: [start, end + buffer)."""
    return start, end + dt.timedelta(minutes=buffer_minutes)


def is_free(slot: Slot, busy: Busy, buffer_minutes: int) -> bool:
    """True when the slot with its buffer meets none of its master's busy spans."""
    _, held_until = occupied_span(slot.start, slot.end, buffer_minutes)
    return not any(_overlaps(slot.start, held_until, s, e) for s, e in busy.get(slot.master_id, ()))


def is_offerable(
    config: BusinessConfig,
    service: Service,
    addon_ids: Iterable[str],
    slot: Slot,
    busy: Busy,
    now: dt.datetime,
    changes: Changes = NO_CHANGES,
) -> bool:
    """Whether the engine's rules allow this slot now; a slot from a button is a claim, not
    a fact (callback data can be forged), so the booking re-checks it here.

    The rules of `iter_free_slots`: a master who does the service, the visit's length with
    its add-ons, the lead time and the horizon, a real local time within the master's working
    interval of that day (days off have none), and free with its buffer. The start must be on
    the 5-minute grid rather than the offering step: the engine also offers the time right
    after a visit, and staff move visits to such times.
    """
    rules = config.booking
    master = config.master(slot.master_id)
    duration = dt.timedelta(minutes=visit_minutes(service, addon_ids))
    if master is None or master.id not in service.masters or slot.end - slot.start != duration:
        return False
    if slot.start < now + dt.timedelta(minutes=rules.min_lead_minutes):
        return False
    tz = config.tz
    local = slot.start.astimezone(tz)
    day, minute = local.date(), local.hour * 60 + local.minute
    if day > now.astimezone(tz).date() + dt.timedelta(days=rules.horizon_days):
        return False
    if local.second or local.microsecond or minute % GRID_MINUTES:
        return False
    if _local_start(tz, day, minute) != slot.start:  # the second of two equal wall times
        return False
    spans = working_spans(config, master, day, changes.get(master.id, ()))
    within = any(open_at <= slot.start and slot.end <= close_at for open_at, close_at in spans)
    return within and is_free(slot, busy, rules.buffer_minutes)


def iter_free_slots(
    config: BusinessConfig,
    service: Service,
    addon_ids: Iterable[str],
    busy: Busy,
    now: dt.datetime,
    day_from: dt.date,
    day_to: dt.date,
    changes: Changes = NO_CHANGES,
) -> Iterator[Slot]:
    """Free slots for the service on local days day_from..day_to (inclusive), nearest first.

    The days are clamped to [today, today + horizon_days] (local). Slots of all masters who
    do the service come in chronological order; at the same start, masters come in the order
    of the config. Lazy: one local day is computed at a time.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    # Evaluated here, not in the generator, so a one-shot iterable of add-ons is read at once.
    duration = dt.timedelta(minutes=visit_minutes(service, addon_ids))
    return _iter_free_slots(
        config, service, duration, busy, changes, now.astimezone(UTC), day_from, day_to
    )


def _iter_free_slots(
    config: BusinessConfig,
    service: Service,
    duration: dt.timedelta,
    busy: Busy,
    changes: Changes,
    now: dt.datetime,
    day_from: dt.date,
    day_to: dt.date,
) -> Iterator[Slot]:
    tz = config.tz
    rules = config.booking
    buffer = dt.timedelta(minutes=rules.buffer_minutes)
    step = rules.slot_step_minutes
    earliest = now + dt.timedelta(minutes=rules.min_lead_minutes)

    today = now.astimezone(tz).date()
    day = max(day_from, today)
    last = min(day_to, today + dt.timedelta(days=rules.horizon_days))

    wanted = set(service.masters)
    masters = [(i, m) for i, m in enumerate(config.masters) if m.id in wanted]
    spans = {m.id: sorted(busy.get(m.id, ())) for _, m in masters}
    moved = {m.id: changes.get(m.id, ()) for _, m in masters}

    while day <= last:
        found: list[tuple[dt.datetime, int, Slot]] = []
        for order, master in masters:
            for work in working_spans(config, master, day, moved[master.id]):
                for start, end in _interval_slots(
                    tz, day, work, step, duration, buffer, earliest, spans[master.id]
                ):
                    found.append((start, order, Slot(start, end, master.id)))
        found.sort(key=lambda item: (item[0], item[1]))
        for _, _, slot in found:
            yield slot
        day += dt.timedelta(days=1)


NEVER = dt.datetime.min.replace(tzinfo=UTC)


def day_free_spans(
    config: BusinessConfig,
    master: Master,
    day: dt.date,
    minutes: int,
    spans: Sequence[Span],
    changes: Sequence[TimeChange] = (),
) -> list[Span]:
    """Every free (start, end) of a master on a local day for a visit of `minutes`, by the
    rules above but before the lead time (a day's answer then holds all day long): what
    `iter_free_slots` offers of that master and day, once the starts before now + lead are
    dropped. `spans`: the master's busy spans, at least those meeting the day."""
    tz, rules = config.tz, config.booking
    duration = dt.timedelta(minutes=minutes)
    buffer = dt.timedelta(minutes=rules.buffer_minutes)
    step = rules.slot_step_minutes
    free: list[Span] = []
    for work in working_spans(config, master, day, changes):
        free += _interval_slots(tz, day, work, step, duration, buffer, NEVER, spans)
    return free


def day_bounds(tz: ZoneInfo, day: dt.date) -> Span:
    """The UTC instants where a local day begins and ends (the next day's midnight)."""
    return _boundary(tz, day, 0), _boundary(tz, day + dt.timedelta(days=1), 0)


def working_spans(
    config: BusinessConfig, master: Master, day: dt.date, changes: Sequence[TimeChange] = ()
) -> list[Span]:
    """THE one place a master's working time on a local day is decided: the TOML schedule
    (business hours, days off) plus extra shifts, minus days off, sick days, vacations and
    blocks. UTC spans, sorted and disjoint; a day without overrides costs nothing extra."""
    tz = config.tz
    base = [
        (_boundary(tz, day, i.start_minute), _boundary(tz, day, i.end_minute))
        for i in config.master_hours(master, day)
    ]
    if not changes:
        return base
    day_start, day_end = day_bounds(tz, day)
    today = [c for c in changes if c.start < day_end and c.end > day_start]
    if not today:
        return base
    spans = _union(base + [(max(c.start, day_start), min(c.end, day_end)) for c in today if c.adds])
    for change in today:
        if not change.adds:
            spans = _subtract(spans, change.start, change.end)
    return spans


def _union(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(spans: list[Span], cut_start: dt.datetime, cut_end: dt.datetime) -> list[Span]:
    out: list[Span] = []
    for start, end in spans:
        if cut_end <= start or end <= cut_start:
            out.append((start, end))
            continue
        if start < cut_start:
            out.append((start, cut_start))
        if cut_end < end:
            out.append((cut_end, end))
    return out


def _interval_slots(
    tz: ZoneInfo,
    day: dt.date,
    work: Span,
    step: int,
    duration: dt.timedelta,
    buffer: dt.timedelta,
    earliest: dt.datetime,
    spans: Sequence[Span],
) -> Iterator[Span]:
    """Free (start, end) pairs of one master within one working span, in order."""
    open_at, close_at = work
    if close_at - open_at < duration or close_at - duration < earliest:
        return
    # Only spans that can meet a visit inside this interval (its buffer may pass closing).
    near = [(s, e) for s, e in spans if s < close_at + buffer and e > open_at]

    candidates = set(_grid(tz, day, open_at, close_at, step))
    candidates.update(e for _, e in near if open_at <= e < close_at)

    for start in sorted(candidates):
        if start < earliest or start < open_at:
            continue
        end = start + duration
        if end > close_at:
            break
        held_until = end + buffer
        if any(_overlaps(start, held_until, s, e) for s, e in near):
            continue
        yield start, end


@functools.lru_cache(maxsize=2048)  # master-days: 10 masters, 2 months, a few spans
def _grid(
    tz: ZoneInfo, day: dt.date, open_at: dt.datetime, close_at: dt.datetime, step: int
) -> tuple[dt.datetime, ...]:
    """The starts on the local grid of `step` minutes within one working span: the same for
    every page, visit length and booking of that day, and each costs two zone conversions."""
    starts = []
    for minute in range(_minute_of(tz, day, open_at), 24 * 60, step):
        start = _local_start(tz, day, minute)
        if start is not None and start >= close_at:
            break
        if start is not None:
            starts.append(start)
    return tuple(starts)


def _overlaps(
    a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime
) -> bool:
    return a_start < b_end and b_start < a_end


def _minute_of(tz: ZoneInfo, day: dt.date, instant: dt.datetime) -> int:
    """The local minute of the day at which a span opens (0 if it opened the day before)."""
    local = instant.astimezone(tz)
    if local.date() != day:
        return 0
    return local.hour * 60 + local.minute + (1 if local.second or local.microsecond else 0)


def _wall(day: dt.date, minute: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60)


def _local_start(tz: ZoneInfo, day: dt.date, minute: int) -> dt.datetime | None:
    """The UTC instant of a local wall time (first occurrence), None if it does not exist."""
    wall = _wall(day, minute)
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        return None  # in the spring-forward gap
    return instant


@functools.lru_cache(maxsize=4096)  # pure; a master-day's hours are looked up on every check
def _boundary(tz: ZoneInfo, day: dt.date, minute: int) -> dt.datetime:
    """The UTC instant where a working interval starts or ends at a local wall time.

    An ambiguous time means its first occurrence; a time in a gap means the moment the
    clocks jumped (the first instant after the gap), so hours like 02:30-05:00 on the night
    clocks go forward start at the jump, and 00:00-02:30 ends there.
    """
    instant = _local_start(tz, day, minute)
    if instant is not None:
        return instant
    wall = _wall(day, minute)
    a = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    b = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(a, b), max(a, b)  # lo is before the jump, hi after it
    after = hi.astimezone(tz).utcoffset()
    # Binary search, in whole minutes, for the first instant with the offset after the jump.
    while hi - lo > dt.timedelta(minutes=1):
        mid = lo + (hi - lo) // 2
        mid = mid.replace(second=0, microsecond=0)
        if mid <= lo:
            break
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi
