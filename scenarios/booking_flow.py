"""The client's booking conversation: (state, input) → replies and effects.

Pure: no network, no database of its own. It reads through the ports in `Deps` and
asks the runner for changes with effects; results come back as EVENT inputs.
"""

from __future__ import annotations

import datetime as dt

from bot.config import Service
from bot.slots import visit_minutes
from scenarios import keyboards as kb
from scenarios.deeplink import parse_start_payload
from scenarios.matching import match_service
from scenarios.parsing import (
    TimeWish,
    normalize_phone,
    parse_name,
    parse_time_wish,
)
from scenarios.ports import Deps
from scenarios.state import DialogState, Step
from scenarios.types import (
    Book,
    CancelBooking,
    ConfirmVisit,
    Forget,
    Guard,
    HandOff,
    Input,
    InputKind,
    OpenLead,
    Outcome,
    RecordConsent,
    Reply,
    SaveContact,
    Understanding,
)
from scenarios.understanding import DECLINE, match_addons

MISSES_BEFORE_HANDOFF = 2
_AGREE_WORDS = {"согласен", "согласна", "согласен(на)", "agree", "i agree"}


async def handle(state: DialogState, inp: Input, deps: Deps) -> Outcome:
    """One step of the dialogue. Mutates `state`; the runner stores it with the effects."""
    out = Outcome()
    if inp.name and state.consented:
        state.channel_name = inp.name
    if inp.kind is InputKind.COMMAND:
        await _command(state, inp, deps, out)
    elif inp.kind is InputKind.EVENT:
        await _event(state, inp, deps, out)
    elif inp.kind is InputKind.MEDIA:
        out.replies.append(Reply(deps.texts("media_hint")))
        await _ask(state, deps, out)
    elif inp.kind is InputKind.BUTTON and await _global_button(state, inp.text, deps, out):
        pass
    else:
        await _step(state, inp, deps, out)
    return out


# --- commands and buttons that work at any step -------------------------------------------


async def _command(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> None:
    match inp.text:
        case "start":
            source, campaign = parse_start_payload(inp.arg)
            if source:
                state.source, state.campaign = source, campaign
            state.reset_booking()
            state.lead_open = False
            state.step = Step.GREETING
            out.replies.append(Reply(deps.texts("greeting", business=deps.config.business.name)))
            await _begin(state, deps, out)
        case "mybookings":
            await _my_bookings(state, deps, out)
        case "forget":
            state.go(Step.FORGET)
            out.replies.append(Reply(deps.texts("forget_confirm"), kb.forget(deps.texts)))
        case "human":
            _hand_off(state, "asked", deps, out)
        case "help":
            out.replies.append(Reply(deps.texts("help")))
        case _:
            out.replies.append(Reply(deps.texts("unknown_command")))
            await _ask(state, deps, out)


async def _global_button(state: DialogState, action: str, deps: Deps, out: Outcome) -> bool:
    """Handle buttons that mean the same at any step; False when the step must decide."""
    name, _, arg = action.partition(":")
    match name:
        case "back":
            state.back()
            state.misses = 0
            await _ask(state, deps, out, edit=True)
        case "restart":
            state.reset_booking()
            await _begin(state, deps, out)
        case "human":
            _hand_off(state, "asked", deps, out)
        case "my":
            await _my_bookings(state, deps, out)
        case "cancel" if arg.isdigit():
            if await deps.bookings.get(int(arg)) is None:
                out.replies.append(Reply(deps.texts("cancel_unknown")))
            else:
                out.effects.append(CancelBooking(int(arg)))
        case "rconfirm" if arg.isdigit():
            out.effects.append(ConfirmVisit(int(arg)))
        case "rmove" if arg.isdigit():
            await _start_move(state, int(arg), deps, out)
        case "resume":
            await _ask(state, deps, out)
        case _:
            return False
    return True


async def _start_move(state: DialogState, appointment_id: int, deps: Deps, out: Outcome) -> None:
    """«Перенести» from a reminder: the slot picker for the same service."""
    info = await deps.bookings.get(appointment_id)
    if info is None or deps.config.service(info.service_id) is None:
        out.replies.append(Reply(deps.texts("cancel_unknown")))
        return
    state.reset_booking()
    state.service_id, state.addon_ids = info.service_id, list(info.addon_ids)
    state.moving = appointment_id
    state.step = Step.TIME
    await _ask(state, deps, out)


async def _event(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> None:
    match inp.text:
        case "booked":
            info = await deps.bookings.get(int(inp.arg))
            if info is not None:
                key = "moved" if state.moving else "prebooked" if info.pending else "booked"
                out.replies.append(
                    Reply(_booking_text(key, info, deps), kb.after_booking(deps.texts))
                )
            state.reset_booking()
            state.step = Step.DONE
            state.lead_open = False
        case "slot_taken":
            out.replies.append(Reply(deps.texts("slot_taken")))
            start = state.slot_start
            if start is not None:
                local = start.astimezone(deps.config.tz)
                state.time_wish = TimeWish(local.date(), local.date(), exact=local.time())
            state.page = 0
            state.step = Step.SLOT
            await _ask(state, deps, out)
        case "cancelled":
            out.replies.append(Reply(deps.texts("cancelled"), kb.after_booking(deps.texts)))
        case "cancel_failed":
            out.replies.append(Reply(deps.texts("cancel_unknown")))
        case "forgotten":
            out.replies.append(Reply(deps.texts("forgotten")))
        case "visit_confirmed":
            out.replies.append(Reply(deps.texts("visit_confirmed"), kb.after_booking(deps.texts)))


# --- the steps ------------------------------------------------------------------------------


async def _step(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> None:
    handlers = {
        Step.GREETING: _on_greeting,
        Step.CONSENT: _on_consent,
        Step.SERVICE: _on_service,
        Step.ADDON: _on_addon,
        Step.TIME: _on_time,
        Step.PICK_DAY: _on_time,
        Step.SLOT: _on_slot,
        Step.CONTACT: _on_contact,
        Step.NAME: _on_name,
        Step.SUMMARY: _on_summary,
        Step.DONE: _on_done,
        Step.FORGET: _on_forget,
    }
    if inp.understood is not None and await _on_understood(state, inp.understood, deps, out):
        state.misses = 0
        return
    understood = await handlers.get(state.step, _on_greeting)(state, inp, deps, out)
    if understood:
        state.misses = 0
    else:
        _missed(state, deps, out)


# Steps where a whole free-text request («маникюр в субботу, я Ольга») may start a booking.
_REQUEST_STEPS = (Step.SERVICE, Step.DONE)


async def _on_understood(state: DialogState, u: Understanding, deps: Deps, out: Outcome) -> bool:
    """Act on a validated reading of free text; False lets the step's own rules decide."""
    t = deps.texts
    if u.guard in (Guard.MEDICAL, Guard.LEGAL):
        out.replies.append(Reply(t(f"ai.refuse_{u.guard}", phone=deps.config.business.phone)))
        await _ask(state, deps, out)
        return True
    if u.answer:
        out.replies.append(Reply(u.answer))
        await _ask(state, deps, out)
        return True
    if u.guard is Guard.QUESTION:
        if state.consented:
            if not state.lead_open:
                _open_lead(state, out)
            out.effects.append(HandOff("question"))
            out.replies.append(Reply(t("ai.handoff_question")))
        else:
            out.replies.append(Reply(t("handoff_no_consent", phone=deps.config.business.phone)))
        return True
    service = deps.config.service(u.service_id or "")
    if service is None or state.step not in _REQUEST_STEPS:
        return False
    if state.step == Step.DONE:
        state.reset_booking()
        state.step = Step.SERVICE
    state.service_id, state.page = service.id, 0
    state.addon_ids = [a for a in u.addon_ids if service.addon(a) is not None]
    if u.wish is not None:
        state.time_wish = u.wish
    if u.name and not state.name:
        state.name = u.name
    if u.phone and not state.phone:
        state.phone = u.phone
    wants_addon = service.addons and not state.addon_ids
    state.go(Step.ADDON if wants_addon else _after_addons(state))
    await _ask(state, deps, out)
    return True


async def _on_greeting(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    out.replies.append(Reply(deps.texts("greeting", business=deps.config.business.name)))
    await _begin(state, deps, out)
    return True


async def _on_consent(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    agreed = inp.kind is InputKind.BUTTON and inp.text == "consent:yes"
    agreed = agreed or inp.text.strip().lower().rstrip("!.") in _AGREE_WORDS
    if inp.kind is InputKind.BUTTON and inp.text == "consent:no":
        out.replies.append(
            Reply(
                deps.texts("consent_declined", phone=deps.config.business.phone),
                kb.consent(deps.texts, deps.config.business.policy_url),
            )
        )
        return True
    if not agreed:
        return False
    state.consented = True
    out.effects.append(RecordConsent(deps.config.business.policy_version))
    out.replies.append(Reply(deps.texts("consent_thanks"), edit=inp.kind is InputKind.BUTTON))
    _open_lead(state, out)
    state.step = Step.SERVICE  # not `go`: «Назад» must never lead back to the consent
    await _ask(state, deps, out)
    return True


async def _on_service(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is InputKind.BUTTON:
        service_id = inp.text.removeprefix("svc:")
        wish = None
    else:
        service_id = match_service(inp.text, deps.config.services) or ""
        wish = parse_time_wish(inp.text, deps.local_now())
    service = deps.config.service(service_id)
    if service is None:
        return False
    state.service_id, state.addon_ids, state.page = service.id, [], 0
    if wish is not None:
        state.time_wish = wish
    state.go(Step.ADDON if service.addons else _after_addons(state))
    await _ask(state, deps, out, edit=inp.kind is InputKind.BUTTON)
    return True


async def _on_addon(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    service = _service(state, deps)
    if inp.kind is InputKind.TEXT:
        return await _addons_in_text(state, inp, service, deps, out)
    if inp.kind is not InputKind.BUTTON or not inp.text.startswith("addon:"):
        return False
    addon_id = inp.text.removeprefix("addon:")
    if addon_id != "none":
        if service.addon(addon_id) is None:
            return False
        state.addon_ids = [addon_id]
    state.go(_after_addons(state))
    await _ask(state, deps, out, edit=True)
    return True


async def _addons_in_text(
    state: DialogState, inp: Input, service: Service, deps: Deps, out: Outcome
) -> bool:
    """«с дизайном», «без покрытия», «нет, не надо» typed instead of pressing a button."""
    found = list(match_addons(inp.text, service))
    u = inp.understood
    if not found and u is not None and u.service_id == service.id:
        found = [a for a in u.addon_ids if service.addon(a) is not None]
    if not found and not DECLINE.search(inp.text.lower()):
        return False
    state.addon_ids = found
    state.go(_after_addons(state))
    await _ask(state, deps, out)
    return True


async def _on_time(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    today = deps.local_now().date()
    wish = None
    if inp.kind is InputKind.BUTTON:
        wish = _wish_from_button(inp.text, today)
        if inp.text == "when:pick":
            state.go(Step.PICK_DAY)
            await _ask(state, deps, out, edit=True)
            return True
    elif inp.kind is InputKind.TEXT:
        wish = parse_time_wish(inp.text, deps.local_now())
        if wish is None and inp.understood is not None:
            wish = inp.understood.wish
    if wish is None:
        return False
    state.time_wish, state.page = wish, 0
    state.go(Step.SLOT)
    await _ask(state, deps, out, edit=inp.kind is InputKind.BUTTON)
    return True


async def _on_slot(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is InputKind.TEXT:
        return await _on_time(state, inp, deps, out)
    if inp.kind is not InputKind.BUTTON:
        return False
    if inp.text == "more":
        state.page += 1
        await _ask(state, deps, out, edit=True)
        return True
    if inp.text == "retime":
        state.go(Step.TIME)
        await _ask(state, deps, out, edit=True)
        return True
    picked = kb.parse_slot_action(inp.text)
    service = _service(state, deps)
    if picked is None or picked[0] not in service.masters:
        return False
    master_id, start = picked
    state.master_id = master_id
    state.start = start.isoformat()
    state.end = (start + dt.timedelta(minutes=visit_minutes(service, state.addon_ids))).isoformat()
    state.go(_after_slot(state))
    await _ask(state, deps, out, edit=True)
    return True


async def _on_contact(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    raw = inp.phone if inp.kind is InputKind.CONTACT else inp.text
    if inp.kind not in (InputKind.CONTACT, InputKind.TEXT):
        return False
    phone = normalize_phone(raw)
    if phone is None:
        return False
    state.phone = phone
    if inp.kind is InputKind.CONTACT and inp.name and not state.name:
        state.channel_name = inp.name
    state.go(_after_slot(state))
    await _ask(state, deps, out)
    return True


async def _on_name(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is InputKind.BUTTON and inp.text == "name:me" and state.channel_name:
        name = parse_name(state.channel_name) or state.channel_name[:40]
    elif inp.kind is InputKind.TEXT:
        name = parse_name(inp.text)
    else:
        return False
    if name is None:
        return False
    state.name = name
    state.go(Step.SUMMARY)
    await _ask(state, deps, out, edit=inp.kind is InputKind.BUTTON)
    return True


async def _on_summary(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is not InputKind.BUTTON or inp.text != "confirm":
        return False
    if not (state.service_id and state.master_id and state.slot_start and state.slot_end):
        state.step = Step.SERVICE
        await _ask(state, deps, out)
        return True
    if not state.lead_open and state.moving is None:
        _open_lead(state, out)
    out.effects.append(SaveContact(name=state.name or "", phone=state.phone or ""))
    out.effects.append(
        Book(
            state.service_id,
            tuple(state.addon_ids),
            state.master_id,
            state.slot_start,
            state.slot_end,
            replaces=state.moving,
        )
    )
    return True


async def _on_done(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is InputKind.BUTTON and inp.text == "again":
        state.reset_booking()
        await _begin(state, deps, out)
        return True
    if inp.kind is InputKind.TEXT and match_service(inp.text, deps.config.services):
        state.reset_booking()
        state.step = Step.SERVICE
        return await _on_service(state, inp, deps, out)
    out.replies.append(Reply(deps.texts("done_hint"), kb.after_booking(deps.texts)))
    return True


async def _on_forget(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is not InputKind.BUTTON or inp.text not in ("forget:yes", "forget:no"):
        return False
    if inp.text == "forget:no":
        state.back()
        out.replies.append(Reply(deps.texts("forget_kept"), edit=True))
        await _ask(state, deps, out)
        return True
    out.effects.append(Forget())
    fresh = DialogState(source=state.source, campaign=state.campaign)
    state.__dict__.update(fresh.__dict__)
    return True


# --- questions ------------------------------------------------------------------------------


async def _begin(state: DialogState, deps: Deps, out: Outcome) -> None:
    """Start a booking: consent first if we don't have it, then the first question."""
    if state.consented:
        _open_lead(state, out)
        state.step = Step.SERVICE
    else:
        state.step = Step.CONSENT
    await _ask(state, deps, out)


async def _ask(state: DialogState, deps: Deps, out: Outcome, edit: bool = False) -> None:
    """Put the current step's question (again)."""
    t, config = deps.texts, deps.config
    match state.step:
        case Step.GREETING | Step.CONSENT:
            state.step = Step.CONSENT
            out.replies.append(
                Reply(
                    t("consent", policy=config.business.policy_url),
                    kb.consent(t, config.business.policy_url),
                )
            )
        case Step.SERVICE:
            out.replies.append(Reply(t("ask_service"), kb.services(t, config), edit=edit))
        case Step.ADDON:
            service = _service(state, deps)
            out.replies.append(
                Reply(t("ask_addon", service=service.title), kb.addons(t, service), edit=edit)
            )
        case Step.TIME:
            out.replies.append(Reply(t("ask_time"), kb.time_choices(t), edit=edit))
        case Step.PICK_DAY:
            days = [deps.local_now().date() + dt.timedelta(days=i) for i in range(2, 9)]
            out.replies.append(Reply(t("ask_day"), kb.days(t, days), edit=edit))
        case Step.SLOT:
            out.replies.append(await _slots_reply(state, deps, edit))
        case Step.CONTACT:
            out.replies.append(Reply(t("ask_phone"), ask_contact=True))
        case Step.NAME:
            out.replies.append(Reply(t("ask_name"), kb.name(t, state.channel_name)))
        case Step.SUMMARY:
            out.replies.append(Reply(_summary_text(state, deps), kb.summary(t), edit=edit))
        case Step.DONE:
            out.replies.append(Reply(t("done_hint"), kb.after_booking(t)))
        case Step.FORGET:
            out.replies.append(Reply(t("forget_confirm"), kb.forget(t)))


async def _slots_reply(state: DialogState, deps: Deps, edit: bool) -> Reply:
    t, config = deps.texts, deps.config
    wish = state.time_wish
    today = deps.local_now().date()
    if wish is None:
        wish = TimeWish(today, today + dt.timedelta(days=config.booking.horizon_days))
    per_page = config.booking.slots_per_page
    page = await deps.slots.find(
        _service(state, deps).id,
        state.addon_ids,
        wish.day_from,
        wish.day_to,
        wish.after,
        wish.before,
        wish.exact,
        state.page * per_page,
        per_page,
    )
    if not page.matches_wish:
        # Nothing fit: from now on page through the nearest slots instead.
        state.time_wish = TimeWish(wish.day_from, today + dt.timedelta(config.booking.horizon_days))
        state.page = 0
    if not page.slots:
        return Reply(t("no_slots", phone=config.business.phone), kb.no_slots(t), edit=edit)
    header = t("slots") if page.matches_wish else t("slots_nearest")
    labels = [
        t(
            "slot_label",
            when=t.short_day(s.start.astimezone(config.tz).date()),
            time=f"{s.start.astimezone(config.tz):%H:%M}",
            master=_master_name(s.master_id, deps),
        )
        for s in page.slots
    ]
    return Reply(header, kb.slots(t, page.slots, labels, page.has_more), edit=edit)


def _missed(state: DialogState, deps: Deps, out: Outcome) -> None:
    state.misses += 1
    if state.misses >= MISSES_BEFORE_HANDOFF and state.consented:
        state.misses = 0
        _hand_off(state, "not_understood", deps, out)
        return
    text = deps.texts(f"not_understood.{_miss_key(state.step)}")
    out.replies.append(Reply(text, ask_contact=state.step == Step.CONTACT))


def _miss_key(step: str) -> str:
    return (
        step
        if step in (Step.CONSENT, Step.SERVICE, Step.TIME, Step.CONTACT, Step.NAME)
        else "other"
    )


def _hand_off(state: DialogState, reason: str, deps: Deps, out: Outcome) -> None:
    if not state.consented:
        out.replies.append(
            Reply(deps.texts("handoff_no_consent", phone=deps.config.business.phone))
        )
        return
    if not state.lead_open:
        _open_lead(state, out)
    out.effects.append(HandOff(reason))
    out.replies.append(Reply(deps.texts(f"handoff.{reason}")))


def _open_lead(state: DialogState, out: Outcome) -> None:
    if not state.lead_open:
        state.lead_open = True
        out.effects.append(OpenLead(state.source, state.campaign))


async def _my_bookings(state: DialogState, deps: Deps, out: Outcome) -> None:
    t = deps.texts
    bookings = await deps.bookings.upcoming() if state.consented else []
    if not bookings:
        out.replies.append(Reply(t("no_bookings"), kb.after_booking(t)))
        return
    lines = [_booking_line(b, deps) for b in bookings]
    out.replies.append(
        Reply(
            t("my_bookings") + "\n" + "\n".join(lines),
            kb.cancel_buttons(t, bookings, deps.config.tz),
        )
    )


# --- helpers --------------------------------------------------------------------------------


def _service(state: DialogState, deps: Deps) -> Service:
    service = deps.config.service(state.service_id or "")
    if service is None:  # the config changed under a stored dialogue
        raise LookupError(f"service '{state.service_id}' is no longer in the config")
    return service


def _after_addons(state: DialogState) -> str:
    return Step.SLOT if state.wish else Step.TIME


def _after_slot(state: DialogState) -> str:
    if not state.phone:
        return Step.CONTACT
    if not state.name:
        return Step.NAME
    return Step.SUMMARY


def _wish_from_button(action: str, today: dt.date) -> TimeWish | None:
    match action.split(":"):
        case ["when", "today"]:
            return TimeWish(today, today)
        case ["when", "tomorrow"]:
            tomorrow = today + dt.timedelta(days=1)
            return TimeWish(tomorrow, tomorrow)
        case ["when", "week"]:
            return TimeWish(today, today + dt.timedelta(days=6 - today.weekday()))
        case ["day", iso]:
            try:
                day = dt.date.fromisoformat(iso)
            except ValueError:
                return None
            return TimeWish(day, day)
    return None


def _master_name(master_id: str, deps: Deps) -> str:
    master = deps.config.master(master_id)
    return master.name if master else master_id


def _summary_text(state: DialogState, deps: Deps) -> str:
    t, config = deps.texts, deps.config
    service = _service(state, deps)
    addons = [a for a in service.addons if a.id in state.addon_ids]
    price = service.price + sum(a.price for a in addons)
    start = state.slot_start
    assert start is not None
    return t(
        "summary",
        service=service.title + "".join(f" + {a.title}" for a in addons),
        master=_master_name(state.master_id or "", deps),
        when=t.moment(start.astimezone(config.tz)),
        price=t.money(int(price * 100)),
        name=state.name or "",
        phone=state.phone or "",
        address=config.business.address,
    )


def _booking_line(info, deps: Deps) -> str:
    t, config = deps.texts, deps.config
    service = config.service(info.service_id)
    return t(
        "booking_line",
        when=t.moment(info.start.astimezone(config.tz)),
        service=service.title if service else info.service_id,
        master=_master_name(info.master_id, deps),
        status=t("status_pending") if info.pending else t("status_confirmed"),
    )


def _booking_text(key: str, info, deps: Deps) -> str:
    t, config = deps.texts, deps.config
    service = config.service(info.service_id)
    return t(
        key,
        when=t.moment(info.start.astimezone(config.tz)),
        service=service.title if service else info.service_id,
        master=_master_name(info.master_id, deps),
        price=t.money(info.price_kop),
        address=config.business.address,
    )
