"""What goes in and out of a scenario: channel-neutral inputs, replies and effects."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from enum import StrEnum

from scenarios.actions import Action, unpack
from scenarios.parsing import TimeWish


class InputKind(StrEnum):
    TEXT = "text"
    BUTTON = "button"  # `text` holds the button's action
    CONTACT = "contact"  # `phone` holds the shared number
    COMMAND = "command"  # `text` is the command name without "/", `arg` its argument
    MEDIA = "media"  # a sticker, photo, voice, location…: `text` names the kind
    EVENT = "event"  # the result of an effect, fed back by the runner


@dataclass(frozen=True)
class Input:
    kind: InputKind
    text: str = ""
    arg: str = ""
    phone: str = ""
    name: str = ""  # the person's display name in the channel, when it has one
    file_id: str = ""  # a photo or document, for relaying to staff
    understood: Understanding | None = None  # free text read by an Understander (runner)

    @functools.cached_property
    def action(self) -> Action | None:
        """The button pressed, validated; None for other inputs and malformed payloads.
        Read once: a step asks several times (global buttons, then the step's own)."""
        return unpack(self.text) if self.kind is InputKind.BUTTON else None

    @classmethod
    def button(cls, action: str) -> Input:
        return cls(InputKind.BUTTON, action)

    @classmethod
    def command(cls, name: str, arg: str = "") -> Input:
        return cls(InputKind.COMMAND, name, arg)

    @classmethod
    def event(cls, name: str, arg: str = "") -> Input:
        return cls(InputKind.EVENT, name, arg)


class Intent(StrEnum):
    BOOKING = "booking"
    PRICE = "price_question"
    COMPLAINT = "complaint"
    OTHER = "other"


class Guard(StrEnum):
    """Why a message is not answered from the catalog: the scenario refuses or hands off."""

    NONE = ""
    MEDICAL = "medical"  # a diagnosis or treatment question: refuse, offer a specialist
    LEGAL = "legal"  # legal advice: refuse, offer a person
    QUESTION = "question"  # a question the business's knowledge does not answer: hand off


@dataclass(frozen=True)
class Understanding:
    """What one free-text message says, already validated against the catalog.

    Built by the runner (rules, or a model whose output was checked) before the scenario
    runs, so the scenario stays pure: every id here exists, the wish is a real window.
    """

    service_id: str | None = None
    service_choices: tuple[str, ...] = ()  # several services fit («стрижка»): ask which
    addon_ids: tuple[str, ...] = ()
    wish: TimeWish | None = None
    name: str | None = None
    phone: str | None = None  # E.164, read by the rules only (a model never sees phones)
    intent: Intent = Intent.OTHER
    answer: str | None = None  # a FAQ answer grounded in the business's own facts
    guard: Guard = Guard.NONE
    summary: str | None = None  # one line about the dialogue, for the staff card
    warmth: str | None = None  # hot | warm | cold, when a model judged it
    by_model: bool = False


@dataclass(frozen=True)
class Button:
    text: str
    action: str = ""  # a short opaque payload (fits Telegram's 64-byte callback data)
    url: str = ""


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    ask_contact: bool = False  # show the channel's share-my-phone control
    edit: bool = False  # may replace the message whose button was pressed


# Effects: what the runner must do in the database. Those with a result feed it back
# to the scenario as an EVENT input named after the effect.


@dataclass(frozen=True)
class RecordConsent:
    policy_version: str


@dataclass(frozen=True)
class OpenLead:
    source: str | None
    campaign: str | None


@dataclass(frozen=True)
class SaveContact:
    name: str
    phone: str


@dataclass(frozen=True)
class Book:
    """Result: EVENT "booked" with the appointment id, or EVENT "slot_taken"."""

    service_id: str
    addon_ids: tuple[str, ...]
    master_id: str
    start: dt.datetime
    end: dt.datetime
    replaces: int | None = None  # a move: this appointment is cancelled once the new one holds


@dataclass(frozen=True)
class ConfirmVisit:
    """The client confirms a visit from its reminder. Result: EVENT "visit_confirmed"."""

    appointment_id: int


@dataclass(frozen=True)
class CancelBooking:
    """Result: EVENT "cancelled" or "cancel_failed" with the appointment id."""

    appointment_id: int


@dataclass(frozen=True)
class JoinWaitlist:
    """Result: EVENT "waitlisted" with the entry id, or "waitlist_refused"."""

    service_id: str
    addon_ids: tuple[str, ...]
    master_id: str | None
    day_from: dt.date
    day_to: dt.date
    after: dt.time | None
    before: dt.time | None


@dataclass(frozen=True)
class TakeWaitlistOffer:
    """Result: EVENT "booked", or "offer_gone" (taken, expired) or "offer_unknown"."""

    offer_id: int


@dataclass(frozen=True)
class QuitWaitlist:
    """Result: EVENT "waitlist_left" or "waitlist_unknown"."""

    entry_id: int


@dataclass(frozen=True)
class HandOff:
    """Result: EVENT "handed_off", or "handoff_unheard" when no staff member can be
    alerted; the reason as its argument."""

    reason: str  # "asked" | "not_understood" | "question"


@dataclass(frozen=True)
class Forget:
    """Erase the client's personal data; anonymous figures stay for the KPIs."""


Effect = (
    RecordConsent
    | OpenLead
    | SaveContact
    | Book
    | ConfirmVisit
    | CancelBooking
    | HandOff
    | Forget
    | JoinWaitlist
    | TakeWaitlistOffer
    | QuitWaitlist
)


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
