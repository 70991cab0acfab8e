"""HTTPS out of the box: ``init`` writes a self-signed certificate for this
machine beside the config, ``serve`` answers https with it (cookies Secure),
and a certificate that is missing or does not match its key stops ``serve``
at start with the reason."""
from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import stat
import subprocess
import tomllib
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from cryptography import x509

from callcenter import server, tls
from callcenter.config import ConfigError
from callcenter.features import load_settings
from callcenter.main import main
from tests.config_files import initialised, set_keys
from callcenter.monitoring_tools import prometheus_config
from callcenter.services import Services
from monitoring.metrics import Metrics
from web.app import FEATURES, ROUTES, add_routes, api_middleware
from web.keys import SERVICES
from web import transport


@pytest.fixture
def cfg(tmp_path, capsys) -> Path:
    path = initialised(tmp_path / "cc.toml")
    capsys.readouterr()
    return path


def set_web(cfg: Path, **keys) -> None:
    set_keys(cfg, {key: f'"{value}"' for key, value in keys.items()})


def names_of(cert: Path) -> set[str]:
    san = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    return {str(n) for n in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))


def test_init_writes_a_private_key_and_a_certificate_for_this_machine(cfg):
    config = tomllib.loads(cfg.read_text())["web"]
    assert (config["tls_cert"], config["tls_key"]) == ("cc.crt", "cc.key")   # beside the config file
    cert, key = cfg.parent / "cc.crt", cfg.parent / "cc.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key.read_bytes() and b"PRIVATE" not in cert.read_bytes()
    assert {"127.0.0.1", "::1", "localhost", socket.gethostname()} <= names_of(cert)
    leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    lifetime = leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(days=820) < lifetime <= dt.timedelta(days=825)
    # the pair loads into the server's context, TLS 1.2 at least
    context = tls.server_context(load_settings(cfg))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    # and the repository never takes it in
    ignored = (Path(__file__).resolve().parent.parent / ".gitignore").read_text().splitlines()
    assert {"/callcenter.crt", "/callcenter.key"} <= set(ignored)


def test_the_certificate_names_a_configured_host_but_no_wildcard():
    assert tls.certificate_names("callcenter.store.lan")[0] == "callcenter.store.lan"
    for wildcard in ("0.0.0.0", "::", ""):
        names = tls.certificate_names(wildcard)
        assert wildcard not in names and "localhost" in names
        assert all(not ipaddress.ip_address(n).is_unspecified for n in names if n[0].isdigit())


def test_init_again_keeps_the_certificate_browsers_already_accepted(cfg, capsys):
    cert = (cfg.parent / "cc.crt").read_bytes()
    assert main(["init", "--config", str(cfg), "--force"]) == 0, capsys.readouterr().err
    assert (cfg.parent / "cc.crt").read_bytes() == cert
    (cfg.parent / "cc.key").unlink()   # half a pair: a new one
    assert main(["init", "--config", str(cfg), "--force"]) == 0, capsys.readouterr().err
    assert (cfg.parent / "cc.crt").read_bytes() != cert and (cfg.parent / "cc.key").exists()


async def test_a_server_with_the_certificate_answers_https_with_secure_cookies(cfg, sessions):
    settings = load_settings(cfg)
    app = web.Application(middlewares=[api_middleware])
    app[SERVICES] = Services(settings=settings, metrics=Metrics(), sessions=sessions, features=FEATURES)
    add_routes(app, ROUTES)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await server.open_site(runner, settings, port=0)
        port = runner.addresses[0][1]
        trusting = ssl.create_default_context(cafile=str(cfg.parent / "cc.crt"))  # as a browser that accepted it
        async with aiohttp.ClientSession() as http:
            for host in ("127.0.0.1", "localhost"):
                async with http.get(f"https://{host}:{port}/login", ssl=trusting) as resp:
                    assert resp.status == 200 and "password" in await resp.text()
                    login_cookie = next(v for v in resp.headers.getall("Set-Cookie") if v.startswith("cc_login="))
                    assert "Secure" in login_cookie.split("; ")
            with pytest.raises(aiohttp.ClientError):   # no plain http on the https port
                async with http.get(f"http://127.0.0.1:{port}/login") as resp:
                    await resp.read()
            with pytest.raises(aiohttp.ClientConnectorCertificateError):   # a browser's first-use warning
                async with http.get(f"https://127.0.0.1:{port}/login") as resp:
                    await resp.read()
    finally:
        await runner.cleanup()


def serve(cfg: Path, capsys, monkeypatch) -> tuple[int, str, str, list]:
    started = []

    async def run(settings):
        started.append(settings)

    monkeypatch.setattr("callcenter.server.run", run)
    monkeypatch.setattr("callcenter.cli.admin._on_a_terminal", lambda: True)
    code = main(["serve", "--config", str(cfg)])
    out, err = capsys.readouterr()
    return code, out, err, started


def test_serve_refuses_a_key_that_is_not_the_certificates(cfg, tmp_path, capsys, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    tls.generate_self_signed(other / "x.crt", other / "x.key", ["localhost"])
    set_web(cfg, tls_key=str(other / "x.key"))
    code, out, err, started = serve(cfg, capsys, monkeypatch)
    assert code == 1 and started == [] and "password:" not in out   # no first admin shown, lost above an error
    assert f"tls_key {other / 'x.key'} is not the key of the certificate" in err


@pytest.mark.parametrize("keys, message", [
    ({"tls_cert": "missing.crt"}, "[web] tls_cert: no file at"),
    ({"tls_key": ""}, "tls_cert and tls_key go together"),
    ({"tls_cert": "cc.key"}, "could not be loaded (PEM certificate chain"),
])
def test_serve_refuses_a_certificate_it_cannot_use(cfg, capsys, monkeypatch, keys, message):
    set_web(cfg, **keys)
    code, out, err, started = serve(cfg, capsys, monkeypatch)
    assert code == 1 and started == [] and message in err, err
    assert "password:" not in out


def test_serve_with_a_good_pair_starts_and_names_https(cfg, capsys, monkeypatch):
    code, out, err, started = serve(cfg, capsys, monkeypatch)
    assert code == 0 and len(started) == 1 and tls.scheme(started[0]) == "https"
    assert "Log in at https://127.0.0.1:8080/login" in out   # the first admin is sent to the https panel


def test_https_beyond_this_machine_is_not_warned_about(cfg):
    settings = load_settings(cfg)
    settings.web.host = "0.0.0.0"
    assert transport.plain_http_warning(settings) is None
    settings.web.tls_cert = settings.web.tls_key = ""
    assert "PLAIN HTTP" in transport.plain_http_warning(settings)
    with pytest.raises(ConfigError, match="go together"):
        settings.web.tls_key = "cc.key"
        tls.server_context(settings)


def test_the_managed_prometheus_scrapes_the_https_server(cfg, tmp_path):
    settings = load_settings(cfg)
    (job,) = prometheus_config(settings)["scrape_configs"]
    assert job["scheme"] == "https" and job["static_configs"] == [{"targets": ["127.0.0.1:8080"]}]
    if shutil.which("promtool"):
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(settings)))
        checked = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    settings.web.tls_cert = settings.web.tls_key = ""
    assert "scheme" not in prometheus_config(settings)["scrape_configs"][0]
