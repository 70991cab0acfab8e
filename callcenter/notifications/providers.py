"""Delivery providers of the notification outbox, one per channel
(``[notifications] <channel>_provider``):

- ``log``: writes the message to the server log and, for a ``user:<name>``
  recipient, pushes it to that user's open panels (``push``); always succeeds.
- ``smtp``: an email through smtplib in a worker thread (``asyncio.to_thread``),
  with timeouts and its files attached; with ``smtp_starttls`` the session is upgraded (certificate
  checked) before anything is sent, and a server not offering STARTTLS is refused.
- ``http_sms``: an aiohttp request to a gateway with the configured template
  (``{to}`` the E.164 number, ``{text}`` the message), a 2xx answer is delivered.

A provider's ``send(message)`` returns on delivery and raises ``DeliveryError``
(or anything else: the dispatcher records it) when the message was not sent."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiohttp

from callcenter.hosts import is_loopback

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PROVIDERS_FOR = {"log": ("log",), "email": ("log", "smtp"), "sms": ("log", "http_sms")}
ERROR_CHARS = 500


class DeliveryError(Exception):
    """The provider could not deliver the message (the dispatcher retries)."""


@dataclass(frozen=True)
class Message:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    entity: str = ""
    entity_id: str = ""
    attachments: tuple = ()   # (file name, content type, bytes) of an e-mail's files


class LogProvider:
    name = "log"

    def __init__(self, push: Callable[[Message], Awaitable[None]] | None = None) -> None:
        self.push = push

    async def send(self, message: Message) -> None:
        log.info("notification %s [%s] to %s: %s | %s", message.id, message.channel,
                 message.recipient, message.subject, message.body)
        if self.push is not None and message.recipient.startswith("user:"):
            try:
                await self.push(message)
            except Exception:  # noqa: BLE001 - the panel nudge is a courtesy; the log line is the delivery
                log.exception("pushing notification %s to a panel failed", message.id)

    async def close(self) -> None:
        return None


class SmtpProvider:
    name = "smtp"

    def __init__(self, settings, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.ssl_context = ssl_context

    def build(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject or "Notification"
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=self.settings.smtp_from.rpartition("@")[2] or None)
        email.set_content(message.body)
        for name, content_type, content in message.attachments:
            maintype, _, subtype = content_type.partition("/")
            email.add_attachment(content, maintype=maintype or "application",
                                 subtype=subtype or "octet-stream", filename=name)
        return email

    def _send_blocking(self, email: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.send_timeout) as client:
            client.ehlo()
            secure = False
            if s.smtp_starttls:
                if not client.has_extn("starttls"):
                    raise DeliveryError("the SMTP server does not offer STARTTLS (smtp_starttls = true)")
                client.starttls(context=self.ssl_context or ssl.create_default_context())
                client.ehlo()
                secure = True
            if s.smtp_username:
                if not secure and not is_loopback(s.smtp_host):
                    raise DeliveryError("refusing to send the SMTP password without TLS")
                client.login(s.smtp_username, s.smtp_password)
            refused = client.send_message(email)
            if refused:
                raise DeliveryError(f"recipients refused: {', '.join(sorted(refused))}")

    async def send(self, message: Message) -> None:
        email = self.build(message)
        try:
            await asyncio.wait_for(asyncio.to_thread(self._send_blocking, email),
                                   self.settings.send_timeout * 3)
        except DeliveryError:
            raise
        except (smtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        return None


def fill_template(template: str, to: str, text: str) -> dict:
    """The gateway's parameters: the template's string values with ``{to}`` and
    ``{text}`` replaced (values are substituted after parsing, so the message
    can never change the template's structure)."""
    def fill(value):
        if isinstance(value, str):
            return value.replace("{to}", to).replace("{text}", text)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value
    return fill(json.loads(template))


class HttpSmsProvider:
    name = "http_sms"

    def __init__(self, settings) -> None:
        self.settings = settings
        self._client: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None or self._client.closed:
            timeout = aiohttp.ClientTimeout(total=self.settings.send_timeout,
                                            connect=min(10.0, self.settings.send_timeout))
            self._client = aiohttp.ClientSession(timeout=timeout)
        return self._client

    async def send(self, message: Message) -> None:
        s = self.settings
        if not E164.fullmatch(message.recipient):
            raise DeliveryError("the SMS recipient is not an E.164 number")
        text = f"{message.subject}: {message.body}" if message.subject else message.body
        params = fill_template(s.sms_template, message.recipient, text)
        headers = {s.sms_auth_header: s.sms_auth_value} if s.sms_auth_value else {}
        kwargs: dict = {"headers": headers, "allow_redirects": False}
        if s.sms_method == "GET":
            kwargs["params"] = {k: str(v) for k, v in params.items()}
        elif s.sms_body_format == "form":
            kwargs["data"] = {k: str(v) for k, v in params.items()}
        else:
            kwargs["json"] = params
        try:
            async with self._session().request(s.sms_method, s.sms_url, **kwargs) as response:
                answer = (await response.content.read(300)).decode("utf-8", "replace")
                if not 200 <= response.status < 300:
                    raise DeliveryError(f"SMS gateway answered {response.status}: {answer}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"SMS gateway: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


def build_providers(settings, push=None) -> dict:
    """{channel: provider} as configured (``settings`` is [notifications])."""
    made = {"log": LogProvider(push)}
    if settings.email_provider == "smtp":
        made["smtp"] = SmtpProvider(settings)
    if settings.sms_provider == "http_sms":
        made["http_sms"] = HttpSmsProvider(settings)
    return {"log": made[settings.log_provider], "email": made[settings.email_provider],
            "sms": made[settings.sms_provider]}


def check_settings(n, _settings=None) -> None:
    """Raise ValueError naming the first wrong key of [notifications]."""
    for channel, allowed in PROVIDERS_FOR.items():
        chosen = getattr(n, f"{channel}_provider")
        if chosen not in allowed:
            raise ValueError(f"[notifications] {channel}_provider must be one of {', '.join(allowed)}")
    if n.max_attempts < 1 or n.batch < 1:
        raise ValueError("[notifications] max_attempts and batch must be at least 1")
    if min(n.dispatch_interval, n.backoff_seconds, n.backoff_max_seconds, n.send_timeout) <= 0:
        raise ValueError("[notifications] intervals, backoff and send_timeout must be positive")
    if n.email_provider == "smtp":
        if not n.smtp_host or "@" not in n.smtp_from or any(c in n.smtp_from for c in "\r\n<>"):
            raise ValueError("[notifications] smtp needs smtp_host and an smtp_from address")
        if not 1 <= n.smtp_port <= 65535:
            raise ValueError("[notifications] smtp_port must be 1-65535")
        if n.smtp_username and not n.smtp_starttls and not is_loopback(n.smtp_host):
            raise ValueError("[notifications] smtp_username needs smtp_starttls (no password in clear)")
    if n.sms_provider == "http_sms":
        if not n.sms_url.startswith(("http://", "https://")):
            raise ValueError("[notifications] http_sms needs an http(s) sms_url")
        if n.sms_method not in ("GET", "POST", "PUT") or n.sms_body_format not in ("json", "form"):
            raise ValueError("[notifications] sms_method must be GET/POST/PUT, sms_body_format json/form")
        try:
            template = json.loads(n.sms_template)
        except json.JSONDecodeError as exc:
            raise ValueError(f"[notifications] sms_template is not JSON: {exc}") from None
        if not isinstance(template, dict) or "{to}" not in n.sms_template:
            raise ValueError("[notifications] sms_template must be a JSON object using {to}")
        if any(c in n.sms_auth_header + n.sms_auth_value for c in "\r\n") or not n.sms_auth_header:
            raise ValueError("[notifications] sms_auth_header/sms_auth_value may not hold line breaks")
