"""The SMTP provider against a tiny SMTP responder on 127.0.0.1 (written here,
bounded in time and size), the HTTP SMS provider against a local aiohttp
gateway, and the [notifications] settings check."""
import asyncio
import base64
import datetime as dt
import email
import ipaddress
import ssl
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from callcenter.config import ConfigError, render_new
from callcenter.features import load_settings as load
from callcenter.notifications.settings import NotificationSettings
from callcenter.notifications.providers import (DeliveryError, HttpSmsProvider, Message, SmtpProvider,
                                                build_providers, check_settings)

LIMIT = 1_000_000


class TinySmtp:
    """Enough of RFC 5321 for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def __init__(self, *, starttls=False, reject_rcpt=False, greet=True, rcpt_answers=(), tls=None, login=None):
        self.starttls, self.reject_rcpt, self.greet = starttls, reject_rcpt, greet
        self.tls, self.login = tls, login   # a server SSLContext: STARTTLS upgrades; (user, password): AUTH PLAIN
        self.rcpt_answers = list(rcpt_answers)  # replies to the first RCPTs ("451 4.7.1 later"), then as usual
        self.commands, self.messages = [], []
        self.stop = asyncio.Event()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.stop.set()
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader, writer):
        try:
            await asyncio.wait_for(self._session(reader, writer), 10)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _session(self, reader, writer):
        if not self.greet:
            await self.stop.wait()
            return
        writer.write(b"220 tiny ESMTP\r\n")
        data, total, lines, secure = False, 0, [], False
        while True:
            line = await reader.readline()
            total += len(line)
            if not line or total > LIMIT:
                return
            if data:
                if line == b".\r\n":
                    data = False
                    self.messages.append(b"".join(lines))
                    lines = []
                    writer.write(b"250 2.0.0 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            command = line.decode("ascii", "replace").strip()
            self.commands.append(command)
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                writer.write(b"250-tiny\r\n" + (b"250-STARTTLS\r\n" if self.starttls and not secure else b"")
                             + (b"250-AUTH PLAIN\r\n" if self.login and secure else b"") + b"250 8BITMIME\r\n")
            elif verb == "STARTTLS" and self.tls is not None and not secure:
                writer.write(b"220 2.0.0 ready\r\n")
                await writer.drain()
                await writer.start_tls(self.tls)
                secure = True
            elif verb == "AUTH" and self.login and secure:
                given = base64.b64decode(command.split(" ")[-1]).split(b"\0")[1:]
                ok = [part.decode() for part in given] == list(self.login)
                writer.write(b"235 2.7.0 ok\r\n" if ok else b"535 5.7.8 authentication failed\r\n")
            elif verb in ("HELO", "MAIL", "RSET", "NOOP"):
                writer.write(b"250 OK\r\n")
            elif verb == "RCPT" and self.rcpt_answers:
                writer.write(self.rcpt_answers.pop(0).encode() + b"\r\n")
            elif verb == "RCPT":
                writer.write(b"550 5.1.1 no such user\r\n" if self.reject_rcpt else b"250 OK\r\n")
            elif verb == "DATA":
                data = True
                writer.write(b"354 go ahead\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"454 4.7.0 not available\r\n")
            await writer.drain()


def smtp_settings(port, **changes):
    values = dict(email_provider="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_from="cc@example.org",
                  smtp_starttls=False, send_timeout=2.0)
    values.update(changes)
    return NotificationSettings(**values)


MAIL = Message(7, "email", "manager@example.org", "Complaint TK-261123-0001 escalated to you",
               "Late delivery · priority high\nशिकायत: the ring was late\n.\nDue 23 Nov 2026 13:30")


async def test_smtp_delivers_the_message_as_written():
    async with TinySmtp() as server:
        await SmtpProvider(smtp_settings(server.port)).send(MAIL)
    commands = [c.upper() for c in server.commands]
    assert [c for c in commands if c.startswith(("MAIL", "RCPT"))] == [
        "MAIL FROM:<CC@EXAMPLE.ORG>", "RCPT TO:<MANAGER@EXAMPLE.ORG>"]
    received = email.message_from_bytes(server.messages[0], policy=email.policy.default)
    assert received["Subject"] == MAIL.subject and received["From"] == "cc@example.org"
    assert received["To"] == "manager@example.org" and received["Message-ID"]
    assert received.get_content_type() == "multipart/alternative"
    plain = received.get_body(("plain",)).get_content()
    assert plain.replace("\r\n", "\n").rstrip("\n") == MAIL.body  # non-ASCII and a lone '.' line survive
    assert "शिकायत: the ring was late" in received.get_body(("html",)).get_content()


async def test_smtp_failures_raise_delivery_errors_without_sending():
    async with TinySmtp(reject_rcpt=True) as server:
        with pytest.raises(DeliveryError, match="550|refused"):
            await SmtpProvider(smtp_settings(server.port)).send(MAIL)
        assert server.messages == []
    async with TinySmtp() as server:  # STARTTLS required but not offered: never sent in clear
        with pytest.raises(DeliveryError, match="STARTTLS"):
            await SmtpProvider(smtp_settings(server.port, smtp_starttls=True)).send(MAIL)
        assert not any(c.upper().startswith("MAIL") for c in server.commands)
    async with TinySmtp(starttls=True) as server:  # offered, but the upgrade is refused
        with pytest.raises(DeliveryError):
            await SmtpProvider(smtp_settings(server.port, smtp_starttls=True)).send(MAIL)
        commands = [c.upper() for c in server.commands]
        assert "STARTTLS" in commands and not any(c.startswith("MAIL") for c in commands)
    async with TinySmtp(greet=False) as server:  # a server that never answers: the timeout ends it
        started = asyncio.get_running_loop().time()
        with pytest.raises(DeliveryError, match="[Tt]imeout|timed out"):
            await SmtpProvider(smtp_settings(server.port, send_timeout=0.5)).send(MAIL)
        assert asyncio.get_running_loop().time() - started < 5
    with pytest.raises(DeliveryError):  # nothing listening
        await SmtpProvider(smtp_settings(1)).send(MAIL)


def tls_pair(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts with a certificate of 127.0.0.1 the client trusts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return server, ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))


async def test_smtp_with_starttls_and_a_login_as_the_readme_configures_it(tmp_path):
    server_tls, client_tls = tls_pair(tmp_path)
    async with TinySmtp(starttls=True, tls=server_tls, login=("callcenter", "s3cret")) as server:
        n = smtp_settings(server.port, smtp_starttls=True, smtp_username="callcenter", smtp_password="s3cret",
                          smtp_from="Swarna Jewels <care@example.in>")
        check_settings(n)      # a sender with a display name is an address
        await SmtpProvider(n, ssl_context=client_tls).send(MAIL)
        verbs = [c.split(" ")[0].upper() for c in server.commands]
        assert verbs[:5] == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL"]
        assert server.commands[4].upper() == "MAIL FROM:<CARE@EXAMPLE.IN>"
        received = email.message_from_bytes(server.messages[0], policy=email.policy.default)
        assert received["From"] == "Swarna Jewels <care@example.in>"
        assert received["Message-ID"].endswith("@example.in>") and ">>" not in received["Message-ID"]
        # a wrong password is the server's setting, not the message's fault: retried, never failed at once
        wrong = smtp_settings(server.port, smtp_starttls=True, smtp_username="callcenter", smtp_password="old",
                              smtp_from="care@example.in")
        with pytest.raises(DeliveryError, match="smtp_username") as refused:
            await SmtpProvider(wrong, ssl_context=client_tls).send(MAIL)
        assert not refused.value.permanent and len(server.messages) == 1
    for smtp_from, says in (("Swarna Jewels", "smtp_from"), ("care@example.in\r\nBcc: x@evil.example", "smtp_from"),
                            ("", "smtp_from")):
        with pytest.raises(ValueError, match=says):
            check_settings(smtp_settings(25, smtp_from=smtp_from))
    with pytest.raises(ValueError, match="smtp_host"):
        check_settings(smtp_settings(25, smtp_host=""))


class Gateway:
    """``status``: the answer (200, 503, "slow"), or a list of answers in turn (the last one repeats)."""

    def __init__(self, status=200):
        self.status, self.requests = status, []

    async def __aenter__(self):
        app = web.Application()
        app.router.add_route("*", "/sms", self.handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        self.url = str(self.server.make_url("/sms"))
        return self

    async def __aexit__(self, *exc):
        await self.server.close()

    async def handle(self, request):
        if isinstance(self.status, list):
            status = self.status.pop(0) if len(self.status) > 1 else self.status[0]
            await request.read()
            self.requests.append({"method": request.method, "status": status})
            return web.Response(status=status, text="invalid number" if 400 <= status < 500 else "later")
        body = await request.read()
        self.requests.append({"method": request.method, "headers": dict(request.headers),
                              "query": dict(request.query), "body": body,
                              "content_type": request.content_type})
        if self.status == "slow":
            await asyncio.sleep(5)
        return web.Response(status=200 if self.status == "slow" else self.status, text="accepted")


def sms_settings(url, **changes):
    values = dict(sms_provider="http_sms", sms_url=url, sms_auth_value="Bearer s3cret", send_timeout=2.0,
                  sms_template='{"to": "{to}", "message": "{text}", "sender": "JWLCC", "unicode": 1}')
    values.update(changes)
    return NotificationSettings(**values)


SMS = Message(3, "sms", "+919812345678", "", 'Ticket TK-261123-0042 "registered"\n}, {"to": "+1"')


async def test_http_sms_posts_the_filled_template_with_the_credential():
    async with Gateway() as gateway:
        provider = HttpSmsProvider(sms_settings(gateway.url))
        await provider.send(SMS)
        await provider.close()
    (request,) = gateway.requests
    assert request["method"] == "POST" and request["headers"]["Authorization"] == "Bearer s3cret"
    assert json.loads(request["body"]) == {"to": "+919812345678", "message": SMS.body, "sender": "JWLCC",
                                           "unicode": 1}  # the text never changes the template's shape


async def test_http_sms_as_a_form_or_a_query_and_its_failures():
    async with Gateway() as gateway:
        form = HttpSmsProvider(sms_settings(gateway.url, sms_body_format="form", sms_auth_value=""))
        await form.send(SMS)
        query = HttpSmsProvider(sms_settings(gateway.url, sms_method="GET"))
        await query.send(SMS)
        await form.close()
        await query.close()
    posted, got = gateway.requests
    assert posted["content_type"] == "application/x-www-form-urlencoded" and "Authorization" not in posted["headers"]
    assert got["method"] == "GET" and got["query"]["to"] == "+919812345678" and got["query"]["message"] == SMS.body
    async with Gateway(status=503) as gateway:
        provider = HttpSmsProvider(sms_settings(gateway.url))
        with pytest.raises(DeliveryError, match="503"):
            await provider.send(SMS)
        with pytest.raises(DeliveryError, match="E.164"):
            await provider.send(Message(4, "sms", "98123 45678", "", "x"))
        await provider.close()
    async with Gateway(status="slow") as gateway:
        provider = HttpSmsProvider(sms_settings(gateway.url, send_timeout=0.3))
        with pytest.raises(DeliveryError, match="Timeout"):
            await provider.send(SMS)
        await provider.close()


def test_the_settings_are_checked():
    check_settings(NotificationSettings())  # the defaults: log everywhere
    providers = build_providers(NotificationSettings())
    assert {c: p.name for c, p in providers.items()} == {"log": "log", "email": "log", "sms": "log"}
    bad = [dict(sms_provider="smtp"), dict(email_provider="http_sms"), dict(max_attempts=0),
           dict(email_provider="smtp"), dict(email_provider="smtp", smtp_host="mail.example.org",
                                             smtp_from="cc@example.org", smtp_username="cc",
                                             smtp_starttls=False),
           dict(sms_provider="http_sms", sms_url="ftp://x"), dict(site_url="javascript:alert(1)"),
           dict(site_url="https://cc.example.in@evil.example.com"),
           dict(sms_provider="http_sms", sms_url="https://sms.example.org", sms_template="{to}"),
           dict(sms_provider="http_sms", sms_url="https://sms.example.org", sms_auth_value="a\r\nX-Evil: 1")]
    for changes in bad:
        with pytest.raises(ValueError):
            check_settings(NotificationSettings(**changes))


def test_the_config_file_has_the_sections_and_no_default_secret(tmp_path):
    path = tmp_path / "cc.toml"
    text = render_new()
    path.write_text(text)
    settings = load(path)
    assert settings.notifications.smtp_password == "" and settings.notifications.sms_auth_value == ""
    assert settings.complaints.ticket_prefix == "TK" and settings.notifications.email_provider == "log"
    path.write_text(text.replace('ticket_prefix = "TK"', 'ticket_prefix = "tk-1"'))
    with pytest.raises(ConfigError, match="ticket_prefix"):
        load(path)
    path.write_text(text.replace('sms_provider = "log"', 'sms_provider = "http_sms"'))
    with pytest.raises(ConfigError, match="sms_url"):
        load(path)
