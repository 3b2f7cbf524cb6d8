"""The business configuration: one TOML file the owner edits.

Validated at start; an invalid file is refused with the key path and the reason
(`ConfigError`), so an owner who has never programmed can fix it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.coach.script import CoachScript
from bot.payments.rules import Deposits

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GRID_MINUTES = 5
"""Every duration and time in the config is a multiple of this; the booking grid uses it."""


class ConfigError(ValueError):
    """The config file cannot be used; the message names the key and the reason."""


class Interval(BaseModel):
    """A span of local wall-clock time within one day, e.g. 10:00-19:00."""

    model_config = ConfigDict(frozen=True)
    start: dt.time
    end: dt.time

    @property
    def start_minute(self) -> int:
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        return self.end.hour * 60 + self.end.minute


def _parse_intervals(value: object) -> list[Interval]:
    """Accept "10:00-19:00", "10:00-14:00, 15:00-19:00", "" / "off" (a day off) or a list."""
    if isinstance(value, list):
        parts = [str(v) for v in value]
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "off", "closed", "выходной"):
            return []
        parts = [p for p in text.split(",") if p.strip()]
    else:
        raise ValueError("expected a string like '10:00-19:00' or 'off'")
    intervals = []
    for part in parts:
        try:
            start_s, end_s = (s.strip() for s in part.split("-"))
            start, end = dt.time.fromisoformat(start_s), dt.time.fromisoformat(end_s)
        except ValueError as exc:
            raise ValueError(f"'{part.strip()}' is not a time range like '10:00-19:00'") from exc
        if end <= start:
            raise ValueError(f"'{part.strip()}' ends before it starts")
        for t in (start, end):
            if t.minute % GRID_MINUTES:
                raise ValueError(f"{t:%H:%M} is not on a {GRID_MINUTES}-minute grid")
        intervals.append(Interval(start=start, end=end))
    intervals.sort(key=lambda i: i.start)
    for a, b in itertools.pairwise(intervals):
        if b.start < a.end:
            raise ValueError("time ranges overlap")
    return intervals


Intervals = Annotated[list[Interval], BeforeValidator(_parse_intervals)]


def _on_grid(value: int) -> int:
    if value % GRID_MINUTES:
        raise ValueError(f"must be a multiple of {GRID_MINUTES} minutes")
    return value


GridMinutes = Annotated[int, Field(ge=0), AfterValidator(_on_grid)]
Rubles = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeekSchedule(_Strict):
    """Working time per weekday; a missing day is a day off."""

    mon: Intervals = []
    tue: Intervals = []
    wed: Intervals = []
    thu: Intervals = []
    fri: Intervals = []
    sat: Intervals = []
    sun: Intervals = []

    def for_weekday(self, weekday: int) -> list[Interval]:
        return getattr(self, WEEKDAYS[weekday])


class Business(_Strict):
    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    timezone: str
    phone: str = ""
    policy_url: str = Field(min_length=1)
    policy_version: str = "1"
    owners: list[int] = []
    locale: Literal["ru", "en"] = "ru"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone '{value}' (e.g. Europe/Samara)") from exc
        return value


class Booking(_Strict):
    mode: Literal["prebooking", "instant"] = "prebooking"
    buffer_minutes: GridMinutes = 10
    min_lead_minutes: int = Field(default=60, ge=0)
    slot_step_minutes: GridMinutes = 30
    horizon_days: int = Field(default=30, ge=1, le=365)
    slots_per_page: int = Field(default=6, ge=1, le=10)

    @field_validator("slot_step_minutes")
    @classmethod
    def _positive_step(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be positive")
        return value


class Sla(_Strict):
    claim_minutes: int = Field(default=15, gt=0)
    owner_escalation_minutes: int = Field(default=30, gt=0)
    human_reply_minutes: int = Field(default=2, gt=0)
    prebooking_confirm_minutes: int = Field(default=15, gt=0)
    delivery_late_minutes: int = Field(default=15, gt=0)  # staff hear of client messages this late
    callback_minutes: int = Field(default=15, gt=0)  # a missed call or a form is called back


class Reminders(_Strict):
    offsets_hours: list[int] = Field(default_factory=lambda: [24, 2], max_length=4)
    quiet_start: dt.time = dt.time(22, 0)
    quiet_end: dt.time = dt.time(9, 0)


class Followup(_Strict):
    nudge_after_minutes: int = Field(default=60, gt=0)  # working minutes of silence mid-flow


class Leads(_Strict):
    # a person's form or missed call this soon after their open, unbooked lead (any channel,
    # matched by phone) joins that lead instead of opening another; 0: never joined
    dedup_minutes: int = Field(default=60, ge=0)


class StaffSettings(_Strict):
    alerts: Literal["all", "round_robin"] = "all"  # who of the managers gets a lead alert
    group_chat_id: int | None = None  # send alerts to this staff group instead of privately
    # a client displaced by a schedule change who has not answered by then: managers call
    reshuffle_answer_minutes: int = Field(default=120, gt=0)


class Waitlist(_Strict):
    """Clients waiting for a slot that nothing fit (bot/booking/waitlist.py)."""

    enabled: bool = True
    mode: Literal["fifo", "all"] = "fifo"  # one client at a time, or everyone (first tap wins)
    offer_minutes: int = Field(default=30, gt=0)  # an offer holds this long, then the next
    entry_days: int = Field(default=14, gt=0, le=90)  # a place on the list lapses after this


class Reports(_Strict):
    """When the owners get their numbers (business time) and when a drop is an anomaly."""

    summary_at: dt.time = dt.time(20, 0)
    weekly_at: str = Field(
        default="mon 09:00", pattern=r"^(mon|tue|wed|thu|fri|sat|sun) \d{2}:\d{2}$"
    )
    anomaly_threshold_pct: int = Field(default=30, gt=0, lt=100)
    anomaly_min_volume: int = Field(default=20, gt=0)  # fewer events than this: never an anomaly

    @field_validator("weekly_at")
    @classmethod
    def _weekly_time(cls, value: str) -> str:
        dt.time.fromisoformat(value[4:])  # "mon 25:00" → the time's own ValueError
        return value

    @property
    def weekly_day(self) -> int:
        return WEEKDAYS.index(self.weekly_at[:3])

    @property
    def weekly_time(self) -> dt.time:
        return dt.time.fromisoformat(self.weekly_at[4:])


class Addon(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,16}$")
    title: str = Field(min_length=1, max_length=40)
    price: Rubles = Decimal(0)
    duration: GridMinutes = 0


class Service(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,16}$")
    title: str = Field(min_length=1, max_length=40)
    duration: GridMinutes = Field(gt=0)
    price: Rubles
    deposit: Rubles = Decimal(0)
    masters: list[str] = Field(min_length=1)
    synonyms: list[str] = []
    addons: list[Addon] = []

    def addon(self, addon_id: str) -> Addon | None:
        return next((a for a in self.addons if a.id == addon_id), None)


class Master(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,16}$")
    name: str = Field(min_length=1, max_length=40)
    schedule: WeekSchedule | None = None
    days_off: list[dt.date] = []


class Source(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]{1,20}$")
    title: str = Field(min_length=1)
    campaigns: list[str] = []

    @field_validator("campaigns")
    @classmethod
    def _campaign_ids(cls, value: list[str]) -> list[str]:
        for c in value:
            if not c.replace("-", "").isalnum() or not c.isascii() or len(c) > 24:
                raise ValueError(f"campaign '{c}' must be ASCII letters/digits, at most 24")
        return value


class PayPlan(_Strict):
    """A manager's pay: fixed + a bonus per confirmed booking above the monthly plan +
    a percentage of sales above the target (docs/money.md defines bookings and sales)."""

    manager: int  # the manager's Telegram id
    name: str = ""
    fixed: Rubles = Decimal(0)
    plan_bookings: int = Field(default=0, ge=0)
    bonus_per_booking: Rubles = Decimal(0)
    sales_target: Rubles = Decimal(0)
    sales_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)


class BusinessConfig(_Strict):
    business: Business
    hours: WeekSchedule
    days_off: list[dt.date] = []
    booking: Booking = Booking()
    sla: Sla = Sla()
    reminders: Reminders = Reminders()
    staff: StaffSettings = StaffSettings()
    leads: Leads = Leads()
    followup: Followup = Followup()
    reports: Reports = Reports()
    waitlist: Waitlist = Waitlist()
    masters: list[Master] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    sources: list[Source] = []
    payroll: list[PayPlan] = []
    coach: CoachScript = CoachScript()  # the sales script dialogues are reviewed against
    deposits: Deposits = Deposits()

    @model_validator(mode="after")
    def _cross_references(self) -> BusinessConfig:
        master_ids = [m.id for m in self.masters]
        _unique("masters", master_ids)
        _unique("services", [s.id for s in self.services])
        _unique("sources", [s.id for s in self.sources])
        _unique("payroll", [str(p.manager) for p in self.payroll])
        for i, service in enumerate(self.services):
            for master in service.masters:
                if master not in master_ids:
                    raise ValueError(
                        f"services[{i}].masters: unknown master '{master}' "
                        f"(known: {', '.join(master_ids)})"
                    )
            _unique(f"services[{i}].addons", [a.id for a in service.addons])
        self.deposits.check_services([s.id for s in self.services])
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.business.timezone)

    # Plain loops (no generator, no index to keep in step with `model_copy`): several
    # lookups a step, over a handful of items.
    def service(self, service_id: str) -> Service | None:
        for service in self.services:
            if service.id == service_id:
                return service
        return None

    def master(self, master_id: str) -> Master | None:
        for master in self.masters:
            if master.id == master_id:
                return master
        return None

    def master_hours(self, master: Master, day: dt.date) -> list[Interval]:
        """A master's working intervals on a local date: own schedule within business hours."""
        if day in self.days_off or day in master.days_off:
            return []
        business = self.hours.for_weekday(day.weekday())
        if master.schedule is None:
            return list(business)
        return _intersect(master.schedule.for_weekday(day.weekday()), business)


def _unique(where: str, ids: list[str]) -> None:
    seen = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{where}: id '{item}' is used twice")
        seen.add(item)


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    for x in a:
        for y in b:
            start, end = max(x.start, y.start), min(x.end, y.end)
            if start < end:
                out.append(Interval(start=start, end=end))
    return out


def _format_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
        path = path.replace(".[", "[") or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {msg}")
    return "; ".join(lines)


def parse_config(data: dict) -> BusinessConfig:
    try:
        return BusinessConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None


def load_config(path: str | Path) -> BusinessConfig:
    """Read and validate the business config; `ConfigError` names the file, key and reason."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (set BUSINESS_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
