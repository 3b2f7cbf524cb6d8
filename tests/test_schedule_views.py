"""/week and /today through the staff bot over the fake Bot API, and the day grid PNG:
readable on a phone with 0, 1 and 10 masters; a master sees only their own schedule."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from admin_bot.schedule import WeekOf, parse_day
from bot.numbers.day_grid import Box, Column, day_grid_png
from tests import staff_fixtures
from tests.staff_fixtures import ANNA, MASHA, OLYA, OWNER, STAFF, Desk

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TELEGRAM_PHOTO_MAX = 10 * 1024 * 1024  # bytes; and width + height ≤ 10000, ratio ≤ 20


def size_of(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # decodes whole, not just a header
        return image.size


def masters(n: int) -> list[Column]:
    return [
        Column(
            f"Мастер {i}",
            [(600, 780), (840, 1200)],
            [
                Box(600 + 10 * i, 660 + 10 * i, "10:00 Маникюр\nКсения"),
                Box(780, 840, "обед", "block"),
            ],
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("count", [0, 1, 10])
def test_the_day_grid_renders_for_a_phone(count):
    png = day_grid_png("Расписание: вторник, 24 ноября", masters(count), "Никто не работает")
    width, height = size_of(png)
    assert len(png) < TELEGRAM_PHOTO_MAX and width + height <= 10000
    assert max(width, height) / min(width, height) <= 3, "not a strip on a phone screen"
    assert 400 <= width <= 1800 and 500 <= height <= 1800
    # a column stays wide enough for a label: ≥ 140 px before Telegram scales to 1280
    if count:
        assert width / count >= 140


def test_more_masters_make_a_wider_picture():
    assert size_of(day_grid_png("x", masters(1)))[0] < size_of(day_grid_png("x", masters(4)))[0]


def test_parse_day():
    today = dt.date(2026, 11, 23)
    assert parse_day("", today) == today
    assert parse_day("Завтра", today) == dt.date(2026, 11, 24)
    assert parse_day("2026-12-01", today) == dt.date(2026, 12, 1)
    assert parse_day("01.12", today) == dt.date(2026, 12, 1)
    assert parse_day("потом", today) is None


async def photo_to(desk: Desk, user) -> tuple[str, tuple[int, int]]:
    call = await desk.api.wait_for_call(
        STAFF, "sendPhoto", lambda c: str(c.params.get("chat_id")) == str(user.id)
    )
    return call.params["caption"], size_of(call.files["photo"].content)


async def test_today_is_a_picture_with_every_master_for_the_owner(desk: Desk):
    await desk.book()  # tomorrow 10:00 with Анна
    desk.say(OWNER, "/today завтра")
    caption, (width, _) = await photo_to(desk, OWNER)
    assert "записей — 1" in caption
    desk.say(ANNA, "/today завтра")  # her own column only
    caption_anna, (anna_width, _) = await photo_to(desk, ANNA)
    assert "записей — 1" in caption_anna and anna_width < width
    desk.say(OLYA, "/today завтра")
    caption_olya, _ = await photo_to(desk, OLYA)
    assert "записей — 0" in caption_olya, "Ольга sees only her own visits"


async def test_today_keeps_the_list_as_text(desk: Desk):
    desk.say(MASHA, "/today")
    await photo_to(desk, MASHA)
    await desk.sees(MASHA, "сегодня")  # the text answer that was there before


async def test_a_bad_day_is_explained(desk: Desk):
    desk.say(MASHA, "/today когда-нибудь")
    await desk.sees(MASHA, "Не понял день")


async def test_a_master_sees_only_their_own_week(desk: Desk):
    await desk.book()
    desk.say(ANNA, "/week olga")  # asking for another's: still her own
    week = await desk.sees(ANNA, "Неделя: Анна")
    assert "10:00–11:00 Маникюр — Ксения (ждёт подтверждения)" in week["text"]
    assert "9271234567" not in week["text"]
    desk.say(OLYA, "/week")
    olya = await desk.sees(OLYA, "Неделя: Ольга")
    assert "Ксения" not in olya["text"]
    update = desk.api.press_button(STAFF, OLYA, WeekOf(master="anna").pack(), strict=False)
    assert (await desk.answer(update)).params.get("show_alert") is True
    assert not [t for t in desk.texts_to(OLYA) if "Ксения" in t]


async def test_a_manager_picks_a_master_with_buttons(desk: Desk):
    await desk.book()
    await desk.card(MASHA)  # the booking's alert first: the week view stays her last message
    desk.say(MASHA, "/week")
    pick = await desk.sees(MASHA, "Чью неделю показать?")
    desk.tap(MASHA, "Анна", pick)
    week = await desk.sees(MASHA, "Неделя: Анна")
    assert "Маникюр — Ксения" in week["text"]
    desk.tap(MASHA, "Неделя вперёд ▶", week)
    await desk.settle()
    assert "Маникюр" not in desk.api.last_message(STAFF, MASHA.id)["text"]


def test_a_very_busy_week_fits_in_one_message():
    from admin_bot.schedule import TEXT_LIMIT, _fit
    from bot.i18n import Texts

    lines = [f"  10:00–11:00 Маникюр — Клиентка {i}" for i in range(300)]
    text = _fit(Texts("ru"), lines)
    assert len(text) <= TEXT_LIMIT and text.endswith("/today <день>.")


async def test_views_show_the_overrides_that_take_time_away(db, clock):
    """blocks_for reads schedule_override: blocks and days off count, shifts and undone don't."""
    from bot.booking.schedule_view import blocks_for
    from bot.schedule_models import OverrideKind, ScheduleOverride

    now = clock.now()
    hour = dt.timedelta(hours=1)
    made = {"created_by": 1, "created_at": now}
    lunch = await ScheduleOverride.create(
        master_id="anna", kind=OverrideKind.BLOCK, start=now, end=now + hour, reason="обед", **made
    )
    await ScheduleOverride.create(
        master_id="anna", kind=OverrideKind.EXTRA_SHIFT, start=now, end=now + hour, **made
    )
    await ScheduleOverride.create(
        master_id="anna", kind=OverrideKind.BLOCK, start=now, end=now + hour, undone_at=now, **made
    )
    await ScheduleOverride.create(
        master_id="olga", kind=OverrideKind.SICK, start=now, end=now + 8 * hour, **made
    )
    blocks = await blocks_for(["anna"], now - hour, now + 2 * hour)
    assert [(b.id, b.title) for b in blocks] == [(lunch.id, "обед")]
    assert len(await blocks_for(["anna", "olga"], now, now + 2 * hour)) == 2
    assert await blocks_for(["anna"], now + 2 * hour, now + 3 * hour) == []
