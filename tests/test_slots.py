"""The pure slot computation: working hours, buffers, lead time, add-ons, DST, ordering."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from bot.booking.slots import Slot, is_free, iter_free_slots, occupied_span, visit_minutes
from bot.config import BusinessConfig, parse_config

UTC = dt.UTC
OMSK = ZoneInfo("Asia/Omsk")  # UTC+6, no DST
BERLIN = ZoneInfo("Europe/Berlin")
MON = dt.date(2026, 6, 1)  # a Monday
ALL_WEEK = {d: "10:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def make_config(
    *,
    timezone: str = "Asia/Omsk",
    hours: dict | None = None,
    days_off: list[str] | None = None,
    masters: list[dict] | None = None,
    services: list[dict] | None = None,
    **booking: object,
) -> BusinessConfig:
    rules = {"buffer_minutes": 10, "min_lead_minutes": 0, "slot_step_minutes": 30}
    rules.update(booking)
    return parse_config(
        {
            "business": {
                "name": "Test",
                "address": "Somewhere 1",
                "timezone": timezone,
                "policy_url": "https://example.com/p",
            },
            "hours": ALL_WEEK if hours is None else hours,
            "days_off": days_off or [],
            "booking": rules,
            "masters": masters or [{"id": "anna", "name": "Anna"}],
            "services": services
            or [
                {
                    "id": "cut",
                    "title": "Cut",
                    "duration": 60,
                    "price": 1000,
                    "masters": ["anna"],
                    "addons": [
                        {"id": "gel", "title": "Gel", "duration": 30},
                        {"id": "design", "title": "Design", "duration": 15},
                        {"id": "talk", "title": "Talk", "duration": 0},
                    ],
                }
            ],
        }
    )


def local(day: dt.date, hh: int, mm: int = 0, tz: ZoneInfo = OMSK) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=tz).astimezone(UTC)


def starts(slots, tz: ZoneInfo = OMSK) -> list[str]:
    return [s.start.astimezone(tz).strftime("%H:%M") for s in slots]


def day_slots(config, day, *, service="cut", addons=(), busy=None, now=None, master=None):
    now = now or dt.datetime.combine(day - dt.timedelta(days=1), dt.time(0), tzinfo=UTC)
    slots = list(
        iter_free_slots(config, config.service(service), addons, busy or {}, now, day, day)
    )
    return [s for s in slots if master is None or s.master_id == master]


def test_slot_times_are_utc_and_correct():
    slots = day_slots(make_config(), MON)
    assert slots[0] == Slot(
        dt.datetime(2026, 6, 1, 4, 0, tzinfo=UTC), dt.datetime(2026, 6, 1, 5, 0, tzinfo=UTC), "anna"
    )
    assert all(s.start.utcoffset() == dt.timedelta(0) for s in slots)
    assert starts(slots) == [f"{h:02}:{m:02}" for h in range(10, 19) for m in (0, 30)][:-1]
    assert slots[-1].end == dt.datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 19:00 in Omsk


def test_visit_minutes_and_occupied_span():
    service = make_config().service("cut")
    assert visit_minutes(service, []) == 60
    assert visit_minutes(service, ["gel", "design"]) == 105
    assert visit_minutes(service, iter(["gel", "gel", "nope"])) == 90
    start = local(MON, 10)
    assert occupied_span(start, start + dt.timedelta(hours=1), 10) == (
        start,
        start + dt.timedelta(minutes=70),
    )


def test_existing_appointment_blocks_overlap_and_buffer():
    service = {
        "id": "nails",
        "title": "Nails",
        "duration": 30,
        "price": 1000,
        "masters": ["anna"],
    }
    config = make_config(hours={"mon": "09:00-13:00"}, services=[service])
    busy = {"anna": [occupied_span(local(MON, 10), local(MON, 11), 10)]}
    got = starts(day_slots(config, MON, service="nails", busy=busy))
    # 09:30 would end at 10:00 with its buffer running to 10:10 - into the visit.
    assert got == ["09:00", "11:10", "11:30", "12:00", "12:30"]
    assert "10:30" not in got
    assert not is_free(Slot(local(MON, 10, 30), local(MON, 11), "anna"), busy, 10)
    assert not is_free(Slot(local(MON, 11), local(MON, 11, 30), "anna"), busy, 10)
    assert not is_free(Slot(local(MON, 9, 30), local(MON, 10), "anna"), busy, 10)
    assert is_free(Slot(local(MON, 11, 10), local(MON, 11, 40), "anna"), busy, 10)
    assert is_free(Slot(local(MON, 9, 20), local(MON, 9, 50), "anna"), busy, 10)
    assert is_free(Slot(local(MON, 10), local(MON, 11), "olga"), busy, 10)


def test_back_to_back_visits_keep_the_buffer():
    config = make_config(hours={"mon": "10:00-14:00"}, buffer_minutes=15)
    busy = {
        "anna": [
            occupied_span(local(MON, 10), local(MON, 11), 15),
            occupied_span(local(MON, 11, 15), local(MON, 12, 15), 15),
        ]
    }
    got = day_slots(config, MON, busy=busy)
    assert starts(got) == ["12:30", "13:00"]
    for slot in got:
        assert all(
            slot.start >= e or slot.end + dt.timedelta(minutes=15) <= s for s, e in busy["anna"]
        )


def test_busy_of_another_master_does_not_block():
    masters = [{"id": "anna", "name": "Anna"}, {"id": "olga", "name": "Olga"}]
    service = {"id": "cut", "title": "Cut", "duration": 60, "price": 1, "masters": ["anna", "olga"]}
    config = make_config(hours={"mon": "10:00-12:00"}, masters=masters, services=[service])
    busy = {"anna": [occupied_span(local(MON, 10), local(MON, 12), 10)]}
    got = day_slots(config, MON, busy=busy)
    assert [(s.master_id, t) for s, t in zip(got, starts(got), strict=True)] == [
        ("olga", "10:00"),
        ("olga", "10:30"),
        ("olga", "11:00"),
    ]


def test_business_and_master_days_off():
    masters = [
        {"id": "anna", "name": "Anna", "days_off": ["2026-06-02"]},
        {"id": "olga", "name": "Olga"},
    ]
    service = {"id": "cut", "title": "Cut", "duration": 60, "price": 1, "masters": ["anna", "olga"]}
    hours = {"mon": "10:00-12:00", "tue": "10:00-12:00", "wed": "10:00-12:00"}
    config = make_config(hours=hours, masters=masters, services=[service], days_off=["2026-06-01"])
    now = local(MON, 0)
    got = list(
        iter_free_slots(config, config.service("cut"), [], {}, now, MON, MON + dt.timedelta(6))
    )
    by_day = {(s.start.astimezone(OMSK).date(), s.master_id) for s in got}
    assert by_day == {
        (dt.date(2026, 6, 2), "olga"),
        (dt.date(2026, 6, 3), "anna"),
        (dt.date(2026, 6, 3), "olga"),
    }


def test_min_lead_time():
    config = make_config(min_lead_minutes=60)
    now = local(MON, 10, 20)
    got = list(iter_free_slots(config, config.service("cut"), [], {}, now, MON, MON))
    assert starts(got)[0] == "11:30"
    assert all(s.start >= now + dt.timedelta(minutes=60) for s in got)
    now = local(MON, 10, 30)  # exactly on the boundary: 11:30 is still offered
    got = list(iter_free_slots(config, config.service("cut"), [], {}, now, MON, MON))
    assert starts(got)[0] == "11:30"


def test_addons_lengthen_the_visit_and_move_the_last_slot():
    config = make_config()
    plain = day_slots(config, MON)
    longer = day_slots(config, MON, addons=["gel", "design", "talk"])
    assert all(s.end - s.start == dt.timedelta(minutes=105) for s in longer)
    assert starts(plain)[-1] == "18:00"
    assert starts(longer)[-1] == "17:00"  # 17:30 + 1:45 would pass 19:00
    assert longer[-1].end <= local(MON, 19)
    # a one-shot iterable of add-ons works too
    once = day_slots(config, MON, addons=iter(["gel"]))
    assert all(s.end - s.start == dt.timedelta(minutes=90) for s in once)


def test_end_of_working_day():
    service = {"id": "long", "title": "Long", "duration": 90, "price": 1, "masters": ["anna"]}
    config = make_config(services=[service])
    got = day_slots(config, MON, service="long")
    assert starts(got)[-1] == "17:30"
    assert got[-1].end == local(MON, 19)  # the buffer may run past closing


def test_master_schedule_narrower_than_business_hours():
    masters = [
        {"id": "anna", "name": "Anna", "schedule": {"mon": "12:00-15:00, 16:00-21:00"}},
    ]
    config = make_config(hours={"mon": "10:00-19:00", "tue": "10:00-19:00"}, masters=masters)
    got = day_slots(config, MON)
    morning = ["12:00", "12:30", "13:00", "13:30", "14:00"]  # 12:00-15:00
    evening = ["16:00", "16:30", "17:00", "17:30", "18:00"]  # 16:00-21:00 within 19:00
    assert starts(got) == [*morning, *evening]
    assert day_slots(config, MON + dt.timedelta(1)) == []  # no schedule on Tuesday


def test_masters_who_do_not_do_the_service_are_never_offered():
    masters = [{"id": m, "name": m.title()} for m in ("anna", "olga", "ivan")]
    services = [
        {"id": "cut", "title": "Cut", "duration": 60, "price": 1, "masters": ["olga"]},
        {"id": "beard", "title": "Beard", "duration": 30, "price": 1, "masters": ["ivan"]},
    ]
    config = make_config(masters=masters, services=services)
    now = local(MON, 0)
    got = iter_free_slots(config, config.service("cut"), [], {}, now, MON, MON + dt.timedelta(5))
    assert {s.master_id for s in got} == {"olga"}


def test_chronological_across_masters_ties_in_config_order():
    masters = [
        {"id": "olga", "name": "Olga", "schedule": {"mon": "11:00-13:00"}},
        {"id": "anna", "name": "Anna", "schedule": {"mon": "10:15-13:00"}},
    ]
    service = {"id": "cut", "title": "Cut", "duration": 60, "price": 1, "masters": ["anna", "olga"]}
    config = make_config(masters=masters, services=[service])
    busy = {"anna": [occupied_span(local(MON, 11, 15), local(MON, 11, 45), 10)]}
    now = local(MON, 0)
    got = list(
        iter_free_slots(config, config.service("cut"), [], busy, now, MON, MON + dt.timedelta(1))
    )
    assert [(t, s.master_id) for t, s in zip(starts(got), got, strict=True)] == [
        ("11:00", "olga"),
        ("11:30", "olga"),
        ("11:55", "anna"),  # the end of the busy span, off the step grid
        ("12:00", "olga"),
    ]
    assert [s.start for s in got] == sorted(s.start for s in got)
    # A tie at the same start: olga is first in the config, so she comes first.
    tie_masters = [
        {"id": "olga", "name": "Olga"},
        {"id": "anna", "name": "Anna"},
    ]
    config = make_config(hours={"mon": "10:00-11:00"}, masters=tie_masters, services=[service])
    assert [s.master_id for s in day_slots(config, MON)] == ["olga", "anna"]


def test_horizon_clamp():
    config = make_config(horizon_days=2)
    now = local(MON, 9)  # before opening on Monday
    got = list(
        iter_free_slots(
            config,
            config.service("cut"),
            [],
            {},
            now,
            MON - dt.timedelta(days=10),
            MON + dt.timedelta(days=10),
        )
    )
    days = sorted({s.start.astimezone(OMSK).date() for s in got})
    assert days == [MON, MON + dt.timedelta(1), MON + dt.timedelta(2)]
    assert all(s.start >= now for s in got)
    beyond = iter_free_slots(
        config, config.service("cut"), [], {}, now, MON + dt.timedelta(3), MON + dt.timedelta(9)
    )
    assert list(beyond) == []


def test_today_is_the_business_local_date():
    # 20:00 UTC on Sunday is already 02:00 on Monday in Omsk: Monday is "today".
    config = make_config(horizon_days=1)
    now = dt.datetime(2026, 5, 31, 20, 0, tzinfo=UTC)
    got = iter_free_slots(
        config, config.service("cut"), [], {}, now, MON - dt.timedelta(1), MON + dt.timedelta(5)
    )
    assert {s.start.astimezone(OMSK).date() for s in got} == {MON, MON + dt.timedelta(1)}


def test_lazy_first_page():
    config = make_config(horizon_days=365)
    now = local(MON, 0)
    gen = iter_free_slots(config, config.service("cut"), [], {}, now, MON, MON + dt.timedelta(365))
    page = list(itertools.islice(gen, 6))
    assert starts(page) == ["10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]


def test_naive_now_is_refused():
    config = make_config()
    with pytest.raises(ValueError):
        iter_free_slots(config, config.service("cut"), [], {}, dt.datetime(2026, 6, 1), MON, MON)


# --- daylight saving time -------------------------------------------------------------

SPRING = dt.date(2026, 3, 29)  # Berlin: 02:00 CET -> 03:00 CEST
AUTUMN = dt.date(2026, 10, 25)  # Berlin: 03:00 CEST -> 02:00 CET


def dst_config(hours: str) -> BusinessConfig:
    return make_config(timezone="Europe/Berlin", hours={"sun": hours})


def utc_times(slots) -> list[str]:
    return [s.start.strftime("%H:%M") for s in slots]


def test_dst_spring_forward_skips_nonexistent_starts():
    got = day_slots(dst_config("01:00-05:00"), SPRING)
    assert starts(got, BERLIN) == ["01:00", "01:30", "03:00", "03:30", "04:00"]
    assert utc_times(got) == ["00:00", "00:30", "01:00", "01:30", "02:00"]
    assert all(s.end - s.start == dt.timedelta(minutes=60) for s in got)
    assert got[-1].end == local(SPRING, 5, tz=BERLIN)  # 03:00 UTC
    for slot in got:  # every start is a real local time that round-trips
        wall = slot.start.astimezone(BERLIN)
        assert wall.replace(tzinfo=None).replace(tzinfo=BERLIN).astimezone(UTC) == slot.start
        assert wall.hour != 2


def test_dst_spring_forward_hours_bounded_by_the_gap():
    # Opening inside the gap means opening at the jump (03:00 CEST = 01:00 UTC) ...
    got = day_slots(dst_config("02:30-05:00"), SPRING)
    assert starts(got, BERLIN) == ["03:00", "03:30", "04:00"]
    # ... and closing inside it means closing at the jump.
    got = day_slots(dst_config("00:00-02:30"), SPRING)
    assert starts(got, BERLIN) == ["00:00", "00:30", "01:00"]
    assert got[-1].end == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_dst_autumn_fold_uses_first_occurrence_and_real_durations():
    got = day_slots(dst_config("01:00-05:00"), AUTUMN)
    assert starts(got, BERLIN) == ["01:00", "01:30", "02:00", "02:30", "03:00", "03:30", "04:00"]
    # 02:00 and 02:30 are the first occurrences (CEST, +2); 03:00 is CET (+1).
    assert utc_times(got) == ["23:00", "23:30", "00:00", "00:30", "02:00", "02:30", "03:00"]
    assert all(s.end - s.start == dt.timedelta(minutes=60) for s in got)
    assert got[-1].end == dt.datetime(2026, 10, 25, 4, 0, tzinfo=UTC)  # 05:00 CET
    assert all(s.start.astimezone(BERLIN).fold == 0 for s in got)


def test_dst_day_slots_do_not_overlap_busy():
    config = dst_config("01:00-05:00")
    busy = {
        "anna": [occupied_span(local(AUTUMN, 2, tz=BERLIN), local(AUTUMN, 2, 30, tz=BERLIN), 10)]
    }
    got = day_slots(config, AUTUMN, busy=busy)
    assert all(is_free(s, busy, 10) for s in got)
    # the busy span ends at 00:40 UTC (02:40 CEST): that moment is offered
    assert dt.datetime(2026, 10, 25, 0, 40, tzinfo=UTC) in [s.start for s in got]
