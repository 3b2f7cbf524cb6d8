"""The coach's weekly texts: the owner's lines in the weekly report and each manager's own
weekly summary (queued by the timed work, once per week per manager).

A manager's summary holds only their own dialogues; the owner's texts hold everyone's.
"""

from __future__ import annotations

import datetime as dt

from tortoise.transactions import in_transaction

from bot.coach.stats import ManagerCoach, by_manager, managers, quote, step_titles
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Outbox, OutboxStatus
from bot.numbers.kpi import format_kop
from bot.periods import Span


def minutes_text(texts: Texts, coach: ManagerCoach) -> str:
    return coach.first_response.format(texts("reports.unit_minutes"))


def reading_lines(config: BusinessConfig, texts: Texts, coach: ManagerCoach) -> list[str]:
    """The dialogues most worth reading: the largest lost check, the slowest answer."""
    lines = []
    lost = coach.largest_lost()
    if lost is not None:
        lines.append(texts("coach.owner_lost", id=lost.lead_id, amount=format_kop(lost.lost_kop)))
    slow = coach.slowest(config)
    if slow is not None and slow.slowest_s is not None:
        lines.append(texts("coach.owner_slow", id=slow.lead_id, minutes=slow.slowest_s // 60))
    return lines


def owner_line(config: BusinessConfig, texts: Texts, name: str, coach: ManagerCoach) -> str:
    return texts(
        "coach.owner_line",
        name=name,
        conversion=coach.conversion.format(),
        steps=step_titles(config, texts, coach.missed_most()),
        price_first=coach.price_first,
        total=len(coach.reviews),
    )


async def owner_lines(config: BusinessConfig, texts: Texts, span: Span) -> list[str]:
    """The weekly report's section: per manager, conversion next to the steps missed most."""
    stats = await by_manager(config, span.period(config))
    if not stats:
        return []
    names = await managers()
    lines = [texts("coach.owner_heading")]
    for manager_id, coach in sorted(stats.items()):
        name = names.get(manager_id, str(manager_id))
        lines += [owner_line(config, texts, name, coach), *reading_lines(config, texts, coach)]
    return lines


def _example(
    config: BusinessConfig, texts: Texts, coach: ManagerCoach, words: str | None
) -> list[str]:
    example = coach.example()
    if example is None:
        return []
    if example.price_before_need:
        lines = [texts("coach.week_example_price", id=example.lead_id)]
    else:
        steps = step_titles(config, texts, example.steps_missed)
        lines = [texts("coach.week_example", id=example.lead_id, steps=steps)]
    return lines + ([texts("coach.week_quote", quote=words)] if words else [])


def personal_text(
    config: BusinessConfig, texts: Texts, span: Span, coach: ManagerCoach, words: str | None = None
) -> str:
    """A manager's own week: conversion, median first response, steps missed, an example
    (with `words`, their own line from it)."""
    lines = [
        texts("coach.week_title", period=span.label()),
        texts("coach.week_conversion", conversion=coach.conversion.format()),
        texts("coach.week_response", minutes=minutes_text(texts, coach)),
    ]
    if coach.reviews:
        score = coach.average_score
        lines.append(
            texts(
                "coach.week_dialogues",
                count=len(coach.reviews),
                score=texts("coach.none") if score is None else score,
            )
        )
        lines.append(
            texts("coach.week_missed", steps=step_titles(config, texts, coach.missed_most()))
        )
        lines.append(
            texts("coach.week_price_first", count=coach.price_first, total=len(coach.reviews))
        )
    return "\n".join(lines + _example(config, texts, coach, words))


async def queue_personal(config: BusinessConfig, texts: Texts, span: Span, now: dt.datetime) -> int:
    """Each active manager's weekly summary, once (key `coach_week:<monday>:<manager>`)."""
    team = await managers()
    keys = {m: f"coach_week:{span.first}:{m}" for m in team}
    queued_keys = set(
        await Outbox.filter(dedup_key__in=list(keys.values())).values_list("dedup_key", flat=True)
    )
    missing = [m for m, key in keys.items() if key not in queued_keys]
    if not missing:
        return 0
    stats = await by_manager(config, span.period(config), include=tuple(missing))
    queued = 0
    for manager_id in missing:
        coach = stats[manager_id]
        example = coach.example()
        words = await quote(config, example, manager_id) if example else None
        quiet = not (coach.reviews or coach.conversion.denominator or coach.first_response.count)
        async with in_transaction():
            row = await enqueue(
                bot="staff",
                chat_id=manager_id,
                kind="coach_week",
                message=Message(personal_text(config, texts, span, coach, words)),
                dedup_key=keys[manager_id],
                now=now,
            )
            if row is not None and quiet:  # no lead, no dialogue: kept as done, never sent
                await Outbox.filter(id=row.id).update(status=OutboxStatus.SKIPPED)
        queued += row is not None and not quiet
    return queued
