"""Staff bot: the owner's money commands — /spend, /payroll, /roi_setup, /roi, /export.

Presentation only: parsing of the typed text and every figure come from the core
(bot/numbers: amounts, ad_spend, payroll, roi, export; bot/periods). Roles are
checked on every use by `HasRole`; anything else falls through to the refusal router.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from admin_bot.access import HasRole
from admin_bot.context import StaffContext, arg_of
from bot.models import StaffRole
from bot.numbers.ad_spend import month_spend, set_spend
from bot.numbers.amounts import parse_rubles, percent_text
from bot.numbers.export import build_export, file_stem
from bot.numbers.kpi import EMPTY, Period, format_kop
from bot.numbers.payroll import Payslip, payslips
from bot.numbers.reports import MAX_TEXT
from bot.numbers.roi import (
    RoiInputError,
    RoiReport,
    current_baseline,
    parse_setup,
    roi_report,
    save_baseline,
)
from bot.periods import (
    MONTH_RE,
    PeriodError,
    local_today,
    month_label,
    parse_month,
    parse_period,
)

log = logging.getLogger("priyom.staff.money")
OWNER, MANAGER = StaffRole.OWNER, StaffRole.MANAGER


def _user_id(message: Message) -> int:
    return message.from_user.id if message.from_user else 0


def _month(staff: StaffContext, text: str) -> tuple[int, int]:
    return parse_month(text, local_today(staff.config, staff.clock.now()))


# --- /spend ----------------------------------------------------------------------------------


def _split_spend(args: str) -> tuple[str, str, str]:
    """«instagram 15 000 2026-11» → source, amount text, month text (the month is optional)."""
    source, *rest = args.split()
    month = rest.pop() if rest and MONTH_RE.match(rest[-1]) else ""
    return source.casefold(), " ".join(rest), month


async def on_spend(message: Message, command: CommandObject, staff: StaffContext) -> None:
    """`/spend [YYYY-MM]` lists a month; `/spend <source> <rubles> [YYYY-MM]` enters or
    corrects one source's spend for the month (the current business month by default)."""
    t, config = staff.texts, staff.config
    args = arg_of(command)
    known = ", ".join(s.id for s in config.sources) or EMPTY
    try:
        if not args or MONTH_RE.match(args):
            await message.answer(await _spend_list(staff, *_month(staff, args)))
            return
        source, amount_text, month_text = _split_spend(args)
        if source not in {s.id for s in config.sources}:
            await message.answer(t("money.spend_unknown_source", source=source, known=known))
            return
        if not amount_text:
            await message.answer(t("money.spend_usage", known=known))
            return
        try:
            amount = parse_rubles(amount_text)
        except ValueError:
            await message.answer(t("money.spend_bad_amount", amount=amount_text))
            return
        year, month = _month(staff, month_text)
    except PeriodError as exc:
        await message.answer(t(exc.key))
        return
    now = staff.clock.now()
    change = await set_spend(config, source, year, month, amount, _user_id(message), now)
    values = {"source": source, "month": change.month, "amount": format_kop(amount)}
    if change.previous_kop is None:
        await message.answer(t("money.spend_saved", **values))
    else:
        previous = format_kop(change.previous_kop)
        await message.answer(t("money.spend_corrected", previous=previous, **values))


async def _spend_list(staff: StaffContext, year: int, month: int) -> str:
    t = staff.texts
    spend = await month_spend(year, month)
    titles = {s.id: s.title for s in staff.config.sources}
    ids = [s.id for s in staff.config.sources] + sorted(set(spend) - set(titles))
    lines = [t("money.spend_title", month=month_label(year, month))]
    for source in ids:
        amount = format_kop(spend[source]) if source in spend else EMPTY
        title = titles.get(source, source)
        lines.append(t("money.spend_line", source=source, title=title, amount=amount))
    lines.append(t("money.spend_total", amount=format_kop(sum(spend.values()))))
    lines.append(t("money.spend_hint"))
    return "\n".join(lines)


# --- /payroll --------------------------------------------------------------------------------


def _payslip_text(staff: StaffContext, slip: Payslip) -> str:
    t = staff.texts
    name = slip.plan.name or str(slip.plan.manager)
    return "\n".join(
        [
            t("money.pay_name", name=name),
            t("money.pay_fixed", amount=format_kop(slip.fixed_kop)),
            t(
                "money.pay_bonus",
                bookings=slip.bookings,
                plan=slip.plan_bookings,
                extra=slip.extra_bookings,
                rate=format_kop(slip.bonus_per_booking_kop),
                amount=format_kop(slip.bonus_kop),
            ),
            t(
                "money.pay_percent",
                sales=format_kop(slip.sales_kop),
                target=format_kop(slip.sales_target_kop),
                above=format_kop(slip.sales_above_kop),
                percent=percent_text(int(slip.sales_percent * 100)),
                amount=format_kop(slip.percent_kop),
            ),
            t("money.pay_total", amount=format_kop(slip.total_kop)),
        ]
    )


async def on_payroll(
    message: Message, command: CommandObject, staff: StaffContext, role: StaffRole
) -> None:
    """Owners see every plan; a manager only their own."""
    t, config = staff.texts, staff.config
    try:
        year, month = _month(staff, command.args or "")
    except PeriodError as exc:
        await message.answer(t(exc.key))
        return
    plans = list(config.payroll)
    if role is not OWNER:
        plans = [p for p in plans if p.manager == _user_id(message)]
    if not plans:
        await message.answer(t("money.pay_no_plan" if role is not OWNER else "money.pay_no_plans"))
        return
    slips = await payslips(plans, Period.month(config, year, month))
    blocks = [t("money.pay_title", month=month_label(year, month))]
    blocks += [_payslip_text(staff, s) for s in slips]
    for text in pack_messages(blocks):
        await message.answer(text)


def pack_messages(blocks: list[str], limit: int = MAX_TEXT) -> list[str]:
    """Blocks joined by blank lines into as few messages as fit Telegram's 4096 characters."""
    out: list[str] = []
    for block in blocks:
        if out and len(out[-1]) + 2 + len(block) <= limit:
            out[-1] += "\n\n" + block
        else:
            out.append(block)
    return out


# --- /roi_setup, /roi ------------------------------------------------------------------------


async def on_roi_setup(message: Message, command: CommandObject, staff: StaffContext) -> None:
    t = staff.texts
    args = arg_of(command)
    if not args:
        await message.answer(t("money.roi_setup_usage"))
        return
    try:
        values = parse_setup(args)
    except RoiInputError as exc:
        await message.answer(f"{t(exc.key, **exc.values)}\n\n{t('money.roi_setup_usage')}")
        return
    await save_baseline(values, _user_id(message), staff.clock.now())
    await message.answer(t("money.roi_saved"))


def _roi_text(staff: StaffContext, report: RoiReport, month: str) -> str:
    t, b = staff.texts, report.base
    margin = percent_text(b.margin_bp)
    lines = [
        t("money.roi_title", month=month),
        t(
            "money.roi_baseline",
            leads=b.leads_per_month,
            conversion=percent_text(b.conversion_bp),
            noshow=percent_text(b.no_show_bp),
            check=format_kop(b.check_kop),
            amount=format_kop(report.baseline_kop),
        ),
        t("money.roi_measured", visits=report.visits, amount=format_kop(report.measured_kop)),
        t("money.roi_extra_revenue", amount=format_kop(report.extra_revenue_kop)),
        t(
            "money.roi_extra_profit",
            revenue=format_kop(report.extra_revenue_kop),
            margin=margin,
            amount=format_kop(report.extra_profit_kop),
        ),
        t("money.roi_cost", oneoff=format_kop(b.oneoff_kop), monthly=format_kop(b.monthly_kop)),
    ]
    if report.roi_percent is None:
        lines.append(t("money.roi_percent_none"))
    else:
        lines.append(
            t(
                "money.roi_percent",
                gain=format_kop(report.year_gain_kop),
                cost=format_kop(report.year_cost_kop),
                value=f"{report.roi_percent} %".replace(".", ","),
            )
        )
    if report.payback_months is None:
        lines.append(t("money.roi_payback_none", net=format_kop(report.monthly_net_kop)))
    else:
        lines.append(
            t(
                "money.roi_payback",
                oneoff=format_kop(b.oneoff_kop),
                net=format_kop(report.monthly_net_kop),
                value=str(report.payback_months).replace(".", ","),
            )
        )
    return "\n".join(lines)


async def on_roi(message: Message, command: CommandObject, staff: StaffContext) -> None:
    t = staff.texts
    try:
        year, month = _month(staff, command.args or "")
    except PeriodError as exc:
        await message.answer(t(exc.key))
        return
    base = await current_baseline()
    if base is None:
        await message.answer(t("money.roi_no_baseline"))
        return
    report = await roi_report(base, Period.month(staff.config, year, month))
    await message.answer(_roi_text(staff, report, month_label(year, month)))


# --- /export ---------------------------------------------------------------------------------


async def on_export(message: Message, command: CommandObject, staff: StaffContext) -> None:
    t, config = staff.texts, staff.config
    try:
        period = parse_period(command.args or "", config, local_today(config, staff.clock.now()))
    except PeriodError as exc:
        await message.answer(t(exc.key))
        return
    stem = file_stem(period, config)
    first, last = stem.split("_")
    await message.answer(t("money.export_wait", first=first, last=last))  # a big one takes a while
    files = await build_export(config, t, period)
    caption = t("money.export_caption", leads=files.leads, appointments=files.appointments)
    for name, data, text in (
        (f"leads_{stem}.csv", files.leads_csv, None),
        (f"appointments_{stem}.csv", files.appointments_csv, None),
        (f"priyom_{stem}.xlsx", files.xlsx, caption),
    ):
        await message.answer_document(BufferedInputFile(data, filename=name), caption=text)
    log.info("export_sent", extra={"by": _user_id(message), "leads": files.leads})


def money_router() -> Router:
    """Include it before `refusal_router()`."""
    router = Router(name="staff-money")
    owner = HasRole(OWNER)
    msg = router.message
    msg.register(on_spend, Command("spend"), owner)
    msg.register(on_payroll, Command("payroll"), HasRole(OWNER, MANAGER))
    msg.register(on_roi_setup, Command("roi_setup"), owner)
    msg.register(on_roi, Command("roi"), owner)
    msg.register(on_export, Command("export"), owner)
    return router
