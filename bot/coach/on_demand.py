"""`/coach <manager>`: one manager's last 30 days of dialogue reviews, for an owner.

Owners only, checked here whatever the staff bot's router let through (a forged call with a
manager's or a master's id is refused with `NoAccess`).
"""

from __future__ import annotations

import datetime as dt

from bot.coach.stats import by_manager, managers, step_titles
from bot.coach.weekly import minutes_text, owner_line, reading_lines
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.models import StaffRole
from bot.periods import Span
from bot.staffwork.access import NoAccess, Refused
from bot.staffwork.staff import who

REPORT_DAYS = 30  # /coach looks this far back


async def manager_report(
    config: BusinessConfig, texts: Texts, manager_id: int, name: str, today: dt.date
) -> str:
    """`/coach <manager>` for an owner: the last 30 days of one manager's dialogues."""
    span = Span(today - dt.timedelta(days=REPORT_DAYS - 1), today)
    coach = (await by_manager(config, span.period(config), manager_id))[manager_id]
    lines = [
        texts("coach.report_title", name=name, period=span.label()),
        texts("coach.week_conversion", conversion=coach.conversion.format()),
        texts("coach.week_response", minutes=minutes_text(texts, coach)),
    ]
    if not coach.reviews:
        return "\n".join([*lines, texts("coach.report_none")])
    lines += [
        owner_line(config, texts, name, coach),
        texts("coach.report_tone", count=coach.unhappy),
        *reading_lines(config, texts, coach),
        texts("coach.report_recent"),
    ]
    for r in coach.reviews[:5]:
        lines.append(
            texts(
                "coach.report_review",
                id=r.lead_id,
                score=texts("coach.none") if r.score is None else r.score,
                outcome=texts(f"coach.outcome.{r.outcome}"),
                steps=step_titles(config, texts, r.steps_missed),
            )
        )
    return "\n".join(lines)


class UnknownManager(Refused):
    key = "coach.unknown"


class NoManagers(Refused):
    key = "coach.no_managers"


def find_manager(team: dict[int, str], who_text: str) -> int | None:
    """A manager by Telegram id, by name, or by the unique start of a name."""
    text = who_text.strip().lstrip("@").casefold()
    if text.isdigit() and int(text) in team:
        return int(text)
    exact = [i for i, name in team.items() if name.casefold() == text]
    starts = [i for i, name in team.items() if name.casefold().startswith(text)]
    found = exact or starts
    return found[0] if len(found) == 1 else None


async def coach_report(
    config: BusinessConfig,
    texts: Texts,
    caller: int,
    owner_ids: frozenset[int],
    who_text: str,
    today: dt.date,
) -> str:
    """`/coach <manager>`: owners only (checked here, whatever the router let through)."""
    role, _ = await who(caller, owner_ids)
    if role is not StaffRole.OWNER:
        raise NoAccess()
    team = await managers()
    if not team:
        raise NoManagers()
    names = ", ".join(team.values())
    if not who_text.strip():
        return texts("coach.usage", names=names)
    manager_id = find_manager(team, who_text)
    if manager_id is None:
        raise UnknownManager(who=who_text.strip()[:40], names=names)
    return await manager_report(config, texts, manager_id, team[manager_id], today)
