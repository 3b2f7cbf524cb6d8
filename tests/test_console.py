"""`python -m bot shell` as a user runs it: a subprocess fed stdin lines, its terminal read back.

The terminal shows the dialogue only (log lines go to console.log), in the business's
Russian, and the test booking lands in console.sqlite3, never in the live bot's database.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# consent, manicure, no add-on, this week, the first slot offered → the phone step
TO_PHONE = "1\n1\n3\n3\n1\n"


def shell(folder: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "BUSINESS_CONFIG")}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite://{folder / 'live.sqlite3'}",
        LOG_LEVEL="INFO",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "shell", *args],
        cwd=folder,
        env=env,
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_terminal_shows_the_russian_dialogue_and_no_log_lines(tmp_path):
    done = shell(tmp_path, TO_PHONE)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Приём — чат в терминале.")
    assert "3/3. Оставьте номер телефона" in out
    assert "(поделиться номером: contact +79271234567)" in out
    assert not re.search(r"\blevel=|\bts=\d|\bevent=", out), "a log line in the dialogue"
    for english in ("share a phone", "console chat", "you>", "bot>", "Ctrl-D to quit"):
        assert english not in out
    assert done.stderr == ""  # nothing at WARNING or above on a plain run
    log = (tmp_path / "console.log").read_text(encoding="utf-8")
    assert "event=step" in log and "channel=console" in log


def test_test_bookings_go_to_the_consoles_own_database(tmp_path):
    done = shell(tmp_path, TO_PHONE + "contact +79271234567\nКсения\n")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "live.sqlite3").exists(), "the live bot's database was touched"
    with sqlite3.connect(tmp_path / "console.sqlite3") as db:
        assert db.execute("select count(*) from lead").fetchone()[0] == 1


def test_an_explicit_database_is_honoured(tmp_path):
    own = tmp_path / "mine" / "try.sqlite3"
    done = shell(tmp_path, "1\n", "--database", f"sqlite://{own}")
    assert done.returncode == 0, done.stderr
    assert own.exists() and (own.parent / "console.log").exists()
    assert not (tmp_path / "console.sqlite3").exists()
