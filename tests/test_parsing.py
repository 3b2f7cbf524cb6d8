"""Tables of what clients actually type, and what the parsers must make of it."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from scenarios.matching import match_service, match_services
from scenarios.parsing import TimeWish, normalize_phone, parse_name, parse_time_wish
from scenarios.understanding import navigation

ROOT = Path(__file__).resolve().parent.parent
SERVICES = load_config(ROOT / "examples" / "salon.toml").services

# Wednesday 18 November 2026, 15:20 in Samara.
NOW = dt.datetime(2026, 11, 18, 15, 20, tzinfo=ZoneInfo("Europe/Samara"))


def d(month: int, day: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, day)


def t(spec: str) -> dt.time:
    return dt.time.fromisoformat(spec)


def wish(day_from, day_to=None, after=None, before=None, exact=None) -> TimeWish:
    return TimeWish(
        day_from,
        day_to or day_from,
        after=after and t(after),
        before=before and t(before),
        exact=exact and t(exact),
    )


TODAY, TOMORROW = d(11, 18), d(11, 19)

TIME_WISHES = [
    # days
    ("сегодня", wish(TODAY)),
    ("завтра", wish(TOMORROW)),
    ("послезавтра", wish(d(11, 20))),
    ("ЗАВТРА!!!", wish(TOMORROW)),
    ("завтро", wish(TOMORROW)),
    ("в понедельник", wish(d(11, 23))),
    ("во вторник", wish(d(11, 24))),
    ("в среду", wish(TODAY)),
    ("в четверг", wish(TOMORROW)),
    ("в пятницу", wish(d(11, 20))),
    ("в субботу", wish(d(11, 21))),
    ("в суботу", wish(d(11, 21))),
    ("в воскресенье", wish(d(11, 22))),
    ("в сб", wish(d(11, 21))),
    ("в следующую среду", wish(d(11, 25))),
    ("в ср или чт", wish(TODAY, TOMORROW)),
    ("в эти выходные", wish(d(11, 21), d(11, 22))),
    ("на выходных", wish(d(11, 21), d(11, 22))),
    ("в следующие выходные", wish(d(11, 28), d(11, 29))),
    ("на этой неделе", wish(TODAY, d(11, 22))),
    ("на следующей неделе", wish(d(11, 23), d(11, 29))),
    ("через 3 дня", wish(d(11, 21))),
    ("через два дня", wish(d(11, 20))),
    ("через неделю", wish(d(11, 25))),
    ("через 2 недели", wish(d(12, 2))),
    ("через 2 часа", wish(TODAY, after="17:20")),
    # dates
    ("25.12", wish(d(12, 25))),
    ("25.12.2026", wish(d(12, 25))),
    ("25/12", wish(d(12, 25))),
    ("12/01/2027", wish(d(1, 12, 2027))),
    ("5.01", wish(d(1, 5, 2027))),
    ("1 декабря", wish(d(12, 1))),
    ("3 дек", wish(d(12, 3))),
    ("25 декабря 2026", wish(d(12, 25))),
    ("10 ноября", wish(d(11, 10, 2027))),
    ("5-го", wish(d(12, 5))),
    ("20-го", wish(d(11, 20))),
    ("на 31 число", wish(d(12, 31))),
    ("2026-12-25", wish(d(12, 25))),  # dateparser fallback
    # parts of day, no date: today while still ahead, else tomorrow
    ("утром", wish(TOMORROW, after="09:00", before="12:00")),
    ("днём", wish(TODAY, after="12:00", before="17:00")),
    ("днем", wish(TODAY, after="12:00", before="17:00")),
    ("после обеда", wish(TODAY, after="13:00")),
    ("вечером", wish(TODAY, after="17:00")),
    ("после 5", wish(TODAY, after="17:00")),
    ("после 17", wish(TODAY, after="17:00")),
    ("после 17:30", wish(TODAY, after="17:30")),
    ("до 12", wish(TOMORROW, before="12:00")),
    ("до 10:30", wish(TOMORROW, before="10:30")),
    ("с 10 до 14", wish(TOMORROW, after="10:00", before="14:00")),
    ("с 9:30 до 12", wish(TOMORROW, after="09:30", before="12:00")),
    ("между 12 и 15", wish(TOMORROW, after="12:00", before="15:00")),
    ("с 10 до 2", wish(TOMORROW, after="10:00", before="14:00")),
    ("в 14:30", wish(TOMORROW, exact="14:30")),
    ("14.30", wish(TOMORROW, exact="14:30")),
    ("в 14", wish(TOMORROW, exact="14:00")),
    ("в 16", wish(TODAY, exact="16:00")),
    ("в 9", wish(TOMORROW, exact="09:00")),
    ("в 5 вечера", wish(TODAY, exact="17:00")),
    ("в 10 вечера", wish(TODAY, exact="22:00")),
    ("к 3 часам дня", wish(TOMORROW, exact="15:00")),
    ("в час дня", wish(TOMORROW, exact="13:00")),
    ("в полтретьего", wish(TOMORROW, exact="14:30")),
    ("около 5", wish(TODAY, exact="17:00")),
    ("вечером после 7", wish(TODAY, after="19:00")),
    ("после обеда до 16", wish(TODAY, after="13:00", before="16:00")),
    ("утром до 11", wish(TOMORROW, after="09:00", before="11:00")),
    # date and time together
    ("завтра утром", wish(TOMORROW, after="09:00", before="12:00")),
    ("сегодня вечером", wish(TODAY, after="17:00")),
    ("завтра в 10 утра", wish(TOMORROW, exact="10:00")),
    ("завтра в 7", wish(TOMORROW, exact="19:00")),
    ("утром в 8", wish(TOMORROW, exact="08:00")),
    ("завтра к 11", wish(TOMORROW, exact="11:00")),
    ("в субботу после 5", wish(d(11, 21), after="17:00")),
    ("в пятницу с 12 до 15", wish(d(11, 20), after="12:00", before="15:00")),
    ("в пт в 18:00", wish(d(11, 20), exact="18:00")),
    ("понеделник вечером", wish(d(11, 23), after="17:00")),
    ("вечер пятницы", wish(d(11, 20), after="17:00")),
    ("2 января в 10", wish(d(1, 2, 2027), exact="10:00")),
    ("3 дек в 15", wish(d(12, 3), exact="15:00")),
    ("25.12 в 14:30", wish(d(12, 25), exact="14:30")),
    ("на следующей неделе вечером", wish(d(11, 23), d(11, 29), after="17:00")),
    ("хочу на маникюр в субботу", wish(d(11, 21))),
    ("Можно в четверг, часов в 6?", wish(TOMORROW, exact="18:00")),
    # nothing about time
    ("привет", None),
    ("сколько стоит", None),
    ("хочу на маникюр", None),
    ("на завтрак", None),
    ("в 2026 году", None),
    ("5", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), TIME_WISHES)
def test_parse_time_wish(text: str, expected: TimeWish | None) -> None:
    assert parse_time_wish(text, NOW) == expected


def test_time_wish_table_is_big_enough() -> None:
    assert sum(1 for _, w in TIME_WISHES if w is not None) >= 45


def test_time_alone_late_evening_rolls_to_tomorrow() -> None:
    late = NOW.replace(hour=21, minute=0)
    assert parse_time_wish("вечером", late) == wish(TOMORROW, after="17:00")
    assert parse_time_wish("в 21:30", late) == wish(TODAY, exact="21:30")


def test_average_parse_time(capsys: pytest.CaptureFixture[str]) -> None:
    """Not an assertion: prints the average cost of one call over the table."""
    texts = [text for text, _ in TIME_WISHES]
    parse_time_wish("3 декабря", NOW)  # warm dateparser's lazy loading
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            parse_time_wish(text, NOW)
    average_ms = (time.perf_counter() - start) / (rounds * len(texts)) * 1000
    with capsys.disabled():
        print(f"\nparse_time_wish: {average_ms:.3f} ms per call over {len(texts)} phrasings")


PHONES = [
    ("8 927 123-45-67", "+79271234567"),
    ("+7 (927) 123 45 67", "+79271234567"),
    ("89271234567", "+79271234567"),
    ("79271234567", "+79271234567"),
    ("9271234567", "+79271234567"),
    ("7-927-123-45-67", "+79271234567"),
    ("8(927)1234567", "+79271234567"),
    ("мой номер 8-927-123-45-67", "+79271234567"),
    ("тел: +7-927-123-45-67, звоните после 5", "+79271234567"),
    ("+7 846 200-45-45", "+78462004545"),
    ("8 (846) 200-45-45", "+78462004545"),
    ("8-800-555-35-35", "+78005553535"),
    ("+49 30 1234567", "+49301234567"),
    ("+375 29 123 45 67", "+375291234567"),
    ("+1 202 555 0143", "+12025550143"),
    ("12345", None),
    ("+7 927 123 45", None),
    ("8927123456789", None),
    ("+7 000 000 00 00", None),
    ("привет", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), PHONES)
def test_normalize_phone(text: str, expected: str | None) -> None:
    assert normalize_phone(text) == expected


SERVICE_PHRASES = [
    ("маникюр", "manicure"),
    ("Хочу на маникюр в субботу", "manicure"),
    ("маникур", "manicure"),
    ("ноготочки", "manicure"),
    ("дизайн ногтей", "manicure"),
    ("педекюр", "pedicure"),
    ("ПЕДИКЮР", "pedicure"),
    ("стрижку женскую", "haircut_w"),
    ("женская стрижка", "haircut_w"),
    ("стрижка каре", "haircut_w"),
    ("мужскую", "haircut_m"),
    ("каре", "haircut_w"),
    ("мужская стрижка", "haircut_m"),
    ("мужскую стрижку", "haircut_m"),
    ("фейд", "haircut_m"),
    ("под машинку", "haircut_m"),
    ("оформление бороды", "haircut_m"),
    ("покрасить волосы", "coloring"),
    ("покраска", "coloring"),
    ("окрашивание бровей", "brows"),
    ("бровей", "brows"),
    ("нарастить ресницы", "lashes"),
    ("массаж спины", "massage"),
    ("массажик", "massage"),
    ("укладку", "styling"),
    ("причёску", "styling"),
    ("чистка лица", "facial"),
    ("nails", "manicure"),
    ("привет", None),
    ("сколько стоит", None),
    ("да", None),
    ("нет", None),
    ("спасибо", None),
    ("хочу записаться", None),
    ("на завтра", None),
    ("стоимость", None),
    ("где вы находитесь", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), SERVICE_PHRASES)
def test_match_service(text: str, expected: str | None) -> None:
    assert match_service(text, SERVICES) == expected


# Words that fit several services of the demo salon: the dialogue asks which one.
AMBIGUOUS = [
    ("стрижка", ("haircut_w", "haircut_m")),
    ("Стрижку", ("haircut_w", "haircut_m")),
    ("подстричься", ("haircut_w", "haircut_m")),
    ("хочу подстричься завтра после 5", ("haircut_w", "haircut_m")),
    ("постричься бы", ("haircut_w", "haircut_m")),
    ("хочу на стрижку завтра после 5", ("haircut_w", "haircut_m")),
    ("покрытие гель-лак", ("manicure", "pedicure")),
    ("маникюр и педикюр", ("manicure", "pedicure")),
]


@pytest.mark.parametrize(("text", "expected"), AMBIGUOUS)
def test_a_word_fitting_several_services_names_them_all(text: str, expected: tuple) -> None:
    assert match_services(text, SERVICES) == expected
    assert match_service(text, SERVICES) is None


NAMES = [
    ("ольга", "Ольга"),
    ("ОЛЬГА", "Ольга"),
    ("  Ольга!  ", "Ольга"),
    ("«Оля»", "Оля"),
    ("анна-мария", "Анна-Мария"),
    ("Мария Ивановна", "Мария Ивановна"),
    ("иванова мария петровна", "Иванова Мария Петровна"),
    ("меня зовут ольга", "Ольга"),
    ("я Оля", "Оля"),
    ("Анна, привет", "Анна"),
    ("Оля 💅", "Оля"),
    ("МакДональд", "МакДональд"),
    ("Пётр", "Пётр"),
    ("Ольга 89271234567", None),
    ("https://t.me/olga", None),
    ("@olga", None),
    ("привет", None),
    ("да", None),
    ("раз два три четыре", None),
    ("я" * 41, None),
    ("о", None),
    ("...", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), NAMES)
def test_parse_name(text: str, expected: str | None) -> None:
    assert parse_name(text) == expected


NAVIGATION = [
    ("назад", "back"),
    ("НАЗАД!!!", "back"),
    ("◂ Назад", "back"),  # the button's label, typed back by Telegram's reply keyboard
    ("вернуться назад", "back"),
    ("◂ Back", "back"),
    ("заново", "restart"),
    ("Заново, пожалуйста", "restart"),
    ("Начать заново", "restart"),
    ("начнём сначала", "restart"),
    ("Start over", "restart"),
    ("отмена", "cancel"),
    ("Отмена.", "cancel"),
    ("отменить запись", "cancel"),
    ("назад в прошлое", None),
    ("заново покрасить волосы", None),
    ("маникюр", None),
    ("", None),
]


@pytest.mark.parametrize(("phrase", "expected"), NAVIGATION)
def test_navigation_words(phrase: str, expected: str | None) -> None:
    assert navigation(phrase) == expected
