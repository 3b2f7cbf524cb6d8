"""The client's booking conversation: (state, input) → replies and effects.

Pure: no network, no database of its own. It reads through the ports in `Deps` and
asks the runner for changes with effects; results come back as EVENT inputs. The steps
themselves are declared in `scenarios.steps`; here is what works at any step.
"""

from __future__ import annotations

import datetime as dt
import logging

from scenarios import keyboards as kb
from scenarios import waitlist
from scenarios.actions import (
    Action,
    CancelVisit,
    ConfirmVisitTap,
    MoveVisit,
    RetryHold,
    TakeOffer,
    Tap,
    log_kind,
)
from scenarios.deeplink import parse_start_payload
from scenarios.parsing import TimeWish
from scenarios.ports import Deps
from scenarios.state import DialogState, Step
from scenarios.steps import (
    answer,
    ask,
    begin,
    miss_hint,
    open_lead,
    take_request,
)
from scenarios.types import (
    Book,
    CancelBooking,
    ConfirmVisit,
    Guard,
    HandOff,
    Input,
    InputKind,
    Outcome,
    Reply,
    Understanding,
)
from scenarios.understanding import navigation
from scenarios.views import booking_line, booking_text

MISSES_BEFORE_HANDOFF = 2
log = logging.getLogger(__name__)


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
        await ask(state, deps, out)
    elif inp.kind is InputKind.BUTTON and (action := inp.action) is None:
        _forged(state, inp, deps, out)
    elif inp.kind is InputKind.BUTTON and await _global_button(state, action, deps, out):
        pass
    elif inp.kind is InputKind.TEXT and (word := navigation(inp.text)):
        await _navigate(state, word, deps, out)
    else:
        await _step(state, inp, deps, out)
    return out


async def ask_again(state: DialogState, deps: Deps) -> Outcome:
    """The current step's question, put again (an answer that may never have left)."""
    out = Outcome()
    await ask(state, deps, out)
    return out


# --- commands, buttons and words that work at any step --------------------------------------


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
            await begin(state, deps, out)
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
            await ask(state, deps, out)


async def _navigate(state: DialogState, word: str, deps: Deps, out: Outcome) -> None:
    """«назад», «заново», «отмена» typed: the same as the buttons, never a miss. After a
    booking «отмена» shows the bookings, each with its cancel button; asked whether to
    erase the data, any of them keeps everything."""
    if word == "cancel" and state.step == Step.DONE:
        await _my_bookings(state, deps, out)
        return
    back = word == "back" or state.step == Step.FORGET
    await _global_button(state, Tap.BACK if back else Tap.RESTART, deps, out)


def _forged(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> None:
    """A payload no button of ours carries (forged, or from a build long gone): the step's
    «please use the buttons» hint, and nothing else. Not counted as the client's miss."""
    kind, size = log_kind(inp.text), len(inp.text)
    log.warning("event=bad_action kind=%r size=%d step=%s", kind, size, state.step)
    out.replies.append(miss_hint(state, deps))


async def _global_button(state: DialogState, action: Action, deps: Deps, out: Outcome) -> bool:
    """Handle buttons that mean the same at any step; False when the step must decide."""
    if waitlist.on_button(state, action, deps, out):
        return True
    match action:
        case Tap.BACK:
            state.back()
            state.misses = 0
            await ask(state, deps, out, edit=True)
        case Tap.RESTART:
            state.reset_booking()
            await begin(state, deps, out)
        case Tap.HUMAN:
            _hand_off(state, "asked", deps, out)
        case Tap.MY:
            await _my_bookings(state, deps, out)
        case CancelVisit(appointment_id):
            if await deps.bookings.get(appointment_id) is None:
                out.replies.append(Reply(deps.texts("cancel_unknown")))
            else:
                out.effects.append(CancelBooking(appointment_id))
        case ConfirmVisitTap(appointment_id):
            out.effects.append(ConfirmVisit(appointment_id))
        case MoveVisit(appointment_id):
            await _start_move(state, appointment_id, deps, out)
        case TakeOffer():
            await _take_offer(state, action, deps, out)
        case RetryHold(appointment_id):
            await _retry_hold(state, appointment_id, deps, out)
        case Tap.RESUME:
            await ask(state, deps, out)
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
    await ask(state, deps, out)


async def _take_offer(state: DialogState, offer: TakeOffer, deps: Deps, out: Outcome) -> None:
    """A one-tap alternative for a visit a schedule change displaced: book it as a move (the
    booking re-checks the slot; if it is gone, the picker shows the nearest others)."""
    info = await deps.bookings.get(offer.appointment_id)
    service = deps.config.service(info.service_id) if info else None
    if info is None or service is None:
        out.replies.append(Reply(deps.texts("cancel_unknown")))
        return
    minutes = service.duration + sum(a.duration for a in service.addons if a.id in info.addon_ids)
    state.reset_booking()
    state.service_id, state.addon_ids = info.service_id, list(info.addon_ids)
    end = offer.start + dt.timedelta(minutes=minutes)
    state.moving, state.master_id = offer.appointment_id, offer.master_id
    state.start, state.end = offer.start.isoformat(), end.isoformat()
    out.effects.append(
        Book(
            info.service_id,
            info.addon_ids,
            offer.master_id,
            offer.start,
            end,
            replaces=offer.appointment_id,
        )
    )


async def _retry_hold(state: DialogState, appointment_id: int, deps: Deps, out: Outcome) -> None:
    """«Попробовать снова» after an unpaid hold ran out: the same slot booked afresh (the
    booking re-checks it; if it is gone meanwhile, the picker shows the nearest others)."""
    info = await deps.bookings.get(appointment_id)
    service = deps.config.service(info.service_id) if info else None
    if info is None or service is None:
        out.replies.append(Reply(deps.texts("cancel_unknown")))
        return
    minutes = service.duration + sum(a.duration for a in service.addons if a.id in info.addon_ids)
    end = info.start + dt.timedelta(minutes=minutes)
    state.reset_booking()
    state.service_id, state.addon_ids = info.service_id, list(info.addon_ids)
    state.master_id, state.start, state.end = (
        info.master_id,
        info.start.isoformat(),
        end.isoformat(),
    )
    out.effects.append(Book(info.service_id, info.addon_ids, info.master_id, info.start, end))


async def _event(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> None:
    if inp.text in waitlist.EVENTS:
        waitlist.on_event(state, inp, deps, out)
        return
    match inp.text:
        case "booked":
            info = await deps.bookings.get(int(inp.arg))
            if info is not None:
                key = "moved" if state.moving else "prebooked" if info.pending else "booked"
                out.replies.append(
                    Reply(booking_text(key, info, deps), kb.after_booking(deps.texts))
                )
            state.reset_booking()
            state.step = Step.DONE
            state.lead_open = False
        case "held":
            info = await deps.bookings.get(int(inp.arg))
            if info is not None:
                out.replies.append(Reply(booking_text("payments.held", info, deps)))
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
            await ask(state, deps, out)
        case "cancelled":
            out.replies.append(Reply(deps.texts("cancelled"), kb.after_booking(deps.texts)))
        case "cancel_failed":
            out.replies.append(Reply(deps.texts("cancel_unknown")))
        case "forgotten":
            out.replies.append(Reply(deps.texts("forgotten")))
        case "handed_off" | "handoff_unheard":
            out.replies.append(Reply(_handed_off(inp, deps)))
        case "visit_confirmed":
            out.replies.append(Reply(deps.texts("visit_confirmed"), kb.after_booking(deps.texts)))


# --- the step's own answer ------------------------------------------------------------------


async def _step(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> None:
    if inp.understood is not None and await _on_understood(state, inp.understood, deps, out):
        state.misses = 0
        return
    if await answer(state, inp, deps, out):
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
        await ask(state, deps, out)
        return True
    if u.answer:
        out.replies.append(Reply(u.answer))
        await ask(state, deps, out)
        return True
    if u.guard is Guard.QUESTION:
        _hand_off(state, "question", deps, out)
        return True
    choices = u.service_choices or ((u.service_id,) if u.service_id else ())
    if not choices or state.step not in _REQUEST_STEPS:
        return False
    if state.step == Step.DONE:
        state.reset_booking()
        state.step = Step.SERVICE
    if u.name and not state.name:
        state.name = u.name
    if u.phone and not state.phone:
        state.phone = u.phone
    return await take_request(state, choices, u.addon_ids, u.wish, deps, out)


def _missed(state: DialogState, deps: Deps, out: Outcome) -> None:
    state.misses += 1
    if state.misses >= MISSES_BEFORE_HANDOFF and state.consented:
        state.misses = 0
        _hand_off(state, "not_understood", deps, out)
        return
    out.replies.append(miss_hint(state, deps))


def _hand_off(state: DialogState, reason: str, deps: Deps, out: Outcome) -> None:
    if not state.consented:
        out.replies.append(
            Reply(deps.texts("handoff_no_consent", phone=deps.config.business.phone))
        )
        return
    open_lead(state, out)
    out.effects.append(HandOff(reason))  # the reply comes with its result: was anyone told?


def _handed_off(inp: Input, deps: Deps) -> str:
    t = deps.texts
    if inp.text == "handoff_unheard":  # no staff to alert: a phone number beats a promise
        return t("dialog.handoff_unheard", phone=deps.config.business.phone)
    return t("ai.handoff_question") if inp.arg == "question" else t(f"handoff.{inp.arg}")


async def _my_bookings(state: DialogState, deps: Deps, out: Outcome) -> None:
    t = deps.texts
    bookings = await deps.bookings.upcoming() if state.consented else []
    if not bookings:
        out.replies.append(Reply(t("no_bookings"), kb.after_booking(t)))
        return
    lines = [booking_line(b, deps) for b in bookings]
    out.replies.append(
        Reply(
            t("my_bookings") + "\n" + "\n".join(lines),
            kb.cancel_buttons(t, bookings, deps.config.tz),
        )
    )
