"""Each master's visits and time overrides, kept per process across the booking horizon.

A slot page needs every visit and override of the service's masters; re-reading them on
each page was a fifth of a client step's cost. An entry here is tagged with the version
counter (bot.booking.versions) of the step that loaded it and serves any step whose
snapshot is not newer, so a visit booked or a day blocked by any process is seen by the
next step that begins after its commit. The unique cells of `MasterCell` still decide every
booking: a cache can only make an offer stale, never a double booking.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

from bot import raw_sql
from bot.booking.day_slots import SpanIndex, busy_index, change_index
from bot.booking.slots import UTC, Span, TimeChange, occupied_span
from bot.models import OCCUPYING_STATUSES
from bot.schedule_models import OverrideKind


@dataclass(frozen=True)
class MasterTimes:
    """One master's active visits and overrides meeting [since, until), as of `version`."""

    version: int
    since: dt.datetime
    until: dt.datetime
    visits: tuple[Span, ...]  # (start, end) without the buffer, sorted
    changes: tuple[TimeChange, ...]
    _indexes: dict[object, SpanIndex] = dataclasses.field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def covers(self, since: dt.datetime, until: dt.datetime) -> bool:
        return self.since <= since and until <= self.until

    def visits_meeting(self, since: dt.datetime, until: dt.datetime) -> list[Span]:
        return [(s, e) for s, e in self.visits if e > since and s < until]

    def busy_index(self, buffer_minutes: int) -> SpanIndex[Span]:
        """The visits as busy spans (with the buffer) indexed by start: built once per entry,
        so a warm slot page builds nothing (a replaced entry starts without one)."""
        index = self._indexes.get(buffer_minutes)
        if index is None:
            spans = (occupied_span(s, e, buffer_minutes) for s, e in self.visits)
            index = self._indexes[buffer_minutes] = busy_index(spans)
        return index

    def change_index(self) -> SpanIndex[TimeChange]:
        """The overrides indexed by start, built once per entry like `busy_index`."""
        index = self._indexes.get("changes")
        if index is None:
            index = self._indexes["changes"] = change_index(self.changes)
        return index

    def changes_meeting(self, since: dt.datetime, until: dt.datetime) -> list[TimeChange]:
        return [c for c in self.changes if c.end > since and c.start < until]


class TimesCache:
    """Entries by master id; a stale or too short entry is simply loaded again."""

    def __init__(self) -> None:
        self._entries: dict[str, MasterTimes] = {}
        self._loading: dict[frozenset[tuple[str, int]], asyncio.Future] = {}

    async def get(
        self, wanted: dict[str, int], since: dt.datetime, until: dt.datetime, window: Span
    ) -> dict[str, MasterTimes]:
        """The masters' entries at `wanted` versions or newer, loading the others over
        `window`; tasks missing the same ones at once share one load."""
        found = {}
        for master_id, version in wanted.items():
            entry = self.fresh(master_id, version, since, until)
            if entry is not None:
                found[master_id] = entry
        missing = {m: v for m, v in wanted.items() if m not in found}
        if missing:
            loaded = await self._load(missing, window)
            self.keep(loaded)
            found.update(loaded)
        return found

    async def _load(self, missing: dict[str, int], window: Span) -> dict[str, MasterTimes]:
        if isinstance(connections.get("default"), TransactionalDBClient):
            # This task holds the connection (SQLite: tortoise's lock) until it commits:
            # waiting for another task's load, which needs that connection, would never end.
            return await load(list(missing), *window, missing)
        key = frozenset(missing.items())
        shared = self._loading.get(key)
        if shared is None:
            shared = asyncio.ensure_future(load(list(missing), *window, missing))
            self._loading[key] = shared
            shared.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(shared)

    def fresh(
        self, master_id: str, version: int, since: dt.datetime, until: dt.datetime
    ) -> MasterTimes | None:
        entry = self._entries.get(master_id)
        if entry is None or entry.version < version or not entry.covers(since, until):
            return None
        return entry

    def keep(self, entry_of: dict[str, MasterTimes]) -> None:
        for master_id, entry in entry_of.items():
            current = self._entries.get(master_id)
            if current is None or current.version <= entry.version:
                self._entries[master_id] = entry

    def taken(self, master_id: str, start: dt.datetime, end: dt.datetime) -> None:
        """A booking of [start, end) just lost a race: someone holds that time now. Marked
        here so the page offered next leaves it out without a read inside the step's
        transaction; the next step's snapshot brings the real visit."""
        entry = self._entries.get(master_id)
        if entry is not None:
            visits = tuple(sorted((*entry.visits, (start, end))))
            self._entries[master_id] = dataclasses.replace(entry, visits=visits)

    def forget(self, master_ids: Iterable[str] | None = None) -> None:
        """Drop entries (all when None): after a lost race or a failed step."""
        if master_ids is None:
            self._entries.clear()
        for master_id in master_ids or ():
            self._entries.pop(master_id, None)


def _load_sql(masters: int) -> str:
    """The masters' active visits (kind NULL) and active overrides, one statement."""
    marks = ", ".join("?" * masters)
    statuses = ", ".join(f"'{s.value}'" for s in OCCUPYING_STATUSES)
    return (
        f'SELECT "master_id", CAST(NULL AS VARCHAR(16)), "start", "end" FROM "appointment" '
        f'WHERE "master_id" IN ({marks}) AND "status" IN ({statuses}) '
        f'AND "end" > ? AND "start" < ? UNION ALL '
        f'SELECT "master_id", "kind", "start", "end" FROM "schedule_override" '
        f'WHERE "master_id" IN ({marks}) AND "undone_at" IS NULL AND "end" > ? AND "start" < ?'
    )


_LOAD_SQL = {n: _load_sql(n) for n in range(1, 9)}


async def load(
    master_ids: Sequence[str], since: dt.datetime, until: dt.datetime, versions: dict[str, int]
) -> dict[str, MasterTimes]:
    """One prepared read for all the masters: their active visits and active overrides,
    as committed (bot.raw_sql.fetch_committed: on SQLite no hand-off to aiosqlite's
    thread, no queryset, the text parsed by `fromisoformat`). This runs after every
    booking anywhere (its master's counter moved), so it must stay cheap."""
    ids = list(master_ids)
    sql = _LOAD_SQL.get(len(ids)) or _load_sql(len(ids))
    rows = await raw_sql.fetch_committed(sql, [*ids, since, until, *ids, since, until])
    # In datetime.UTC: the driver's own UTC zone is a Python class, and comparing instants
    # of two zones costs ten times what comparing two of one does (every search compares).
    spans: dict[str, list[Span]] = defaultdict(list)
    changes: dict[str, list[TimeChange]] = defaultdict(list)
    for master_id, kind, start, end in rows:
        start, end = _instant(start), _instant(end)
        if kind is None:
            spans[master_id].append((start, end))
        else:
            changes[master_id].append(TimeChange(start, end, kind == EXTRA_SHIFT))
    return {
        m: MasterTimes(
            versions[m], since, until, tuple(sorted(spans.get(m, ()))), tuple(changes.get(m, ()))
        )
        for m in master_ids
    }


EXTRA_SHIFT = OverrideKind.EXTRA_SHIFT.value


def _instant(value: str | dt.datetime) -> dt.datetime:
    """SQLite hands back the text tortoise wrote (UTC), PostgreSQL a datetime; a naive one
    (written by hand) is UTC, as tortoise reads it."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
