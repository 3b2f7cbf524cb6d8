"""Staff bot: lead cards and their buttons, the relay with the client, everyday commands."""

from __future__ import annotations

import datetime as dt
import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from admin_bot.access import HasRole, StaleButton
from admin_bot.ask import answer_staff_question
from admin_bot.context import StaffContext
from admin_bot.handover import handover_router
from bot.alerts import card
from bot.lead_access import check_appointment, check_lead, check_lead_id, check_outcome
from bot.lead_actions import (
    LeadActions,
    SlotGone,
    claim,
    close_relay,
    notify_client,
    open_relay,
    relayed_lead,
)
from bot.leads import lead_of
from bot.models import (
    OPEN_LEAD_STATUSES,
    Appointment,
    AppointmentStatus,
    Client,
    Lead,
    MessageLog,
    Outbox,
    OutboxStatus,
    StaffAwaiting,
    StaffMember,
    StaffRole,
)
from bot.outbox import Message as OutMessage
from bot.outcomes import parse_paid
from bot.relay import Relayed, StaffWords
from bot.relay import relay_to_client as relay
from bot.slots import Slot
from handlers.telegram import Act, attachment_ref, content_kind
from handlers.telegram_outbox import markup
from scenarios.keyboards import parse_slot_action, slot_action

log = logging.getLogger("priyom.staff")
OWNER, MANAGER, MASTER = StaffRole.OWNER, StaffRole.MANAGER, StaffRole.MASTER
LEAD_ROLES = (OWNER, MANAGER)
LOST_REASONS = ("expensive", "time", "competitor", "no_answer", "other")
CANCEL_REASONS = ("client", "master", "duplicate", "other")
MOVE_CHOICES = 6


def actions_of(staff: StaffContext) -> LeadActions:
    return LeadActions(staff.config, staff.texts, staff.booker, staff.owner_ids)


async def staff_name(telegram_id: int, fallback: str) -> str:
    member = await StaffMember.get_or_none(telegram_id=telegram_id)
    return member.name if member else fallback


def _arg(query: CallbackQuery, callback_data: Act) -> list[str]:
    """The button's arguments: an id first (digits only), else the button is refused."""
    args = callback_data.v.split(":")[1:]
    if not args or not args[0].isdigit():
        raise StaleButton()
    return args


def _only_id(callback_data: Act, choices: tuple[str, ...] = ()) -> tuple[int, str]:
    """Exactly an id (and one of `choices` when given): nothing else rides on a button."""
    args = callback_data.v.split(":")[1:]
    if len(args) != 1 + bool(choices) or not args[0].isdigit():
        raise StaleButton()
    if choices and args[1] not in choices:
        raise StaleButton()
    return int(args[0]), args[1] if choices else ""


async def show(message: Message | None, out: OutMessage, edit: bool = True) -> None:
    """Edit the card in place (or answer with a new message when it can't be edited)."""
    if message is None:
        return
    if edit:
        try:
            await message.edit_text(out.text, reply_markup=markup(out.payload()["buttons"]))
            return
        except Exception:
            pass
    await message.answer(out.text, reply_markup=markup(out.payload()["buttons"]))


# --- claim -----------------------------------------------------------------------------------


async def on_claim(query: CallbackQuery, callback_data: Act, staff: StaffContext, bot: Bot) -> None:
    lead_id, _ = _only_id(callback_data)
    me = query.from_user.id
    now = staff.clock.now()
    result = await claim(lead_id, me, now)
    lead = await Lead.get_or_none(id=lead_id)
    if lead is None:
        await query.answer(staff.texts("staff.unknown_action"), show_alert=True)
        return
    holder = await staff_name(result.manager_id or me, query.from_user.first_name)
    taken = await card(lead, staff.config, staff.texts, now, taken_by=holder)
    if not result.won:
        await query.answer(
            staff.texts("staff.claimed_other", id=lead_id, name=holder), show_alert=True
        )
        await show(query.message if isinstance(query.message, Message) else None, taken)
        return
    await query.answer()
    await open_relay(lead, me)
    await notify_client(
        lead,
        "joined",
        staff.texts("staff.client_manager_joined", name=holder),
        now,
        f"{lead_id}:{me}",
    )
    await show(query.message if isinstance(query.message, Message) else None, taken)
    await bot.send_message(me, staff.texts("staff.claimed_you", id=lead_id))
    await _update_other_cards(bot, lead_id, query, taken)
    log.info("claimed", extra={"lead": lead_id, "staff": me})


async def _update_other_cards(
    bot: Bot, lead_id: int, query: CallbackQuery, taken: OutMessage
) -> None:
    """Every other copy of the alert now says who took the lead."""
    here = (str(query.message.chat.id), query.message.message_id) if query.message else None
    cards = await Outbox.filter(
        lead_id=lead_id, kind="alert", status=OutboxStatus.SENT, message_id__isnull=False
    )
    for row in cards:
        if (row.chat_id, row.message_id) == here:
            continue
        try:
            await bot.edit_message_text(
                taken.text,
                chat_id=row.chat_id,
                message_id=row.message_id,
                reply_markup=markup(taken.payload()["buttons"]),
            )
        except Exception:
            log.warning("card_edit_failed", extra={"lead": lead_id, "chat": row.chat_id})


# --- booking actions -------------------------------------------------------------------------


async def on_confirm(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    appointment_id, _ = _only_id(callback_data)
    lead = await actions_of(staff).confirm(appointment_id, query.from_user.id, staff.clock.now())
    if lead is None:
        await query.answer(staff.texts("staff.already_done"), show_alert=True)
        return
    await query.answer(staff.texts("staff.confirmed", id=lead.id))
    await show(
        query.message,
        await card(
            lead, staff.config, staff.texts, staff.clock.now(), taken_by=await _holder_name(lead)
        ),
    )


async def _holder_name(lead: Lead) -> str | None:
    return await staff_name(lead.manager_id, "—") if lead.manager_id else None


async def on_cancel_ask(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    appointment_id, _ = _only_id(callback_data)
    await check_appointment(appointment_id, query.from_user.id, staff.owner_ids)
    t = staff.texts
    buttons = [
        [(t(f"staff.cancel_reason.{r}"), f"cr:{appointment_id}:{r}")] for r in CANCEL_REASONS
    ]
    await query.answer()
    await show(
        query.message, OutMessage(t("staff.cancel_ask", id=appointment_id), buttons), edit=False
    )


async def on_cancel_reason(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    appointment_id, reason = _only_id(callback_data, CANCEL_REASONS)
    t = staff.texts
    done = await actions_of(staff).cancel(
        appointment_id, reason, query.from_user.id, staff.clock.now()
    )
    if done is None:
        await query.answer(t("staff.already_done"), show_alert=True)
        return
    await query.answer()
    await show(
        query.message, OutMessage(t("staff.cancelled", reason=t(f"staff.cancel_reason.{reason}")))
    )


async def on_move_ask(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    appointment_id, _ = _only_id(callback_data)
    t = staff.texts
    appointment = await check_appointment(appointment_id, query.from_user.id, staff.owner_ids)
    if appointment is None or appointment.status not in (
        AppointmentStatus.PENDING,
        AppointmentStatus.CONFIRMED,
    ):
        await query.answer(t("staff.already_done"), show_alert=True)
        return
    today = staff.clock.now().astimezone(staff.config.tz).date()
    horizon = today + dt.timedelta(days=staff.config.booking.horizon_days)
    page = await staff.booker.find(
        appointment.service_id,
        appointment.addon_ids,
        today,
        horizon,
        None,
        None,
        None,
        0,
        MOVE_CHOICES,
    )
    await query.answer()
    if not page.slots:
        await show(query.message, OutMessage(t("staff.move_none")), edit=False)
        return
    buttons = [
        [(_slot_label(s, staff), f"mv:{appointment_id}:{slot_action(s)}")] for s in page.slots
    ]
    await show(
        query.message, OutMessage(t("staff.move_ask", id=appointment_id), buttons), edit=False
    )


def _slot_label(slot: Slot, staff: StaffContext) -> str:
    local = slot.start.astimezone(staff.config.tz)
    master = staff.config.master(slot.master_id)
    return f"{staff.texts.short_day(local.date())} {local:%H:%M} · {master.name if master else ''}"


async def on_move_to(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    parts = _arg(query, callback_data)
    appointment_id, picked = int(parts[0]), parse_slot_action(":".join(parts[1:]))
    old = await Appointment.get_or_none(id=appointment_id)
    service = staff.config.service(old.service_id) if old else None
    if picked is None or old is None or service is None:
        await query.answer(staff.texts("staff.already_done"), show_alert=True)
        return
    master_id, start = picked
    length = old.end - old.start
    try:
        new = await actions_of(staff).move(
            appointment_id,
            Slot(start, start + length, master_id),
            query.from_user.id,
            staff.clock.now(),
        )
    except SlotGone:
        await query.answer(staff.texts("staff.slot_gone"), show_alert=True)
        return
    if new is None:
        await query.answer(staff.texts("staff.already_done"), show_alert=True)
        return
    await query.answer()
    when = staff.texts.moment(new.start.astimezone(staff.config.tz))
    await show(query.message, OutMessage(staff.texts("staff.moved", when=when)))


async def on_dialog(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    lead_id, _ = _only_id(callback_data)
    await check_lead_id(lead_id, query.from_user.id, staff.owner_ids)
    t = staff.texts
    rows = await MessageLog.filter(lead_id=lead_id, text__isnull=False).order_by("-id").limit(15)
    lines = [
        t(
            "staff.dialog_line",
            who=t(f"staff.author.{r.author.split(':')[0]}"),
            text=(r.text or "")[:300],
        )
        for r in reversed(rows)
    ]
    await query.answer()
    body = "\n".join(lines) or t("staff.dialog_empty")
    await show(
        query.message,
        OutMessage(t("staff.dialog_title", id=lead_id) + "\n" + body[:3800]),
        edit=False,
    )


# --- lost and outcomes -----------------------------------------------------------------------


async def on_lost_ask(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    lead_id, _ = _only_id(callback_data)
    await check_lead_id(lead_id, query.from_user.id, staff.owner_ids)
    t = staff.texts
    buttons = [[(t(f"staff.lost_reason.{r}"), f"lr:{lead_id}:{r}")] for r in LOST_REASONS]
    await query.answer()
    await show(query.message, OutMessage(t("staff.lost_ask", id=lead_id), buttons), edit=False)


async def on_lost_reason(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    lead_id, reason = _only_id(callback_data, LOST_REASONS)
    t = staff.texts
    now = staff.clock.now()
    if reason == "other":
        await check_lead_id(lead_id, query.from_user.id, staff.owner_ids)
        await StaffAwaiting.update_or_create(
            telegram_id=query.from_user.id,
            defaults={"what": "lost_reason", "ref": lead_id, "at": now},
        )
        await query.answer()
        await show(query.message, OutMessage(t("staff.lost_other_ask")))
        return
    await _mark_lost(
        query.message, staff, lead_id, t(f"staff.lost_reason.{reason}"), query.from_user.id
    )
    await query.answer()


async def _mark_lost(
    message: Message | None, staff: StaffContext, lead_id: int, reason: str, staff_id: int
) -> None:
    t = staff.texts
    lead = await actions_of(staff).mark_lost(lead_id, reason, staff_id, staff.clock.now())
    text = t("staff.lost_done", id=lead_id, reason=reason) if lead else t("staff.already_done")
    await show(message, OutMessage(text))


async def on_came(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    """«Пришёл»: ask the amount; the button offers the price from the database."""
    appointment_id, _ = _only_id(callback_data)
    appointment = await Appointment.get_or_none(id=appointment_id)
    t, now = staff.texts, staff.clock.now()
    if appointment is None:
        raise StaleButton()
    await check_outcome(appointment, query.from_user.id, staff.owner_ids, now)
    await StaffAwaiting.update_or_create(
        telegram_id=query.from_user.id,
        defaults={"what": "amount", "ref": appointment_id, "at": now},
    )
    price = t.money(appointment.price_kop)
    buttons = [[(t("staff.btn.paid", price=price), f"paid:{appointment_id}")]]
    await query.answer()
    await show(query.message, OutMessage(t("staff.came_amount", price=price), buttons))


async def on_paid(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    """«Оплачено по прайсу»: the amount is the appointment's price, read again here."""
    appointment_id, _ = _only_id(callback_data)
    appointment = await Appointment.get_or_none(id=appointment_id)
    if appointment is None:
        raise StaleButton()
    text = await _record_came(staff, query.from_user.id, appointment_id, appointment.price_kop)
    await query.answer()
    await show(query.message, OutMessage(text))


async def _record_came(staff: StaffContext, staff_id: int, appointment_id: int, kop: int) -> str:
    t = staff.texts
    await StaffAwaiting.filter(telegram_id=staff_id).delete()
    done = await actions_of(staff).record_visit(
        appointment_id, True, kop, staff_id, staff.clock.now()
    )
    return t("staff.came_done", amount=t.money(kop)) if done else t("staff.already_done")


async def on_noshow(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    appointment_id, _ = _only_id(callback_data)
    t = staff.texts
    done = await actions_of(staff).record_visit(
        appointment_id, False, None, query.from_user.id, staff.clock.now()
    )
    await query.answer()
    await show(
        query.message, OutMessage(t("staff.noshow_done") if done else t("staff.already_done"))
    )


# --- typed messages: answers to questions, else the relay ------------------------------------


async def on_staff_message(
    message: Message, staff: StaffContext, bot: Bot, role: StaffRole, member: StaffMember | None
) -> None:
    me = message.from_user.id
    awaiting = await StaffAwaiting.get_or_none(telegram_id=me)
    if awaiting is not None and message.text:
        await _answer_question(message, staff, role, member, awaiting)
        return
    if role not in LEAD_ROLES:
        await message.answer(staff.texts("staff.relay_no_dialog"))
        return
    lead = await _relay_target(message, me)
    if lead is None:  # no dialogue open: maybe a question about the numbers
        if not await answer_staff_question(message, staff, role):
            await message.answer(staff.texts("staff.relay_no_dialog"))
        return
    await check_lead(lead, me, staff.owner_ids)  # another manager's lead: read-only
    await open_relay(lead, me)  # idempotent; a reply to a card opens that lead's dialogue
    await relay_to_client(message, staff, bot, lead)


async def _answer_question(
    message: Message,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
    awaiting: StaffAwaiting,
) -> None:
    me = message.from_user.id
    if awaiting.what == "amount":
        kopecks = parse_paid(message.text or "")
        if kopecks is None:
            await message.answer(staff.texts("staff.amount_invalid"))
            return
        await message.answer(await _record_came(staff, me, awaiting.ref, kopecks))
        return
    await StaffAwaiting.filter(telegram_id=me).delete()
    await _mark_lost(message, staff, awaiting.ref, (message.text or "")[:200], me)


async def _relay_target(message: Message, staff_id: int) -> Lead | None:
    """A reply to a card names its lead; otherwise the dialogue this person has open."""
    reply = message.reply_to_message
    if reply is not None:
        row = await Outbox.get_or_none(
            bot="staff", chat_id=str(message.chat.id), message_id=reply.message_id
        )
        if row is not None and row.lead_id is not None:
            return await Lead.get_or_none(id=row.lead_id)
    return await relayed_lead(staff_id)


async def relay_to_client(message: Message, staff: StaffContext, bot: Bot, lead: Lead) -> None:
    """The manager's words go through the outbox on the client's channel (bot/relay.py)."""
    file = attachment_ref(message)
    words = StaffWords(
        message.from_user.id,
        message.text or message.caption or "",
        content_kind(message),
        f"staff/{file}" if file else "",
        f"relay:{message.chat.id}:{message.message_id}",
    )
    done, channel = await relay(staff.extra["outbox"], lead, words, staff.clock)
    if done is Relayed.NO_DIALOG:
        await message.answer(staff.texts("staff.relay_no_dialog"))
    elif done is Relayed.TEXT_ONLY:
        await message.answer(staff.texts("channels.media_as_text", channel=channel))


# --- commands --------------------------------------------------------------------------------


async def on_close(message: Message, staff: StaffContext) -> None:
    conversations = await close_relay(message.from_user.id)
    if not conversations:
        await message.answer(staff.texts("staff.nothing_to_close"))
        return
    now = staff.clock.now()
    for conv in conversations:
        lead = await lead_of(conv.lead_id)
        if lead is not None:
            await notify_client(
                lead,
                "left",
                staff.texts("staff.client_manager_left"),
                now,
                f"{lead.id}:{conv.version}:{now.timestamp()}",
            )
        await message.answer(staff.texts("staff.closed", id=conv.lead_id))


async def on_leads(message: Message, staff: StaffContext) -> None:
    t, now = staff.texts, staff.clock.now()
    mine = await Lead.filter(manager_id=message.from_user.id, status__in=OPEN_LEAD_STATUSES)
    unclaimed = await Lead.filter(
        manager_id__isnull=True, status__in=OPEN_LEAD_STATUSES, needs_human=True
    )
    unclaimed += await Lead.filter(
        manager_id__isnull=True,
        status__in=OPEN_LEAD_STATUSES,
        needs_human=False,
        appointments__status=AppointmentStatus.PENDING,
    ).distinct()
    if not mine and not unclaimed:
        await message.answer(t("staff.leads_none"))
        return
    lines = [t("staff.leads_title")] + [await _lead_line(x, t, now) for x in mine]
    if unclaimed:
        lines += [t("staff.leads_unclaimed")] + [await _lead_line(x, t, now) for x in unclaimed]
    await message.answer("\n".join(lines))


async def _lead_line(lead: Lead, t, now: dt.datetime) -> str:
    client = await Client.get_or_none(id=lead.client_id) if lead.client_id else None
    age = int((now - lead.created_at).total_seconds() // 60)
    return t(
        "staff.lead_line",
        id=lead.id,
        status=t(f"staff.status.{lead.status}"),
        age=age,
        name=(client and client.name) or "—",
    )


async def on_lead(message: Message, command: CommandObject, staff: StaffContext) -> None:
    t = staff.texts
    arg = (command.args or "").strip().lstrip("#")
    if not arg.isdigit():
        await message.answer(t("staff.lead_usage"))
        return
    lead = await Lead.get_or_none(id=int(arg))
    if lead is None:
        await message.answer(t("staff.lead_missing", id=arg))
        return
    out = await card(lead, staff.config, t, staff.clock.now(), taken_by=await _holder_name(lead))
    sent = await message.answer(out.text, reply_markup=markup(out.payload()["buttons"]))
    await _remember_card(sent, lead.id, staff.clock.now())


async def _remember_card(sent: Message, lead_id: int, now: dt.datetime) -> None:
    """Record a card shown on demand, so replies to it reach the lead's client too."""
    await Outbox.create(
        bot="staff",
        chat_id=str(sent.chat.id),
        kind="card",
        payload={"text": sent.text or ""},
        dedup_key=f"card:{sent.chat.id}:{sent.message_id}",
        lead_id=lead_id,
        status=OutboxStatus.SENT,
        due_at=now,
        created_at=now,
        sent_at=now,
        message_id=sent.message_id,
    )


async def on_today(
    message: Message, staff: StaffContext, role: StaffRole, member: StaffMember | None
) -> None:
    t, config = staff.texts, staff.config
    local_now = staff.clock.now().astimezone(config.tz)
    start = dt.datetime.combine(local_now.date(), dt.time(0), tzinfo=config.tz)
    query = Appointment.filter(start__gte=start, start__lt=start + dt.timedelta(days=1)).exclude(
        status=AppointmentStatus.CANCELLED
    )
    if role == MASTER:
        query = query.filter(master_id=member.master_id if member else "")
    visits = await query.order_by("master_id", "start")
    if not visits:
        await message.answer(t("staff.today_empty"))
        return
    lines = [t("staff.today_title", day=t.day(local_now.date()))]
    current = None
    for visit in visits:
        if visit.master_id != current:
            current = visit.master_id
            master = config.master(current)
            lines.append(t("staff.today_master", master=master.name if master else current))
        client = await Client.get_or_none(id=visit.client_id) if visit.client_id else None
        service = config.service(visit.service_id)
        lines.append(
            t(
                "staff.today_line",
                time=f"{visit.start.astimezone(config.tz):%H:%M}",
                service=service.title if service else visit.service_id,
                client=(client and client.name) or "—",
                state=t(f"staff.appt.{visit.status}"),
            )
        )
    await message.answer("\n".join(lines))


def _on(action: str):
    return Act.filter(F.v.startswith(f"{action}:"))


def leads_router() -> Router:
    router = Router(name="staff-leads")
    lead_staff = HasRole(OWNER, MANAGER)
    everyone = HasRole(OWNER, MANAGER, MASTER)
    cb = router.callback_query
    for action, handler in (
        ("claim", on_claim),
        ("confirm", on_confirm),
        ("cancel", on_cancel_ask),
        ("cr", on_cancel_reason),
        ("move", on_move_ask),
        ("mv", on_move_to),
        ("dialog", on_dialog),
        ("lost", on_lost_ask),
        ("lr", on_lost_reason),
    ):
        cb.register(handler, _on(action), lead_staff)
    for action, handler in (("came", on_came), ("paid", on_paid), ("noshow", on_noshow)):
        cb.register(handler, _on(action), everyone)
    msg = router.message
    msg.register(on_close, Command("close"), lead_staff)
    msg.register(on_leads, Command("leads"), lead_staff)
    msg.register(on_lead, Command("lead"), lead_staff)
    msg.register(on_today, Command("today"), everyone)
    msg.register(on_staff_message, ~F.text.startswith("/"), everyone)
    router.include_router(handover_router())
    return router
