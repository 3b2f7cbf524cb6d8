"""An idle delivery pass (bot.delivery.lanes) reads the outbox once, not once per worker:
the urgent loop runs every second in every worker and instance."""

from __future__ import annotations

from bot.delivery import lanes
from bot.delivery.outbox import Message, enqueue


async def count_looks(monkeypatch) -> list[int]:
    looks: list[int] = []
    real = lanes.due_rows

    async def counted(*args, **kwargs):
        looks.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(lanes, "due_rows", counted)
    return looks


class Nobody:
    async def send(self, row):  # nothing is due: never called
        raise AssertionError(f"sent {row.id}")


async def test_an_idle_pass_of_eight_workers_looks_once(db, clock, monkeypatch):
    looks = await count_looks(monkeypatch)
    assert await lanes.deliver_for(Nobody(), clock, budget=5, concurrency=8) == 0
    assert len(looks) == 1


async def test_a_pass_still_looks_again_after_finding_rows(db, clock, monkeypatch):
    for n in range(3):
        await enqueue(
            bot="client",
            chat_id=100 + n,
            kind="notice",
            message=Message(f"hi {n}"),
            dedup_key=f"idle:{n}",
            now=clock.now(),
        )
    sent: list[str] = []

    class Recorder:
        async def send(self, row):
            sent.append(row.chat_id)
            return 1

    looks = await count_looks(monkeypatch)
    assert await lanes.deliver_for(Recorder(), clock, budget=5, concurrency=8) == 3
    assert sorted(sent) == ["100", "101", "102"]
    assert len(looks) == 2  # the rows, then one look that found nothing
