"""Each step of the booking dialogue declared once: its question, its input handler and
the hint a miss gets. `booking_flow` routes inputs here; what works at any step (commands,
«Назад», «Начать заново») stays there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.booking.slots import visit_minutes
from scenarios import keyboards as kb
from scenarios.actions import PickAddon, PickService, PickSlot, Tap
from scenarios.matching import match_services
from scenarios.parsing import TimeWish, normalize_phone, parse_name, parse_time_wish
from scenarios.ports import Deps
from scenarios.state import DialogState, Step
from scenarios.types import (
    Book,
    Forget,
    Input,
    InputKind,
    OpenLead,
    Outcome,
    RecordConsent,
    Reply,
    SaveContact,
)
from scenarios.understanding import DECLINE, extract_phone, match_addons, rules_understand
from scenarios.views import service_of, slots_reply, summary_text

_AGREE_WORDS = {"согласен", "согласна", "согласен(на)", "agree", "i agree"}

Ask = Callable[[DialogState, Deps, Outcome, bool], Awaitable[None]]
Handler = Callable[[DialogState, Input, Deps, Outcome], Awaitable[bool]]


@dataclass(frozen=True)
class StepSpec:
    ask: Ask  # put the step's question
    on_input: Handler  # True when the input answered it; False is a miss
    miss: str = "other"  # the hint a miss gets: `not_understood.<miss>`


async def ask(state: DialogState, deps: Deps, out: Outcome, edit: bool = False) -> None:
    """Put the current step's question (again)."""
    await STEPS[state.step].ask(state, deps, out, edit)


async def answer(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    return await STEPS[state.step].on_input(state, inp, deps, out)


def miss_hint(state: DialogState, deps: Deps) -> Reply:
    text = deps.texts(f"not_understood.{STEPS[state.step].miss}")
    if state.step == Step.CONTACT:
        return Reply(text, kb.contact(deps.texts), ask_contact=True)
    return Reply(text)


# --- starting, and a request kept from before the consent ----------------------------------


def open_lead(state: DialogState, out: Outcome) -> None:
    if not state.lead_open:
        state.lead_open = True
        out.effects.append(OpenLead(state.source, state.campaign))


async def begin(state: DialogState, deps: Deps, out: Outcome) -> None:
    """Start a booking: consent first if we don't have it, then the first question."""
    if not state.consented:
        state.step = Step.CONSENT
        await ask(state, deps, out)
        return
    open_lead(state, out)
    state.step = Step.SERVICE  # not `go`: «Назад» must never lead back to the consent
    kept = state.choices or ([state.service_id] if state.service_id else [])
    if not (kept and await take_request(state, kept, state.addon_ids, None, deps, out)):
        await ask(state, deps, out)


def keep_request(state: DialogState, text: str, deps: Deps) -> bool:
    """What a request typed before the consent asks for, kept for right after it.

    Only catalog ids and a time window: nothing personal is stored before the consent.
    """
    if extract_phone(text):
        return False
    u = rules_understand(text, deps.config.services, deps.local_now())
    if not (u.service_id or u.service_choices or u.wish):
        return False
    state.choices = list(u.service_choices)
    state.service_id, state.addon_ids = u.service_id, list(u.addon_ids)
    if u.wish is not None:
        state.time_wish = u.wish
    return True


async def take_request(
    state: DialogState,
    choices: Sequence[str],
    addon_ids: Sequence[str],
    wish: TimeWish | None,
    deps: Deps,
    out: Outcome,
    edit: bool = False,
) -> bool:
    """A service (or several to choose from), add-ons and a time wish: the next question."""
    services = [s for s in map(deps.config.service, choices) if s is not None]
    if not services:
        return False
    state.page = 0
    if wish is not None:
        state.time_wish = wish
    if len(services) > 1:
        state.service_id, state.choices = None, [s.id for s in services]
        state.addon_ids = []
        state.go(Step.WHICH)
    else:
        _pick(state, services[0].id, addon_ids, deps)
    await ask(state, deps, out, edit)
    return True


def _pick(state: DialogState, service_id: str, addon_ids: Sequence[str], deps: Deps) -> None:
    state.service_id, state.choices = service_id, []
    service = service_of(state, deps)
    state.addon_ids = [a for a in addon_ids if service.addon(a) is not None]
    wants_addon = service.addons and not state.addon_ids
    state.go(Step.ADDON if wants_addon else after_addons(state))


def after_addons(state: DialogState) -> Step:
    return Step.SLOT if state.wish else Step.TIME


def after_slot(state: DialogState) -> Step:
    if not state.phone:
        return Step.CONTACT
    if not state.name:
        return Step.NAME
    return Step.SUMMARY


# --- input handlers -------------------------------------------------------------------------


async def _on_greeting(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is InputKind.TEXT and not state.consented:
        keep_request(state, inp.text, deps)
    out.replies.append(Reply(deps.texts("greeting", business=deps.config.business.name)))
    await begin(state, deps, out)
    return True


async def _on_consent(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    t, business = deps.texts, deps.config.business
    agreed = inp.action is Tap.CONSENT_YES
    agreed = agreed or inp.text.strip().lower().rstrip("!.") in _AGREE_WORDS
    if inp.action is Tap.CONSENT_NO:
        declined = t("consent_declined", phone=business.phone)
        out.replies.append(Reply(declined, kb.consent(t, business.policy_url)))
        return True
    if not agreed:
        if inp.kind is not InputKind.TEXT or not keep_request(state, inp.text, deps):
            return False
        out.replies.append(Reply(t("dialog.consent_kept"), kb.consent(t, business.policy_url)))
        return True
    state.consented = True
    out.effects.append(RecordConsent(business.policy_version))
    out.replies.append(Reply(t("consent_thanks"), edit=inp.kind is InputKind.BUTTON))
    await begin(state, deps, out)
    return True


async def on_service(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is InputKind.BUTTON:
        if not isinstance(picked := inp.action, PickService):
            return False
        return await take_request(state, [picked.id], (), None, deps, out, edit=True)
    if inp.kind is not InputKind.TEXT:
        return False
    u = rules_understand(inp.text, deps.config.services, deps.local_now())
    choices = u.service_choices or ([u.service_id] if u.service_id else [])
    return await take_request(state, choices, u.addon_ids, u.wish, deps, out)


async def _on_which(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    """One of the services offered, by button or in words («мужскую»); another service
    named in words starts over from it."""
    if inp.kind is InputKind.BUTTON:
        picked = inp.action
        if not isinstance(picked, PickService) or picked.id not in state.choices:
            return False
        _pick(state, picked.id, (), deps)
        await ask(state, deps, out, edit=True)
        return True
    if inp.kind is not InputKind.TEXT:
        return False
    offered = [s for s in deps.config.services if s.id in state.choices]
    narrowed = match_services(inp.text, offered)
    if len(narrowed) == 1:
        _pick(state, narrowed[0], match_addons(inp.text, deps.config.service(narrowed[0])), deps)
        await ask(state, deps, out)
        return True
    return await on_service(state, inp, deps, out)


async def _on_addon(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    service = service_of(state, deps)
    if inp.kind is InputKind.TEXT:
        found = list(match_addons(inp.text, service))
        u = inp.understood
        if not found and u is not None and u.service_id == service.id:
            found = [a for a in u.addon_ids if service.addon(a) is not None]
        if not found and not DECLINE.search(inp.text.lower()):
            return False
        state.addon_ids = found
        state.go(after_addons(state))
        await ask(state, deps, out)
        return True
    match inp.action:
        case PickAddon(addon_id) if service.addon(addon_id) is not None:
            state.addon_ids = [addon_id]
        case Tap.NO_ADDON:
            pass
        case _:
            return False
    state.go(after_addons(state))
    await ask(state, deps, out, edit=True)
    return True


async def _on_time(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    wish, action = None, inp.action
    if action is Tap.PICK_DAY:
        state.go(Step.PICK_DAY)
        await ask(state, deps, out, edit=True)
        return True
    if action is not None:
        wish = kb.wish_from_button(action, deps.local_now().date())
    elif inp.kind is InputKind.TEXT:
        wish = parse_time_wish(inp.text, deps.local_now())
        if wish is None and inp.understood is not None:
            wish = inp.understood.wish
    if wish is None:
        return False
    state.time_wish, state.page = wish, 0
    state.go(Step.SLOT)
    await ask(state, deps, out, edit=inp.kind is InputKind.BUTTON)
    return True


async def _on_slot(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind is InputKind.TEXT:
        return await _on_time(state, inp, deps, out)
    picked = inp.action
    if picked in (Tap.MORE, Tap.RETIME):
        if picked is Tap.MORE:
            state.page += 1
        else:
            state.go(Step.TIME)
        await ask(state, deps, out, edit=True)
        return True
    service = service_of(state, deps)
    if not isinstance(picked, PickSlot) or picked.master_id not in service.masters:
        return False
    start = picked.start
    state.master_id = picked.master_id
    state.start = start.isoformat()
    state.end = (start + dt.timedelta(minutes=visit_minutes(service, state.addon_ids))).isoformat()
    state.go(after_slot(state))
    await ask(state, deps, out, edit=True)
    return True


async def _on_contact(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.kind not in (InputKind.CONTACT, InputKind.TEXT):
        return False
    phone = normalize_phone(inp.phone if inp.kind is InputKind.CONTACT else inp.text)
    if phone is None:
        return False
    state.phone = phone
    if inp.kind is InputKind.CONTACT and inp.name and not state.name:
        state.channel_name = inp.name
    state.go(after_slot(state))
    await ask(state, deps, out)
    return True


async def _on_name(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.action is Tap.NAME_ME and state.channel_name:
        name = parse_name(state.channel_name) or state.channel_name[:40]
    elif inp.kind is InputKind.TEXT:
        name = parse_name(inp.text)
    else:
        return False
    if name is None:
        return False
    state.name = name
    state.go(Step.SUMMARY)
    await ask(state, deps, out, edit=inp.kind is InputKind.BUTTON)
    return True


async def _on_summary(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.action is not Tap.CONFIRM:
        return False
    if not (state.service_id and state.master_id and state.slot_start and state.slot_end):
        state.step = Step.SERVICE
        await ask(state, deps, out)
        return True
    if not state.lead_open and state.moving is None:
        open_lead(state, out)
    contact = [state.name or "", state.phone or ""]
    if contact != state.saved_contact:  # a confirm again after a lost race: written already
        out.effects.append(SaveContact(name=contact[0], phone=contact[1]))
        state.saved_contact = contact
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
    if inp.action is Tap.AGAIN:
        state.reset_booking()
        await begin(state, deps, out)
        return True
    if inp.kind is InputKind.TEXT and match_services(inp.text, deps.config.services):
        state.reset_booking()
        state.step = Step.SERVICE
        return await on_service(state, inp, deps, out)
    out.replies.append(Reply(deps.texts("done_hint"), kb.after_booking(deps.texts)))
    return True


async def _on_forget(state: DialogState, inp: Input, deps: Deps, out: Outcome) -> bool:
    if inp.action not in (Tap.FORGET_YES, Tap.FORGET_NO):
        return False
    if inp.action is Tap.FORGET_NO:
        state.back()
        out.replies.append(Reply(deps.texts("forget_kept"), edit=True))
        await ask(state, deps, out)
        return True
    out.effects.append(Forget())
    fresh = DialogState(source=state.source, campaign=state.campaign)
    state.__dict__.update(fresh.__dict__)
    return True


# --- questions ------------------------------------------------------------------------------


async def _ask_consent(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    state.step = Step.CONSENT
    policy = deps.config.business.policy_url
    out.replies.append(Reply(deps.texts("consent", policy=policy), kb.consent(deps.texts, policy)))


async def _ask_service(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    t = deps.texts
    out.replies.append(Reply(t("ask_service"), kb.services(t, deps.config), edit=edit))


async def _ask_which(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    t = deps.texts
    offered = [s for s in deps.config.services if s.id in state.choices]
    out.replies.append(Reply(t("dialog.ask_which"), kb.which(t, offered), edit=edit))


async def _ask_addon(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    t, service = deps.texts, service_of(state, deps)
    text = t("ask_addon", service=service.title)
    out.replies.append(Reply(text, kb.addons(t, service), edit=edit))


async def _ask_time(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    out.replies.append(Reply(deps.texts("ask_time"), kb.time_choices(deps.texts), edit=edit))


async def _ask_day(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    days = [deps.local_now().date() + dt.timedelta(days=i) for i in range(2, 9)]
    out.replies.append(Reply(deps.texts("ask_day"), kb.days(deps.texts, days), edit=edit))


async def _ask_slot(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    out.replies.append(await slots_reply(state, deps, edit))


async def _ask_contact(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    t = deps.texts
    out.replies.append(Reply(t("ask_phone"), kb.contact(t), ask_contact=True))


async def _ask_name(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    t = deps.texts
    out.replies.append(Reply(t("ask_name"), kb.name(t, state.channel_name)))


async def _ask_summary(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    text = await summary_text(state, deps)
    out.replies.append(Reply(text, kb.summary(deps.texts), edit=edit))


async def _ask_done(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    out.replies.append(Reply(deps.texts("done_hint"), kb.after_booking(deps.texts)))


async def _ask_forget(state: DialogState, deps: Deps, out: Outcome, edit: bool) -> None:
    out.replies.append(Reply(deps.texts("forget_confirm"), kb.forget(deps.texts)))


STEPS: dict[Step, StepSpec] = {
    Step.GREETING: StepSpec(_ask_consent, _on_greeting),
    Step.CONSENT: StepSpec(_ask_consent, _on_consent, miss="consent"),
    Step.SERVICE: StepSpec(_ask_service, on_service, miss="service"),
    Step.WHICH: StepSpec(_ask_which, _on_which),
    Step.ADDON: StepSpec(_ask_addon, _on_addon),
    Step.TIME: StepSpec(_ask_time, _on_time, miss="time"),
    Step.PICK_DAY: StepSpec(_ask_day, _on_time),
    Step.SLOT: StepSpec(_ask_slot, _on_slot),
    Step.CONTACT: StepSpec(_ask_contact, _on_contact, miss="contact"),
    Step.NAME: StepSpec(_ask_name, _on_name, miss="name"),
    Step.SUMMARY: StepSpec(_ask_summary, _on_summary),
    Step.DONE: StepSpec(_ask_done, _on_done),
    Step.FORGET: StepSpec(_ask_forget, _on_forget),
}
assert set(STEPS) == set(Step), "every step is declared"
