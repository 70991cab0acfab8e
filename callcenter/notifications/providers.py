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
(or anything else: the dispatcher records it) when the message was not sent.
The provider's answer decides what happens next: a permanent refusal
(``DeliveryError(permanent=True)``: an SMTP 5xx but a refused login, an HTTP
4xx other than 408 and 429) fails the message at once with its reason; anything else (SMTP 4xx,
HTTP 5xx/408/429, connection refused, a timeout) is retried with backoff.
An e-mail goes as multipart/alternative: the text as written and an HTML
version made from it (email_html.py)."""
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
from email.utils import formatdate, make_msgid, parseaddr

import aiohttp

from callcenter.hosts import is_loopback
from callcenter.notifications.email_html import check_site_url, email_html

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PROVIDERS_FOR = {"log": ("log",), "email": ("log", "smtp"), "sms": ("log", "http_sms")}
ERROR_CHARS = 500


class DeliveryError(Exception):
    """The provider could not deliver the message: retried with backoff, or,
    when ``permanent`` (the provider refused it for good), failed at once."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


TEMPORARY_HTTP = (408, 429)  # request timeout, too many requests: a 4xx that passes


def http_refusal(status: int, answer: str) -> DeliveryError:
    """The error for a gateway's non-2xx answer: 5xx, 408 and 429 are
    temporary; any other (4xx, or a 3xx: redirects are not followed) is permanent."""
    if status >= 500 or status in TEMPORARY_HTTP:
        return DeliveryError(f"SMS gateway answered {status} (temporary): {answer}")
    return DeliveryError(f"SMS gateway answered {status} (permanent): {answer}", permanent=True)


def smtp_refusal(exc: smtplib.SMTPException) -> DeliveryError:
    """An SMTP error as a DeliveryError: a 5xx reply is permanent, a 4xx (or
    no reply: the connection dropped) temporary; a refused login is the
    server's setting, not the message's: temporary whatever its code."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        codes = [code for code, _ in answers]
        text = "; ".join(f"{code} {_text(reply)}" for code, reply in answers)
        return DeliveryError(f"SMTP recipient refused: {text}",
                             permanent=bool(codes) and all(500 <= c < 600 for c in codes))
    if isinstance(exc, smtplib.SMTPAuthenticationError):   # the server's setting, not the message's fault
        return DeliveryError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}: the login was refused, check "
                             "[notifications] smtp_username and smtp_password (retried)")
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return DeliveryError(f"SMTP {code}: {_text(exc.smtp_error)} ({type(exc).__name__})",
                             permanent=500 <= code < 600)
    return DeliveryError(f"SMTP: {type(exc).__name__}: {exc}")


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


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


def sender_address(smtp_from: str) -> str:
    """The address of ``smtp_from`` ("care@example.in" or "Swarna Jewels
    <care@example.in>"), "" when it is none."""
    if any(c in smtp_from for c in "\r\n"):
        return ""
    _name, address = parseaddr(smtp_from)
    local, _, domain = address.rpartition("@")
    return address if local and "." in domain and not any(c.isspace() or c in "<>" for c in address) else ""


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
        domain = sender_address(self.settings.smtp_from).rpartition("@")[2]
        email["Message-ID"] = make_msgid(domain=domain or None)
        email.set_content(message.body)
        email.add_alternative(email_html(message.subject, message.body, brand=self.settings.email_brand,
                                         site_url=self.settings.site_url), subtype="html")
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
            if refused:  # some recipients refused, others accepted (one recipient: raised instead)
                raise smtplib.SMTPRecipientsRefused(refused)

    async def send(self, message: Message) -> None:
        email = self.build(message)
        try:
            await asyncio.wait_for(asyncio.to_thread(self._send_blocking, email),
                                   self.settings.send_timeout * 3)
        except DeliveryError:
            raise
        except smtplib.SMTPException as exc:
            raise smtp_refusal(exc) from None
        except (OSError, asyncio.TimeoutError) as exc:  # refused, unreachable, timed out: retried
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
                    raise http_refusal(response.status, answer)
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
        if not n.smtp_host:
            raise ValueError('[notifications] email_provider = "smtp" needs smtp_host (the mail server)')
        if not sender_address(n.smtp_from):
            raise ValueError('[notifications] smtp_from must be an e-mail address: "care@example.in" or '
                             '"Swarna Jewels <care@example.in>"')
        if not 1 <= n.smtp_port <= 65535:
            raise ValueError("[notifications] smtp_port must be 1-65535")
        if n.smtp_username and not n.smtp_starttls and not is_loopback(n.smtp_host):
            raise ValueError("[notifications] smtp_username needs smtp_starttls (no password in clear)")
    check_site_url(n.site_url)
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
