"""Staff questions in plain Russian («сколько неявок на этой неделе у Анны?») → a KPI.

The model (or, without one, the rules) only picks a metric, a period and maybe a master
from fixed lists; the figure is computed by the SQL aggregates in `bot.numbers.kpi` and worded by
the catalog, so a number in the answer always comes from the database. No SQL is written
by the model. Managers see counts and rates; money (revenue, average check) is the owner's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.ai import guard
from bot.ai.client import AiClient, Tool
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.numbers import kpi, sql
from bot.periods import local_today, week_span

METRICS = (
    "leads",
    "conversion",
    "no_shows",
    "no_show_rate",
    "confirmed_rate",
    "average_check",
    "revenue",
    "visits",
)
MONEY = frozenset({"average_check", "revenue"})  # owners only
PER_MASTER = frozenset({"no_shows", "no_show_rate", "visits", "revenue"})
PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month")

# (metric, pattern) in order: the first match wins («доля неявок» before «неявок»).
_METRIC_RULES = (
    ("no_show_rate", r"(доля|процент\w*)\s+неяв|неяв\w*\s+в\s+процент"),
    ("no_shows", r"неяв|не\s+приш(л|е)"),
    ("conversion", r"конверси"),
    ("confirmed_rate", r"подтвержд"),
    ("average_check", r"средн\w*\s+чек|\bчек"),
    ("revenue", r"выручк|заработ|оборот|касс[аеу]"),
    ("visits", r"визит|приш(л|е)"),
    ("leads", r"заяв|лид"),
)
_PERIOD_RULES = (
    ("yesterday", r"вчера"),
    ("today", r"сегодня"),
    ("last_week", r"прошл\w*\s+недел"),
    ("this_week", r"недел"),
    ("last_month", r"прошл\w*\s+месяц"),
    ("this_month", r"месяц"),
)


@dataclass(frozen=True)
class Question:
    metric: str
    period: str = "today"
    master_id: str | None = None


def rules_question(text: str, config: BusinessConfig) -> Question | None:
    low = text.lower().replace("ё", "е")
    metric = next((m for m, p in _METRIC_RULES if re.search(p, low)), None)
    if metric is None:
        return None
    period = next((p for p, rx in _PERIOD_RULES if re.search(rx, low)), "today")
    return Question(metric, period, _master(low, config))


def _master(low: str, config: BusinessConfig) -> str | None:
    """A master named in any case form («у Анны», «Ольгой»): the name minus its ending."""
    for master in config.masters:
        name = master.name.lower().replace("ё", "е")
        stem = name[:-1] if len(name) > 3 else name
        if re.search(rf"(?<!\w){re.escape(stem)}", low):
            return master.id
    return None


def _tool(config: BusinessConfig) -> Tool:
    return Tool(
        "kpi_query",
        "Which business figure the staff member asks about.",
        {
            "type": "object",
            "properties": {
                "metric": {"type": "string", "enum": list(METRICS)},
                "period": {"type": "string", "enum": list(PERIODS)},
                "master_id": {
                    "type": ["string", "null"],
                    "enum": [*(m.id for m in config.masters), None],
                },
            },
            "required": ["metric", "period"],
        },
    )


async def model_question(client: AiClient, text: str, config: BusinessConfig) -> Question | None:
    masters = ", ".join(f"{m.id} = {m.name}" for m in config.masters)
    messages = [
        {
            "role": "system",
            "content": "Выбери показатель, период и мастера (если назван) для вопроса "
            f"сотрудника салона и вызови kpi_query. Мастера: {masters}.",
        },
        {"role": "user", "content": guard.mask(text)},
    ]
    args = await client.call("staff", messages, _tool(config), max_tokens=60)
    if args is None or args.get("metric") not in METRICS or args.get("period") not in PERIODS:
        return None
    master = args.get("master_id")
    return Question(args["metric"], args["period"], master if config.master(str(master)) else None)


def period_of(name: str, config: BusinessConfig, now: dt.datetime) -> kpi.Period:
    today = local_today(config, now)
    monday = week_span(today).first
    first = today.replace(day=1)
    match name:
        case "yesterday":
            return kpi.Period.day(config, today - dt.timedelta(days=1))
        case "this_week":
            return kpi.Period.week(config, monday)
        case "last_week":
            return kpi.Period.week(config, monday - dt.timedelta(days=7))
        case "this_month":
            return kpi.Period.month(config, today.year, today.month)
        case "last_month":
            last = first - dt.timedelta(days=1)
            return kpi.Period.month(config, last.year, last.month)
    return kpi.Period.day(config, today)


async def _master_visits(period: kpi.Period, master_id: str) -> tuple[int, int, int]:
    """(came, no-shows, paid kopecks) of one master's visits starting in the period."""
    came, missed, paid = await sql.one(
        "SELECT SUM(CASE WHEN status = 'came' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'came' THEN COALESCE(paid_kop, 0) ELSE 0 END) "
        "FROM appointment WHERE master_id = ? AND start >= ? AND start < ?",
        [master_id, period.start, period.end],
    )
    return came, missed, paid


async def figure(q: Question, config: BusinessConfig, t: Texts, now: dt.datetime) -> str:
    """The value of the question's metric, formatted ("3", "12,5 %", "1 900 ₽")."""
    period = period_of(q.period, config, now)
    if q.master_id and q.metric in PER_MASTER:
        came, missed, paid = await _master_visits(period, q.master_id)
        return {
            "no_shows": str(missed),
            "no_show_rate": kpi.Ratio(missed, came + missed).format(),
            "visits": str(came),
            "revenue": kpi.format_kop(paid),
        }[q.metric]
    match q.metric:
        case "leads":
            return str(await kpi.leads_in(period))
        case "conversion":
            return (await kpi.conversion(period)).format()
        case "no_shows":
            return str((await kpi.no_show_rate(period)).numerator)
        case "no_show_rate":
            return (await kpi.no_show_rate(period)).format()
        case "confirmed_rate":
            return (await kpi.confirmed_rate(period)).format()
        case "average_check":
            return (await kpi.average_check(period)).format()
    rows = await kpi.revenue_by_master(period)
    if q.metric == "visits":
        return str(sum(r.visits for r in rows))
    return kpi.format_kop(sum(r.revenue_kop for r in rows))


async def answer(
    text: str,
    is_owner: bool,
    config: BusinessConfig,
    t: Texts,
    now: dt.datetime,
    client: AiClient | None,
) -> str | None:
    """The answer to a staff question, or None when it is not a question about figures."""
    q = await model_question(client, text, config) if client else None
    q = q or rules_question(text, config)
    if q is None:
        return None
    if q.metric in MONEY and not is_owner:
        return t("ai.ask.not_allowed")
    master = config.master(q.master_id or "") if q.metric in PER_MASTER else None
    return t(
        "ai.ask.answer",
        metric=t(f"ai.metric.{q.metric}"),
        period=t(f"ai.period.{q.period}"),
        who=t("ai.ask.who", name=master.name) if master else "",
        value=await figure(q, config, t, now),
    )
