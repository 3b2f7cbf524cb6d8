"""The deployment files, checked without a Docker engine: docker-compose.yml parsed as YAML,
the Caddyfile and .env.example read against the settings the code actually has."""

from __future__ import annotations

import re

import pytest

from bot.settings import Settings
from tests.conftest import ROOT

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install -e '.[dev]')")

LONG_RUNNING = {"postgres", "redis", "bot-1", "bot-2", "worker", "caddy"}
INSTANCES = ("bot-1", "bot-2", "worker")
COMPOSE_ONLY = {"DOMAIN", "POSTGRES_PASSWORD"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_services_and_health_checks(compose):
    services = compose["services"]
    assert set(services) == LONG_RUNNING | {"migrate"}
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check["test"], f"{name} has no health check"
    for name in ("bot-1", "bot-2"):
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])
    assert services["migrate"]["command"] == ["python", "-m", "bot", "migrate"]
    assert services["migrate"]["restart"] == "no"


def test_migrations_run_once_before_the_instances(compose):
    for name in INSTANCES:
        service = compose["services"][name]
        env = service["environment"]
        assert env["RUN_MIGRATIONS"] == "false", name
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"]
    for name in ("bot-1", "bot-2"):
        assert compose["services"][name]["environment"]["TELEGRAM_MODE"] == "webhook"


def test_volumes_are_declared_and_used(compose):
    declared = set(compose["volumes"])
    assert declared >= {"pgdata", "redis-data", "caddy-data"}
    used = {
        mount.split(":")[0]
        for service in compose["services"].values()
        for mount in service.get("volumes", [])
    }
    assert declared <= used
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_caddy_proxies_to_both_instances_and_hides_metrics(compose):
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(r"reverse_proxy bot-1:8080 bot-2:8080", caddyfile)
    assert "/metrics" in caddyfile and "respond @internal 404" in caddyfile
    caddy = compose["services"]["caddy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert {"80:80", "443:443"} <= set(caddy["ports"])


def test_env_names_are_real_settings(compose):
    """A misspelt variable would be silently ignored by pydantic-settings."""
    fields = {name.upper() for name in Settings.model_fields}
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    assert documented - COMPOSE_ONLY <= fields
    assert fields <= documented, "every setting is documented in .env.example"
    for name in INSTANCES:
        assert set(compose["services"][name]["environment"]) <= fields
