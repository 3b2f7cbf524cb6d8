"""The owner's reports as text: the evening summary, the weekly report, and the bodies of
/kpi, /staff, /sources, /funnel and /lost. Core code: figures from the SQL aggregates in
bot/kpi*.py, words from the catalog (reports.*), no channel library; admin_bot/ and the
timed tick only decide who gets which text. Every text fits one Telegram message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable

from bot.coach.weekly import owner_lines as coach_lines
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.models import StaffMember
from bot.numbers import kpi, kpi_daily, kpi_team, kpi_waitlist
from bot.numbers.ad_spend import spend_by_source
from bot.numbers.charts import weekly_png
from bot.numbers.deposits import deposit_figures, deposit_lines
from bot.numbers.kpi import EMPTY, format_kop
from bot.periods import Span

MAX_TEXT = 4096  # Telegram's limit for one message


def fit(lines: Iterable[str], t: Texts, limit: int = MAX_TEXT) -> str:
    """Join lines, dropping the tail (with a note) when they would not fit one message."""
    out: list[str] = []
    size = 0
    cut = t("reports.cut")
    for line in lines:
        if size + len(line) + 1 > limit - len(cut) - 1:
            out.append(cut)
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def money(kop: int | None) -> str:
    return EMPTY if kop is None else format_kop(kop)


def source_name(config: BusinessConfig, t: Texts, source: str | None) -> str:
    if source is None:
        return t("reports.no_source")
    known = next((s for s in config.sources if s.id == source), None)
    return known.title if known else source


def master_name(config: BusinessConfig, master_id: str) -> str:
    master = config.master(master_id)
    return master.name if master else master_id


async def manager_names(ids: Iterable[int | None], t: Texts) -> dict[int | None, str]:
    """Names of staff members by Telegram id (owners who claim leads show as their id)."""
    wanted = [i for i in ids if i is not None]
    found = dict(
        await StaffMember.filter(telegram_id__in=wanted).values_list("telegram_id", "name")
    )
    names: dict[int | None, str] = {None: t("reports.nobody")}
    for i in wanted:
        names[i] = found.get(i) or t("reports.unknown_person", id=i)
    return names


# --- the evening summary ---------------------------------------------------------------------


async def evening_summary(config: BusinessConfig, t: Texts, day: dt.date) -> str:
    """Exactly five lines (leads, confirmed bookings, no-shows, top 3 sources, the worst
    SLA breach) and the hint line with the details commands."""
    period = kpi.Period.day(config, day)
    leads, confirmed, no_show, top, breach = await asyncio.gather(
        kpi.leads_in(period),
        kpi_daily.confirmed_bookings(period),
        kpi.no_show_rate(period),
        kpi_daily.top_sources(period),
        kpi_daily.worst_breach(period),
    )
    items = [
        t("reports.summary.source_item", name=source_name(config, t, s), count=n) for s, n in top
    ]
    if breach is None:
        worst = t("reports.summary.no_breach")
    else:
        what = t(f"reports.breach.{breach.kind}", id=breach.lead_id)
        worst = t("reports.summary.breach", what=what, count=breach.count)
    return "\n".join(
        [
            t("reports.summary.leads", date=f"{day:%d.%m}", count=leads),
            t("reports.summary.confirmed", count=confirmed),
            t("reports.summary.no_show", rate=no_show.format()),
            t("reports.summary.sources", top=", ".join(items))
            if items
            else t("reports.summary.sources_none"),
            worst,
            t("reports.summary.hint"),
        ]
    )


# --- /kpi ------------------------------------------------------------------------------------


def _revenue_list(rows: list[kpi.Revenue], name) -> str:
    return ", ".join(f"{name(r.key)} {format_kop(r.revenue_kop)}" for r in rows) or EMPTY


def _minutes(t: Texts, median: kpi.Median) -> str:
    return median.format(t("reports.unit_minutes"))


async def kpi_text(config: BusinessConfig, t: Texts, span: Span) -> str:
    p = span.period(config)
    first = await kpi.first_response_median(config, p)
    by_manager = await kpi.revenue_by_manager(p)
    names = await manager_names((r.key for r in by_manager), t)  # type: ignore[misc]
    body = t(
        "reports.kpi.body",
        leads=await kpi.leads_in(p),
        conversion=(await kpi.conversion(p)).format(),
        confirmed=(await kpi.confirmed_rate(p)).format(),
        no_show=(await kpi.no_show_rate(p)).format(),
        check=(await kpi.average_check(p)).format(),
        repeat=(await kpi.repeat_clients(p)).format(),
        bot=first.bot_seconds.format(t("reports.unit_seconds")),
        human=_minutes(t, first.human_minutes),
        unanswered=first.human_unanswered,
        sla=(await kpi.sla_compliance(p)).format(),
        alone=(await kpi.no_human_share(p)).format(),
        masters=_revenue_list(
            await kpi.revenue_by_master(p), lambda k: master_name(config, str(k))
        ),
        managers=_revenue_list(by_manager, lambda k: names[k]),
    )
    return fit([t("reports.kpi.title", period=span.label()), *body.splitlines()], t)


# --- /staff and its part of the weekly report ------------------------------------------------


async def staff_lines(
    config: BusinessConfig,
    t: Texts,
    span: Span,
    *,
    manager_id: int | None = None,
    master_id: str | None = None,
    everyone: bool = True,
) -> list[str]:
    """Manager and master lines; unless `everyone`, only the asking person's own line."""
    p = span.period(config)
    lines: list[str] = []
    if everyone or manager_id is not None:
        managers = [
            r
            for r in await kpi_team.by_manager(config, p)
            if everyone or r.manager_id == manager_id
        ]
        names = await manager_names((r.manager_id for r in managers), t)
        if managers:
            lines.append(t("reports.staff.managers"))
        for r in managers:
            lines.append(
                t(
                    "reports.staff.manager",
                    name=names[r.manager_id],
                    bookings=r.bookings,
                    conversion=r.conversion.format(),
                    check=r.check.format(),
                    response=_minutes(t, r.first_response),
                    breaches=r.breaches,
                )
            )
    if everyone or master_id is not None:
        masters = [r for r in await kpi_team.by_master(p) if everyone or r.master_id == master_id]
        if masters:
            lines.append(t("reports.staff.masters"))
        for m in masters:
            lines.append(
                t(
                    "reports.staff.master",
                    name=master_name(config, m.master_id),
                    bookings=m.bookings,
                    rate=m.visit_rate.format(),
                    check=m.check.format(),
                )
            )
    return lines


async def staff_text(config: BusinessConfig, t: Texts, span: Span, **who) -> str:
    lines = await staff_lines(config, t, span, **who)
    return fit(
        [t("reports.staff.title", period=span.label()), *(lines or [t("reports.staff.none")])], t
    )


# --- /sources, /funnel, /lost ----------------------------------------------------------------


async def source_lines(config: BusinessConfig, t: Texts, span: Span, short: bool) -> list[str]:
    p = span.period(config)
    rows = await kpi_daily.sources_with_money(p, await spend_by_source(p))
    key = "reports.sources.short" if short else "reports.sources.line"
    return [
        t(
            key,
            name=source_name(config, t, r.source),
            leads=r.leads,
            booked=r.bookings,
            conversion=r.conversion.format(),
            revenue=format_kop(r.revenue_kop),
            spend=money(r.spend_kop),
            cpl=money(r.cpl_kop),
            cac=money(r.cac_kop),
            roi=r.roi.format() if r.roi else EMPTY,
        )
        for r in rows
    ]


async def sources_text(config: BusinessConfig, t: Texts, span: Span) -> str:
    lines = await source_lines(config, t, span, short=False)
    if not lines:
        return t("reports.nothing", period=span.label())
    return fit([t("reports.sources.title", period=span.label()), *lines], t)


async def funnel_text(config: BusinessConfig, t: Texts, span: Span) -> str:
    lines = [t("reports.funnel.title", period=span.label())]
    for stage in await kpi.funnel(span.period(config)):
        name = t(f"reports.funnel.{stage.name}")
        if stage.conversion is None:
            lines.append(t("reports.funnel.line", name=name, count=stage.count))
        else:
            conv = stage.conversion.format()
            lines.append(
                t("reports.funnel.line_conv", name=name, count=stage.count, conversion=conv)
            )
    return fit(lines, t)


async def lost_text(config: BusinessConfig, t: Texts, span: Span) -> str:
    reasons = await kpi.lost_reasons(span.period(config))
    total = sum(r.count for r in reasons)
    lines = [t("reports.lost.title", period=span.label(), total=total)]
    for r in reasons:
        reason = r.reason or t("reports.lost.no_reason")
        lines.append(t("reports.lost.line", reason=reason, count=r.count))
    return fit(lines, t)


# --- the weekly report -----------------------------------------------------------------------


async def weekly_text(config: BusinessConfig, t: Texts, span: Span) -> str:
    p = span.period(config)
    totals = t(
        "reports.weekly.totals",
        leads=await kpi.leads_in(p),
        conversion=(await kpi.conversion(p)).format(),
        confirmed=(await kpi.confirmed_rate(p)).format(),
        no_show=(await kpi.no_show_rate(p)).format(),
        check=(await kpi.average_check(p)).format(),
    )
    lines = [t("reports.weekly.title", period=span.label()), totals]
    won = await kpi_waitlist.refilled(p)
    if won.offered or won.slots:  # a week without offers: no line about the waitlist
        revenue = money(won.revenue_kop)
        lines.append(t("reports.weekly.waitlist", refilled=won.slots, revenue=revenue))
    lines += await staff_lines(config, t, span)
    sources = await source_lines(config, t, span, short=True)
    if sources:
        lines += [t("reports.sources.heading"), *sources]
    lines += await coach_lines(config, t, span)  # per manager: conversion, steps missed
    lines += deposit_lines(await deposit_figures(p), t)
    return fit(lines, t)


def days_of(span: Span) -> list[dt.date]:
    return [span.first + dt.timedelta(days=i) for i in range((span.last - span.first).days + 1)]


async def weekly_chart_data(
    config: BusinessConfig, t: Texts, span: Span
) -> tuple[list[tuple[str, int]], list[str], list[tuple[str, list[int]]]]:
    """The chart's numbers: funnel stages, day labels, leads and bookings made per day."""
    stages = [
        (t(f"reports.funnel.{s.name}"), s.count) for s in await kpi.funnel(span.period(config))
    ]
    days = days_of(span)
    periods = [kpi.Period.day(config, d) for d in days]
    leads = await kpi_daily.per_day("created_at", "lead", periods)
    bookings = await kpi_daily.per_day("created_at", "appointment", periods)
    labels = [f"{d:%d.%m}" for d in days]
    series = [
        (t("reports.weekly.series_leads"), leads),
        (t("reports.weekly.series_bookings"), bookings),
    ]
    return stages, labels, series


async def weekly_chart(config: BusinessConfig, t: Texts, span: Span) -> bytes:
    """The PNG: rendering (~0.1–0.3 s of CPU) runs in a thread, off the event loop."""
    stages, labels, series = await weekly_chart_data(config, t, span)
    title = t("reports.weekly.chart", period=span.label())
    return await asyncio.to_thread(weekly_png, title, stages, labels, series)
