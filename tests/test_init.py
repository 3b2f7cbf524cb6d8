"""`python -m bot init` as a real subprocess fed stdin lines, and the example configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from tests.conftest import ROOT
from tests.test_cli import run_cli

ANSWERS = [
    "Клиника «Здоровье»",  # name
    "Омск, ул. Ленина, 1",  # address
    "Omsk",  # not an IANA zone → asked again
    "Asia/Omsk",
    "+7 3812 00-00-00",  # phone
    "https://clinic.example.ru/privacy",
    "",  # Mon–Fri: the default 10:00-20:00
    "10:00-25:00",  # not a time → asked again
    "10:00-15:00",  # Saturday
    "",  # Sunday: off
    "Иванова, Пётр Петров",
    "Приём терапевта",
    "33",  # off the 5-minute grid → asked again
    "30",
    "0",  # a price of zero → asked again
    "2000",
    "ЭКГ",
    "",  # duration: the default 60
    "900,50",
    "",  # no more services
]


def init(tmp_path: Path, answers: list[str], *args: str):
    return run_cli("init", *args, tmp_path=tmp_path, input_text="\n".join(answers) + "\n")


def test_init_writes_a_config_the_bot_loads(tmp_path):
    result = init(tmp_path, ANSWERS, "my.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Не получилось") == 4
    assert "такого часового пояса нет" in result.stdout
    assert "кратное 5" in result.stdout and "больше нуля" in result.stdout
    config = load_config(tmp_path / "my.toml")
    assert (config.business.name, config.business.timezone) == ("Клиника «Здоровье»", "Asia/Omsk")
    assert [m.name for m in config.masters] == ["Иванова", "Пётр Петров"]
    assert [(s.title, s.duration, str(s.price)) for s in config.services] == [
        ("Приём терапевта", 30, "2000"),
        ("ЭКГ", 60, "900.5"),
    ]
    assert config.services[0].masters == [m.id for m in config.masters]
    assert [(i.start_minute, i.end_minute) for i in config.hours.mon] == [(600, 1200)]
    assert config.hours.sun == [] and config.hours.sat[0].end_minute == 900
    assert "BUSINESS_CONFIG=my.toml" in result.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "business.toml"
    target.write_text("mine", encoding="utf-8")
    refused = init(tmp_path, ANSWERS)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert target.read_text(encoding="utf-8") == "mine"
    forced = init(tmp_path, ANSWERS, "--force")
    assert forced.returncode == 0, forced.stderr
    assert load_config(target).business.name == "Клиника «Здоровье»"


def test_input_ending_early_writes_nothing(tmp_path):
    result = init(tmp_path, ANSWERS[:5])
    assert result.returncode == 1 and "не записан" in result.stderr
    assert not (tmp_path / "business.toml").exists()


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.toml")), ids=lambda p: p.name)
def test_every_example_config_loads(path):
    config = load_config(path)
    assert config.services and config.masters


def test_there_are_examples_for_a_clinic_and_a_tutor():
    names = {p.name for p in (ROOT / "examples").glob("*.toml")}
    assert {"salon.toml", "clinic.toml", "tutor.toml"} <= names
