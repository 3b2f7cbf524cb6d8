"""MAX over HTTPS signed by a CA the system does not trust (as MAX's Russian root CA is not
on many systems): refused with a clear reason without MAX_CA_BUNDLE, trusted with it.
The CA and the server's certificate are generated here with the openssl command."""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from bot.delivery.outbox import RetryLater
from bot.settings import Settings, SettingsError, check_channels
from handlers.max import MaxApi
from tests.fakes.max_api import TOKEN, FakeMaxApi

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """ca.pem (a root CA) and server.pem/server.key for 127.0.0.1, signed by it."""
    d = tmp_path_factory.mktemp("pki")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Test Russian Trusted Root CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        cwd=d,
    )  # fmt: skip
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "ext.cnf",
        cwd=d,
    )  # fmt: skip
    return d


@contextlib.asynccontextmanager
async def https_max(pki: Path):
    """The fake MAX Bot API served over TLS with the CA-signed certificate."""
    api = FakeMaxApi()
    app = web.Application()
    api.routes(app)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki / "server.pem", pki / "server.key")
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
    try:
        yield api, f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_without_the_bundle_the_call_fails_with_a_clear_error(pki):
    async with https_max(pki) as (api, url):
        client = MaxApi(url, TOKEN)
        try:
            with pytest.raises(RetryLater, match="MAX_CA_BUNDLE") as refused:
                await client.send("4242", {"text": "Здравствуйте"})
        finally:
            await client.close()
    assert "certificate" in str(refused.value) and api.sent == []


async def test_with_the_bundle_the_call_succeeds(pki):
    async with https_max(pki) as (api, url):
        client = MaxApi(url, TOKEN, ca_bundle=str(pki / "ca.pem"))
        try:
            mid = await client.send("4242", {"text": "Здравствуйте"})
        finally:
            await client.close()
    assert mid.startswith("mid.") and api.sent == [("4242", {"text": "Здравствуйте"})]


def test_the_default_url_is_the_current_host_and_a_missing_bundle_is_refused(tmp_path):
    assert Settings.model_fields["max_api_url"].default == "https://platform-api2.max.ru"
    missing = Settings(max_ca_bundle=str(tmp_path / "russian_trusted_root_ca.pem"))
    with pytest.raises(SettingsError, match=r"^MAX_CA_BUNDLE: no such file"):
        check_channels(missing)
