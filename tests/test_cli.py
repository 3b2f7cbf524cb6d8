"""`python -m bot`: clear one-line errors for missing or invalid settings and config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run_cli(
    *args: str, tmp_path: Path, input_text: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "BUSINESS_CONFIG")}
    clean.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        input=input_text,
    )


def test_missing_token_says_what_to_set_and_offers_the_shell(tmp_path):
    result = run_cli(tmp_path=tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr
    assert "python -m bot shell" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_config_is_refused_with_key_path_and_reason(tmp_path):
    broken = (ROOT / "examples" / "salon.toml").read_text(encoding="utf-8")
    broken = broken.replace('timezone = "Europe/Samara"', 'timezone = "Europe/Samarra"')
    broken = broken.replace("duration = 60\nprice = 1500", "duration = 62\nprice = 1500")
    path = tmp_path / "broken.toml"
    path.write_text(broken, encoding="utf-8")
    result = run_cli("check", tmp_path=tmp_path, BUSINESS_CONFIG=str(path))
    assert result.returncode == 2
    assert "business.timezone: unknown IANA timezone 'Europe/Samarra'" in result.stderr
    assert "services[0].duration: must be a multiple of 5 minutes" in result.stderr


def test_unknown_master_in_a_service_is_named(tmp_path):
    text = (ROOT / "examples" / "salon.toml").read_text(encoding="utf-8")
    path = tmp_path / "c.toml"
    path.write_text(text.replace('masters = ["olga"]', 'masters = ["olya"]', 1), "utf-8")
    result = run_cli("check", tmp_path=tmp_path, BUSINESS_CONFIG=str(path))
    assert result.returncode == 2
    assert "unknown master 'olya'" in result.stderr


def test_links_print_a_deep_link_per_source_and_campaign(tmp_path):
    result = run_cli("links", "--bot", "lisa_salon_bot", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Instagram: https://t.me/lisa_salon_bot?start=src-instagram\n" in result.stdout
    assert "https://t.me/lisa_salon_bot?start=src-instagram_cmp-spring" in result.stdout


def test_shell_books_in_the_terminal(tmp_path):
    script = "1\n1\n2\n"  # consent, first service (manicure), first add-on
    result = run_cli("shell", tmp_path=tmp_path, input_text=script)
    assert result.returncode == 0, result.stderr
    assert "Какая услуга" in result.stdout
    assert "Когда вам удобно" in result.stdout
