"""The waitlist in the dialogue: joining when nothing fit the wish, taking an offered slot,
leaving. The rows themselves are the runner's (bot/booking/waitlist.py): here only what
the client taps and reads."""

from __future__ import annotations

import datetime as dt

from scenarios import keyboards as kb
from scenarios.actions import Action, LeaveWaitlist, TakeSpot, Tap
from scenarios.ports import Deps
from scenarios.state import DialogState, Step, wish_from_dict
from scenarios.steps import miss_hint, open_lead
from scenarios.types import (
    Button,
    Input,
    JoinWaitlist,
    Outcome,
    QuitWaitlist,
    Reply,
    TakeWaitlistOffer,
)
from scenarios.views import can_wait, service_of

EXACT_SLACK = dt.timedelta(hours=1)  # «в 14:30» waits for starts within an hour of it
EVENTS = (
    "waitlisted",
    "waitlist_refused",
    "waitlist_left",
    "waitlist_unknown",
    "offer_gone",
    "offer_unknown",
)


def on_button(state: DialogState, action: Action, deps: Deps, out: Outcome) -> bool:
    """The waitlist's buttons, at any step; False for any other button."""
    match action:
        case Tap.WAIT_JOIN:
            _join(state, deps, out)
        case TakeSpot(offer_id):
            state.moving = None
            out.effects.append(TakeWaitlistOffer(offer_id))
        case LeaveWaitlist(entry_id):
            out.effects.append(QuitWaitlist(entry_id))
        case _:
            return False
    return True


def _join(state: DialogState, deps: Deps, out: Outcome) -> None:
    if not (state.wait_wish and state.service_id and can_wait(state, deps)):
        out.replies.append(miss_hint(state, deps))  # a stale button: the step's own hint
        return
    wish = wish_from_dict(state.wait_wish)
    after, before = wish.after, wish.before
    if wish.exact is not None:
        exact = dt.datetime.combine(wish.day_from, wish.exact)
        after = max(exact - EXACT_SLACK, exact.replace(hour=0, minute=0)).time()
        before = min(exact + EXACT_SLACK, exact.replace(hour=23, minute=59)).time()
    service_of(state, deps)  # the service still exists (else the runner starts afresh)
    open_lead(state, out)
    out.effects.append(
        JoinWaitlist(
            state.service_id,
            tuple(state.addon_ids),
            None,  # the dialogue asks for no master: any who does the service
            wish.day_from,
            wish.day_to,
            after,
            before,
        )
    )


def on_event(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> None:
    """A waitlist effect's result (one of EVENTS)."""
    t = deps.texts
    match inp.text:
        case "waitlisted":
            service = service_of(state, deps)
            text = t("waitlist.joined", service=service.title, days=deps.config.waitlist.entry_days)
            leave = ((Button(t("waitlist.btn_leave"), LeaveWaitlist(int(inp.arg)).pack()),),)
            out.replies.append(Reply(text, leave + kb.after_booking(t)))
            state.reset_booking()
            state.step = Step.DONE
            state.lead_open = False
        case "waitlist_refused":
            out.replies.append(miss_hint(state, deps))
        case "waitlist_left":
            out.replies.append(Reply(t("waitlist.left"), kb.after_booking(t)))
        case "waitlist_unknown":
            out.replies.append(Reply(t("waitlist.unknown"), kb.after_booking(t)))
        case "offer_gone":
            out.replies.append(Reply(t("waitlist.taken"), kb.after_booking(t)))
        case "offer_unknown":
            out.replies.append(Reply(t("waitlist.offer_unknown"), kb.after_booking(t)))
