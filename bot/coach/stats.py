"""What the reviews add up to per manager over a span: steps missed most, price before
need, the dialogues most worth reading (largest lost check, slowest answer), and an example.

Reviews are few (one per finished dialogue), so the span's rows are read once with only the
columns needed; conversion and the first-response median come from the same aggregates as
`/staff` (bot/numbers/kpi_team.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.ai import guard
from bot.coach.models import DialogueReview
from bot.coach.rules import names_price, norm
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.models import Lead, MessageLog, StaffMember, StaffRole
from bot.numbers import kpi_team
from bot.numbers.kpi import Median, Period, Ratio

TOP_MISSED = 2


@dataclass
class Reviewed:
    lead_id: int
    score: int | None
    outcome: str
    steps_missed: list[str]
    price_before_need: bool
    tone: str | None
    slowest_s: int | None
    lost_kop: int


@dataclass
class ManagerCoach:
    manager_id: int
    reviews: list[Reviewed] = field(default_factory=list)
    conversion: Ratio = field(default_factory=lambda: Ratio(0, 0))
    first_response: Median = field(default_factory=lambda: Median(None, 0))

    def missed_most(self) -> list[str]:
        counts = Counter(s for r in self.reviews for s in r.steps_missed)
        return [s for s, _ in counts.most_common(TOP_MISSED)]

    @property
    def price_first(self) -> int:
        return sum(r.price_before_need for r in self.reviews)

    @property
    def unhappy(self) -> int:
        return sum(r.tone == "negative" for r in self.reviews)

    @property
    def average_score(self) -> int | None:
        scores = [r.score for r in self.reviews if r.score is not None]
        return round(sum(scores) / len(scores)) if scores else None

    def largest_lost(self) -> Reviewed | None:
        lost = [r for r in self.reviews if r.lost_kop > 0]
        return max(lost, key=lambda r: r.lost_kop, default=None)

    def slowest(self, config: BusinessConfig) -> Reviewed | None:
        """The slowest answer, when it missed the target."""
        target = config.coach.slow_answer_minutes * 60
        slow = [r for r in self.reviews if (r.slowest_s or 0) > target]
        return max(slow, key=lambda r: r.slowest_s or 0, default=None)

    def example(self) -> Reviewed | None:
        """One dialogue to learn from: price first, else the most steps missed."""
        worst = sorted(
            self.reviews, key=lambda r: (not r.price_before_need, -len(r.steps_missed), r.lead_id)
        )
        return worst[0] if worst and (worst[0].price_before_need or worst[0].steps_missed) else None


_COLUMNS = (
    "manager_id",
    "lead_id",
    "score",
    "outcome",
    "steps_missed",
    "price_before_need",
    "tone",
    "slowest_response_s",
    "lost_check_kop",
)


async def by_manager(
    config: BusinessConfig, period: Period, manager_id: int | None = None, include: tuple = ()
) -> dict[int, ManagerCoach]:
    """Managers with a dialogue finished in the period (or just `manager_id`), plus the
    `include`d ones even without a dialogue."""
    query = DialogueReview.filter(finished_at__gte=period.start, finished_at__lt=period.end)
    if manager_id is not None:
        query = query.filter(manager_id=manager_id)
    out: dict[int, ManagerCoach] = {}
    for manager, *values in await query.order_by("-finished_at").values_list(*_COLUMNS):
        out.setdefault(manager, ManagerCoach(manager)).reviews.append(Reviewed(*values))
    for wanted in (*include, *([] if manager_id is None else [manager_id])):
        out.setdefault(wanted, ManagerCoach(wanted))
    for row in await kpi_team.by_manager(config, period):
        if row.manager_id in out:
            out[row.manager_id].conversion = row.conversion
            out[row.manager_id].first_response = row.first_response
    return out


async def managers() -> dict[int, str]:
    """Active managers: Telegram id → name."""
    rows = await StaffMember.filter(role=StaffRole.MANAGER, active=True).order_by("name")
    return {m.telegram_id: m.name for m in rows}


def step_titles(config: BusinessConfig, texts: Texts, ids: list[str]) -> str:
    titles = [s.title for s in (config.coach.step(i) for i in ids) if s is not None]
    return ", ".join(titles) or texts("coach.nothing_missed")


QUOTE_CHARS = 120


async def quote(config: BusinessConfig, example: Reviewed, manager_id: int) -> str | None:
    """The manager's own words from their example dialogue, for their eyes only: the line
    that named the price first, else their first line; phones and the client's name masked."""
    rows = await MessageLog.filter(
        lead_id=example.lead_id, author=f"staff:{manager_id}", text__isnull=False
    ).order_by("at", "id")
    lines = [r.text for r in rows if r.text and r.text.strip()]
    if example.price_before_need:
        lines = [t for t in lines if names_price(t, norm(t), config.coach)] or lines
    if not lines:
        return None
    lead = await Lead.get_or_none(id=example.lead_id).select_related("client")
    name = lead.client.name if lead and lead.client and lead.client.name else None
    text = guard.mask(" ".join(lines[0].split()), (name,) if name else ())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
