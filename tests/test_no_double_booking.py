"""No two appointments of one master ever overlap: concurrent tasks, chats and processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import sys

from bot.booking.booker import Booker
from bot.booking.slots import Slot
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment
from scenarios.types import Input, InputKind
from tests.race_worker import DAY_START, ROOT, random_slot

BUFFER = dt.timedelta(minutes=10)


async def assert_no_overlaps() -> int:
    rows = await Appointment.filter(status__in=ACTIVE_APPOINTMENT_STATUSES).order_by(
        "master_id", "start"
    )
    for master, group in itertools.groupby(rows, key=lambda a: a.master_id):
        visits = list(group)
        for earlier, later in itertools.pairwise(visits):
            assert earlier.end + BUFFER <= later.start, (
                f"{master}: {earlier.start}-{earlier.end} overlaps {later.start}-{later.end}"
            )
    return len(rows)


async def test_fifty_tasks_race_for_one_slot(db, config, clock):
    booker = Booker(config, clock)
    service = config.service("manicure")
    slot = Slot(DAY_START, DAY_START + dt.timedelta(minutes=60), "anna")
    results = await asyncio.gather(*(booker.book(slot, service, [], None, None) for _ in range(50)))
    assert sum(r is not None for r in results) == 1
    assert await assert_no_overlaps() == 1


async def test_overlapping_slots_of_different_lengths(db, config, clock):
    """10:00 for 60 min vs 10:30 for 30 min and friends: only non-overlapping ones win."""
    booker = Booker(config, clock)
    rng = random.Random(7)
    attempts = [random_slot(rng) for _ in range(50)]
    results = await asyncio.gather(
        *(booker.book(slot, config.service(sid), [], None, None) for slot, sid in attempts)
    )
    made = sum(r is not None for r in results)
    assert 1 < made < 50
    assert await assert_no_overlaps() == made


async def test_cancelling_frees_the_time(db, config, clock):
    booker = Booker(config, clock)
    service = config.service("manicure")
    slot = Slot(DAY_START, DAY_START + dt.timedelta(minutes=60), "anna")
    first = await booker.book(slot, service, [], None, None)
    assert await booker.book(slot, service, [], None, None) is None
    await booker.cancel(first)
    assert await booker.book(slot, service, [], None, None) is not None


async def test_fifty_clients_confirm_the_same_slot(dialogs, config):
    """Every loser of the race is told and offered the nearest alternatives."""
    chats = [f"race-{i}" for i in range(50)]
    for chat in chats:
        await drive_to_summary(dialogs, chat)
    outcomes = await asyncio.gather(
        *(dialogs.handle("test", chat, Input.button("confirm")) for chat in chats)
    )
    texts = [" ".join(r.text for r in replies) for replies in outcomes]
    assert sum("Заявка принята" in t for t in texts) == 1
    losers = [replies for replies, t in zip(outcomes, texts, strict=True) if "заняли" in t]
    assert len(losers) == 49
    assert all(any(r.buttons for r in replies) for replies in losers)
    assert await assert_no_overlaps() == 1


async def drive_to_summary(dialogs, chat: str) -> None:
    steps = [
        Input.command("start"),
        Input.button("consent:yes"),
        Input.button("svc:brows"),
        Input.button("addon:none"),
        Input.button("when:tomorrow"),
    ]
    for step in steps:
        replies = await dialogs.handle("test", chat, step)
    first_slot = replies[-1].buttons[0][0].action
    for step in [
        Input.button(first_slot),
        Input(InputKind.TEXT, "+7 927 000 00 00"),
        Input(InputKind.TEXT, "Ольга"),
    ]:
        replies = await dialogs.handle("test", chat, step)
    assert "Проверьте" in replies[-1].text


async def test_several_processes_never_double_book(db, config):
    """Four OS processes book overlapping visits on one SQLite file at the same time."""
    await race_processes(f"sqlite://{db}")


async def race_processes(url: str) -> None:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.race_worker",
            url,
            str(seed),
            "40",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        for seed in range(4)
    ]
    outputs = [await p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    made = sum(int(out.strip()) for out, _ in outputs)
    assert made >= 1
    assert await assert_no_overlaps() == made
