"""What staff type after a schedule command, read into a `Change` (no channel, no database).

Words may come in any order: «/block завтра 13:00-14:00 обед», «/vacation Анна 01.12-14.12»,
«/dayoff 05.12», «/sick», «/shift Оля 06.12 10:00-16:00». A master's name is optional for a
master (their own time); whatever is not a date, a range or a master is the reason.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.booking.schedule import Change, ScheduleRefused
from bot.config import BusinessConfig
from bot.schedule_models import OverrideKind
from bot.staffwork.staff import find_master

_DATE = r"(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?"
DATE_RE = re.compile(rf"{_DATE}$")
DATES_RE = re.compile(rf"{_DATE}[-–—]{_DATE}$")
TIMES_RE = re.compile(r"(\d{1,2}):(\d{2})[-–—](\d{1,2}):(\d{2})$")
WORDS = {"сегодня": 0, "today": 0, "завтра": 1, "tomorrow": 1, "послезавтра": 2}
COMMANDS = {
    "block": OverrideKind.BLOCK,
    "dayoff": OverrideKind.DAY_OFF,
    "sick": OverrideKind.SICK,
    "vacation": OverrideKind.VACATION,
    "shift": OverrideKind.EXTRA_SHIFT,
}


class BadInput(ScheduleRefused):
    key = "schedule.usage"


class NeedMaster(ScheduleRefused):
    key = "schedule.need_master"


class BadDate(ScheduleRefused):
    key = "schedule.bad_date"


def read_change(
    config: BusinessConfig,
    kind: OverrideKind,
    args: str,
    own_master: str | None,
    now: dt.datetime,
) -> Change:
    """The change the words describe; a refusal naming what is missing or wrong."""
    tz = config.tz
    today = now.astimezone(tz).date()
    days: list[dt.date] = []
    times: tuple[dt.time, dt.time] | None = None
    master_id: str | None = None
    reason: list[str] = []
    for word in args.split():
        low = word.casefold()
        if low in WORDS:
            days.append(today + dt.timedelta(days=WORDS[low]))
        elif m := DATES_RE.match(word):
            days += [_date(m.group(1, 2, 3), today), _date(m.group(4, 5, 6), today)]
        elif m := DATE_RE.match(word):
            days.append(_date(m.group(1, 2, 3), today))
        elif m := TIMES_RE.match(word):
            times = (_time(m.group(1, 2)), _time(m.group(3, 4)))
        elif master_id is None and (master := find_master(config, word)) is not None:
            master_id = master.id
        else:
            reason.append(word)
    master_id = master_id or own_master
    if master_id is None:
        raise NeedMaster(known=", ".join(m.name for m in config.masters))
    start, end = _span(kind, days or [today], times, now, tz)
    return Change(master_id, kind, start, end, " ".join(reason)[:200] or None)


def _span(kind, days, times, now, tz) -> tuple[dt.datetime, dt.datetime]:
    first, last = days[0], days[-1]
    if kind in (OverrideKind.BLOCK, OverrideKind.EXTRA_SHIFT):
        if times is None:
            raise BadInput()
        return _at(first, times[0], tz), _at(first, times[1], tz)
    if kind is OverrideKind.SICK:  # from now (on the grid) to the end of the day
        start = now.replace(second=0, microsecond=0)
        start -= dt.timedelta(minutes=start.astimezone(tz).minute % 5)
        return start, _at(last + dt.timedelta(days=1), dt.time(0), tz)
    if kind is OverrideKind.VACATION and len(days) < 2:
        raise BadInput()
    return _at(first, dt.time(0), tz), _at(last + dt.timedelta(days=1), dt.time(0), tz)


def _at(day: dt.date, time: dt.time, tz) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def _date(parts: tuple, today: dt.date) -> dt.date:
    day, month, year = parts
    try:
        return dt.date(int(year) if year else today.year, int(month), int(day))
    except ValueError:
        raise BadDate() from None


def _time(parts: tuple) -> dt.time:
    try:
        return dt.time(int(parts[0]), int(parts[1]))
    except ValueError:
        raise BadDate() from None
