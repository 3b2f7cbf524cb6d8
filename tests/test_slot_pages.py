"""The slot pages kept per process (bot.booking.slot_pages) and their rendering: a page kept
for one client is served to the next only while nothing that decides it has changed. Each
test below would fail on a memo missing one of its inputs (another client's booking, a
master's time off, a lost race, the catalog, the clock's lead time and day, the service,
the add-ons, the locale)."""

from __future__ import annotations

import datetime as dt
import random

from bot.booking import catalog, versions
from bot.booking.booker import Booker, SlotPage
from bot.booking.slots import Slot
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus
from bot.schedule_models import OverrideKind, ScheduleOverride
from scenarios.ports import Deps
from scenarios.state import DialogState, Step
from scenarios.types import Input, InputKind
from scenarios.views import slots_reply
from tests import test_no_double_booking as races

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


async def page_of(dialogs: DialogService, chat: str, service: str = "manicure") -> list[str]:
    """A new chat's first page for tomorrow: its slot buttons' payloads."""
    await dialogs.handle("test", chat, Input.command("start"))
    for step in ("consent:yes", f"svc:{service}", "addon:none", "when:tomorrow"):
        replies = await dialogs.handle("test", chat, Input.button(step))
    return [b.action for row in replies[-1].buttons for b in row if b.action.startswith("slot:")]


def start_of(action: str) -> tuple[str, dt.datetime]:
    master, minute = action.split(":")[1:]
    return master, EPOCH + dt.timedelta(minutes=int(minute))


async def find_kept(booker: Booker, *wish: object) -> tuple[SlotPage, SlotPage]:
    """The page as a step finds it twice in one snapshot (cold, then kept)."""
    with versions.snapshot(await versions.read()):
        return await booker.find(*wish), await booker.find(*wish)


async def test_a_kept_page_is_served_to_the_next_client(db, config, clock):
    """The memo is in use (else the tests below could not fail): the same object twice."""
    booker = Booker(config, clock)
    tomorrow = dt.date(2026, 11, 24)
    first, again = await find_kept(booker, "manicure", (), tomorrow, tomorrow, *[None] * 3, 0, 6)
    assert first.slots and again is first


async def test_another_clients_booking_leaves_the_kept_page(dialogs):
    page = await page_of(dialogs, "first")
    await races.drive_to_summary(dialogs, "booker")  # brows: Olga, tomorrow's first slot
    replies = await dialogs.handle("test", "booker", Input.button("confirm"))
    assert "Заявка принята" in replies[-1].text
    visit = await Appointment.get()
    taken = f"slot:olga:{int((visit.start - EPOCH).total_seconds() // 60)}"
    assert taken in page  # manicure's page offered Olga at that time too
    assert taken not in await page_of(dialogs, "next")


async def test_a_masters_time_off_leaves_the_kept_page(dialogs, clock):
    page = await page_of(dialogs, "first")
    master, start = start_of(page[0])
    await ScheduleOverride.create(
        master_id=master,
        kind=OverrideKind.SICK,
        start=start,
        end=start + dt.timedelta(hours=3),
        created_by=1,
        created_at=clock.now(),
    )
    again = await page_of(dialogs, "next")
    assert page[0] not in again and again


async def test_a_lost_race_leaves_the_kept_page(db, config, clock):
    """A booking that loses its race marks the time taken in this process's cache (no new
    counter until the next step): the page kept before it is not served again."""
    here, there = Booker(config, clock), Booker(config, clock)
    tomorrow = dt.date(2026, 11, 24)
    wish = ("manicure", (), tomorrow, tomorrow, None, None, None, 0, 6)
    with versions.snapshot(await versions.read()):
        page = await here.find(*wish)
        slot = page.slots[0]
        service = config.service("manicure")
        assert await there.book(slot, service, (), None, None) is not None  # another process
        assert await here.book(slot, service, (), None, None) is None  # lost the race
        again = await here.find(*wish)
    assert slot in page.slots and slot not in again.slots


async def test_a_catalog_change_shows_on_the_next_page(dialogs, config, clock):
    page = await page_of(dialogs, "first")
    assert {start_of(a)[0] for a in page} == {"anna", "olga"}  # Tuesday: both from 10:00
    await catalog.change(config, "manicure", "masters", ["olga"], 1, clock.now())
    assert {start_of(a)[0] for a in await page_of(dialogs, "next")} == {"olga"}
    await catalog.change(config, "manicure", "duration", 600, 1, clock.now())  # 10 hours
    ten_hours = await page_of(dialogs, "third")  # Olga works 10:00-21:00 on Tuesdays
    assert [start_of(a)[1].astimezone(config.tz).hour for a in ten_hours] == [10, 10, 11]


async def test_the_lead_time_passing_drops_the_first_slot_of_a_kept_page(db, config, clock):
    booker = Booker(config, clock)
    today = dt.date(2026, 11, 23)  # Monday, 09:00: Anna from 10:00, an hour's lead time
    wish = ("manicure", (), today, today, None, None, None, 0, 6)
    page, _ = await find_kept(booker, *wish)
    first = page.slots[0]
    assert first.start == dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)  # 10:00 local
    clock.advance(minutes=1)  # 10:00 is 59 minutes ahead now: too soon to offer
    later, _ = await find_kept(booker, *wish)
    assert first not in later.slots
    assert later.slots == page.slots[1:] + later.slots[5:]


async def test_the_next_day_shows_on_the_next_page(db, config, clock):
    booker = Booker(config, clock)
    monday = dt.date(2026, 11, 23)
    wish = ("manicure", (), monday, monday + dt.timedelta(days=6), None, None, None, 0, 6)
    page, _ = await find_kept(booker, *wish)
    assert page.slots[0].start.date() == monday
    clock.advance(days=1)
    later, _ = await find_kept(booker, *wish)
    assert later.slots[0].start.date() == monday + dt.timedelta(days=1)


async def test_the_next_day_brings_the_horizons_last_day_onto_a_kept_empty_page(db, config, clock):
    """Marina's Wednesday off is the horizon's last day: nothing on offer, no lead time to
    wait for. The next morning Thursday joins the horizon, and the page must show it."""
    booker = Booker(config, clock)
    monday = dt.date(2026, 11, 23)
    wednesday, thursday = monday + dt.timedelta(days=30), monday + dt.timedelta(days=31)
    wish = ("haircut_w", (), wednesday, thursday, None, None, None, 0, 6)
    page, again = await find_kept(booker, *wish)
    assert page.slots == [] and again is page
    clock.advance(days=1)
    later, _ = await find_kept(booker, *wish)
    assert later.slots and {s.start.astimezone(config.tz).date() for s in later.slots} == {thursday}


async def test_a_page_for_one_service_or_add_on_never_shows_for_another(db, config, clock):
    booker = Booker(config, clock)
    tuesday = dt.date(2026, 11, 24)
    wish = (tuesday, tuesday, None, None, None, 0, 6)
    plain, _ = await find_kept(booker, "manicure", (), *wish)
    longer, _ = await find_kept(booker, "manicure", ("gel",), *wish)
    other, _ = await find_kept(booker, "haircut_w", (), *wish)
    assert {s.end - s.start for s in plain.slots} == {dt.timedelta(minutes=60)}
    assert {s.end - s.start for s in longer.slots} == {dt.timedelta(minutes=90)}
    assert {s.master_id for s in other.slots} == {"marina"}


async def test_kept_pages_equal_fresh_searches_through_bookings_blocks_and_time(
    db, config: BusinessConfig, clock: FakeClock
):
    """Bookings, cancellations, blocks and the clock moving on, at random: the warm booker's
    page (kept when it can be) is always the page a booker with no memo finds in the
    database."""
    rng = random.Random(7)
    warm = Booker(config, clock)
    served = 0
    for _ in range(60):
        await _change_something(warm, config, clock, rng)
        for _ in range(3):
            service = rng.choice(config.services)
            addons = tuple(a.id for a in service.addons if rng.random() < 0.3)
            today = clock.now().astimezone(config.tz).date()
            first = today + dt.timedelta(days=rng.choice((0, 0, 1, 2)))
            times = rng.choice([(None, None, None), (dt.time(15), None, None)])
            times = rng.choice([times, (None, None, dt.time(14, 30))])
            span = dt.timedelta(days=rng.choice((0, 0, 6)))
            wish = (service.id, addons, first, first + span, *times, rng.choice((0, 0, 6)), 6)
            kept, again = await find_kept(warm, *wish)
            fresh = await Booker(config, clock).find(*wish)  # no snapshot: the database
            assert kept == fresh, wish
            served += again is kept
    assert served > 100


async def _change_something(
    booker: Booker, config: BusinessConfig, clock: FakeClock, rng: random.Random
) -> None:
    roll = rng.random()
    if roll < 0.3:
        clock.advance(minutes=rng.choice((1, 5, 30, 61, 24 * 60)))
    elif roll < 0.6:  # someone books a slot on offer
        service = rng.choice(config.services)
        today = clock.now().astimezone(config.tz).date()
        wish = (service.id, (), today, today + dt.timedelta(days=2), None, None, None, 0, 6)
        page = await Booker(config, clock).find(*wish)
        if page.slots:
            await Booker(config, clock).book(rng.choice(page.slots), service, (), None, None)
    elif roll < 0.75:  # a visit is cancelled
        visit = await Appointment.filter(status=AppointmentStatus.CONFIRMED).first()
        if visit is None:
            visit = await Appointment.filter(status=AppointmentStatus.PENDING).first()
        if visit is not None:
            await booker.cancel(visit)
    else:  # a master takes time off
        master = rng.choice(config.masters)
        start = clock.now() + dt.timedelta(hours=rng.choice((1, 5, 26, 30)))
        start = start.replace(minute=0, second=0, microsecond=0)
        await ScheduleOverride.create(
            master_id=master.id,
            kind=OverrideKind.BLOCK,
            start=start,
            end=start + dt.timedelta(hours=2),
            created_by=1,
            created_at=clock.now(),
        )


async def test_a_taken_slot_is_refused_as_the_database_would(db, config, clock):
    """`offerable` in a step refuses a taken slot by its master's busy index before the
    rest of its check: every 5-minute start around some visits answers as the check that
    reads the database does."""
    booker = Booker(config, clock)
    service = config.service("manicure")
    tuesday = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)  # 10:00 local
    for start, minutes in ((0, 60), (95, 30), (200, 45)):
        begin = tuesday + dt.timedelta(minutes=start)
        slot = Slot(begin, begin + dt.timedelta(minutes=minutes), "anna")
        assert await booker.book(
            slot, service.model_copy(update={"duration": minutes}), (), None, None
        )
    answers = []
    for step in range(0, 9 * 60, 5):
        begin = tuesday + dt.timedelta(minutes=step)
        slot = Slot(begin, begin + dt.timedelta(minutes=60), "anna")
        with versions.snapshot(await versions.read()):
            in_step = await booker.offerable(slot, service, ())
        assert in_step == await Booker(config, clock).offerable(slot, service, ()), begin
        answers.append(in_step)
    assert True in answers and False in answers


class _OnePage:
    """A slot finder that hands every caller the same page object (as the memo does)."""

    def __init__(self, page: SlotPage) -> None:
        self.page = page

    async def find(self, *_: object) -> SlotPage:
        return self.page


async def test_a_kept_page_is_shown_in_each_clients_language(config, clock):
    tuesday = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)
    slots = [Slot(tuesday, tuesday + dt.timedelta(hours=1), "anna")]
    finder = _OnePage(SlotPage(slots, False, True))
    state = DialogState(step=Step.SLOT, service_id="manicure")
    catalogs = {"ru": Texts("ru"), "en": Texts("en")}
    shown = []
    for locale in ("ru", "en", "ru", "en"):
        texts = catalogs[locale]
        reply = await slots_reply(state, Deps(config, texts, clock, finder, None), edit=False)
        assert reply.text == texts("slots")
        shown.append(reply.buttons[0][0].text)
    assert shown[0] == shown[2] == "вт 24.11 11:00 · Анна"
    assert shown[1] == shown[3] == "Tue 24.11 11:00 · Анна"
    renamed = config.model_copy(
        update={"masters": [m.model_copy(update={"name": "Anna"}) for m in config.masters]}
    )
    reply = await slots_reply(state, Deps(renamed, catalogs["en"], clock, finder, None), False)
    assert reply.buttons[0][0].text == "Tue 24.11 11:00 · Anna"


async def test_a_page_asked_in_words_then_by_button_is_the_same(dialogs):
    """The dialogue's own view: a client typing the day and one pressing «Завтра» get one
    page (the memo serves the second), and both can book from it."""
    by_button = await page_of(dialogs, "button")
    await dialogs.handle("test", "typed", Input.command("start"))
    await dialogs.handle("test", "typed", Input.button("consent:yes"))
    await dialogs.handle("test", "typed", Input.button("svc:manicure"))
    await dialogs.handle("test", "typed", Input.button("addon:none"))
    replies = await dialogs.handle("test", "typed", Input(InputKind.TEXT, "завтра"))
    typed = [b.action for row in replies[-1].buttons for b in row if b.action.startswith("slot:")]
    assert typed == by_button


async def test_exact_time_pages_of_one_day_share_its_offers(db, config, clock):
    """Clients who lost races at other times of one day are shown pages sorted from one
    list of the day's offers (`Search.fitting`): the day is searched once."""
    booker = Booker(config, clock)
    tuesday = dt.date(2026, 11, 24)
    searched = []
    iter_offers = booker._day_slots().iter_offers
    booker._days.iter_offers = lambda *a: searched.append(a) or iter_offers(*a)
    times = (dt.time(14, 30), dt.time(11), dt.time(18, 15))
    pages = []
    with versions.snapshot(await versions.read()):
        for exact in times:
            wish = ("manicure", (), tuesday, tuesday, None, None, exact, 0, 6)
            pages.append((wish, await booker.find(*wish)))
    assert len(searched) == 1
    for (wish, page), exact in zip(pages, times, strict=True):
        assert page == await Booker(config, clock).find(*wish)  # the database's own
        nearest = page.slots[0].start.astimezone(config.tz)
        assert abs(nearest.hour * 60 + nearest.minute - exact.hour * 60 - exact.minute) <= 30


async def test_exact_time_pages_equal_fresh_searches_through_bookings_blocks_and_time(
    db, config: BusinessConfig, clock: FakeClock
):
    """Lost races at any time of a day, with bookings, cancellations, blocks and the clock
    moving on between them: the warm booker's exact-time page (its day's offers kept when
    they can be) is always the page a booker with no memo finds in the database."""
    rng = random.Random(11)
    warm = Booker(config, clock)
    for _ in range(40):
        await _change_something(warm, config, clock, rng)
        today = clock.now().astimezone(config.tz).date()
        for _ in range(4):
            service = rng.choice(config.services)
            day = today + dt.timedelta(days=rng.choice((0, 0, 1)))
            exact = dt.time(rng.randrange(9, 21), rng.choice((0, 15, 30, 45)))
            after = rng.choice((None, None, dt.time(12)))
            wish = (service.id, (), day, day, after, None, exact, rng.choice((0, 0, 6)), 6)
            with versions.snapshot(await versions.read()):
                kept = await warm.find(*wish)
            fresh = await Booker(config, clock).find(*wish)  # no snapshot: the database
            assert kept == fresh, wish


async def test_the_lead_time_passing_drops_the_first_slot_of_a_kept_day(db, config, clock):
    """A day's offers kept for exact-time pages hold only while their earliest is past the
    lead time: a minute later a page for another time must not offer it."""
    booker = Booker(config, clock)
    today = dt.date(2026, 11, 23)  # Monday, 09:00: Anna from 10:00, an hour's lead time
    ten = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
    wish = ("manicure", (), today, today, None, None)
    with versions.snapshot(await versions.read()):
        page = await booker.find(*wish, dt.time(10), 0, 6)
    assert page.slots[0].start == ten
    clock.advance(minutes=1)  # 10:00 is 59 minutes ahead now: too soon to offer
    with versions.snapshot(await versions.read()):
        later = await booker.find(*wish, dt.time(10, 5), 0, 6)
    assert ten not in [s.start for s in later.slots]
    assert later == await Booker(config, clock).find(*wish, dt.time(10, 5), 0, 6)
