"""What the providers answer decides a message's fate, through the real
dispatcher, outbox and providers (the local SMTP responder and HTTP gateway of
test_notifications_providers.py): a permanent refusal (HTTP 4xx, SMTP 5xx)
fails at once with its reason; a temporary one (HTTP 5xx/429, SMTP 4xx,
connection refused, a timeout) is retried with backoff. And an e-mail goes as
text and HTML (escaped, only this site's links clickable), files attached."""
import email
import socket

from callcenter.notifications.dispatcher import Dispatcher
from callcenter.notifications.email_html import email_html
from callcenter.notifications.providers import HttpSmsProvider, LogProvider, Message, SmtpProvider
from tests.test_notifications_outbox import Clock, add, state
from tests.test_notifications_providers import Gateway, TinySmtp, sms_settings, smtp_settings


def dispatcher(settings, sessions, provider, clock):
    return Dispatcher(settings.notifications, sessions, {"log": LogProvider(), "email": provider,
                                                          "sms": provider}, clock=clock)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_gateway_4xx_fails_at_once_and_a_5xx_or_429_is_retried_until_delivered(sessions, settings):
    async with Gateway(status=[400]) as gateway:
        provider = HttpSmsProvider(sms_settings(gateway.url))
        (refused,) = await add(sessions)
        clock = Clock()
        assert await dispatcher(settings, sessions, provider, clock).tick() == {"failed": 1}
        row, attempts = await state(sessions, refused)
        assert (row.status, row.attempts) == ("failed", 1) and len(gateway.requests) == 1
        assert "400" in attempts[0].error and "invalid number" in attempts[0].error
        assert "permanent" in attempts[0].error
        await provider.close()
    async with Gateway(status=[503, 429, 200]) as gateway:
        provider = HttpSmsProvider(sms_settings(gateway.url))
        (nid,) = await add(sessions)
        clock = Clock()
        d = dispatcher(settings, sessions, provider, clock)
        assert await d.tick() == {"pending": 1}
        clock.at(30)
        assert await d.tick() == {"pending": 1}       # 429: too many requests, a temporary answer
        clock.at(90)
        assert await d.tick() == {"sent": 1}
        clock.at(10_000)
        assert await d.tick() == {}
        row, attempts = await state(sessions, nid)
        assert (row.status, row.attempts) == ("sent", 3)
        assert [r["status"] for r in gateway.requests] == [503, 429, 200]   # delivered once
        assert ["503" in attempts[0].error, "429" in attempts[1].error, attempts[2].ok] == [True, True, True]
        await provider.close()


async def test_a_refused_connection_and_a_timeout_are_retried(sessions, settings):
    provider = HttpSmsProvider(sms_settings(f"http://127.0.0.1:{closed_port()}/sms"))
    (nid,) = await add(sessions)
    assert await dispatcher(settings, sessions, provider, Clock()).tick() == {"pending": 1}
    row, attempts = await state(sessions, nid)
    assert row.status == "pending" and "Connect" in attempts[0].error
    await provider.close()
    async with Gateway(status="slow") as gateway:
        provider = HttpSmsProvider(sms_settings(gateway.url, send_timeout=0.3))
        (slow,) = await add(sessions)
        assert await dispatcher(settings, sessions, provider, Clock()).tick() == {"pending": 1}
        row, attempts = await state(sessions, slow)
        assert row.status == "pending" and "Timeout" in attempts[0].error
        await provider.close()


async def test_smtp_550_fails_at_once_and_451_is_retried(sessions, settings):
    async with TinySmtp(rcpt_answers=["550 5.1.1 no such user"]) as server:
        (nid,) = await add(sessions, channel="email", recipient="gone@example.org")
        d = dispatcher(settings, sessions, SmtpProvider(smtp_settings(server.port)), Clock())
        assert await d.tick() == {"failed": 1}
        row, attempts = await state(sessions, nid)
        assert row.attempts == 1 and "550" in attempts[0].error and "no such user" in attempts[0].error
        assert server.messages == []
    async with TinySmtp(rcpt_answers=["451 4.7.1 greylisted, try later"]) as server:
        (nid,) = await add(sessions, channel="email", recipient="ops@example.org")
        clock = Clock()
        d = dispatcher(settings, sessions, SmtpProvider(smtp_settings(server.port)), clock)
        assert await d.tick() == {"pending": 1}
        clock.at(30)
        assert await d.tick() == {"sent": 1}
        row, attempts = await state(sessions, nid)
        assert "451" in attempts[0].error and attempts[1].ok and len(server.messages) == 1


BODY = ("Dear Meera,\n<script>alert('x')</script> & co.\n\nTrack it: https://cc.example.in/complaints/7.\n"
        "Not ours: https://evil.example.com/pay and https://cc.example.in@evil.example.com/x")


async def test_an_email_goes_as_text_and_safe_html_with_its_files():
    message = Message(9, "email", "meera@example.org", "Your ticket TK-1", BODY,
                      attachments=(("report.csv", "text/csv", b"a,b\n1,2\n"),))
    async with TinySmtp() as server:
        await SmtpProvider(smtp_settings(server.port, site_url="https://cc.example.in",
                                         email_brand="Jewels & Co")).send(message)
    received = email.message_from_bytes(server.messages[0], policy=email.policy.default)
    assert received.get_content_type() == "multipart/mixed"
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == BODY
    html = received.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co." in html
    assert "Dear Meera,<br>" in html and html.count("<p ") == 2
    assert '<a href="https://cc.example.in/complaints/7">https://cc.example.in/complaints/7</a>.' in html
    assert html.count("<a ") == 1 and "https://evil.example.com/pay" in html   # shown, not clickable
    assert "Jewels &amp; Co" in html
    (file,) = received.iter_attachments()
    assert file.get_filename() == "report.csv" and file.get_content() == "a,b\n1,2\n"


def test_links_are_clickable_only_into_this_site():
    def links(body, site):
        return email_html("s", body, brand="b", site_url=site).count("<a ")
    assert links("https://cc.example.in/x", "") == 0                  # no site configured: none
    assert links("https://cc.example.in/x https://CC.example.in", "https://cc.example.in") == 2
    assert links("http://cc.example.in/x", "https://cc.example.in") == 0       # another scheme
    assert links("https://cc.example.in:8443/x", "https://cc.example.in") == 0  # another port
    assert links("https://cc.example.in.evil.com/x", "https://cc.example.in") == 0
    assert links("https://cc.example.in/other", "https://cc.example.in/cc") == 0
    assert links('https://cc.example.in/a"onmouseover="x', "https://cc.example.in") == 1
    assert 'onmouseover="x' not in email_html("s", 'https://cc.example.in/a"onmouseover="x', brand="b",
                                              site_url="https://cc.example.in")
