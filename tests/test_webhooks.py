"""Webhooks through the real routes (tests/light_app.py) and the real
delivery loop, to a receiver on 127.0.0.1 that checks every signature the way
docs/webhooks.md tells the client to: endpoints registered by an admin (the
secret shown once), a saved disposition and a filed complaint arriving
signed, a failing receiver served on retry with every attempt visible, a hung
receiver that does not hold the API up, 410 pausing, redelivery and the test
ping, and no event when the change is refused."""
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import re
import time
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from callcenter.loops import Loops
from callcenter.models import Event, User
from callcenter.org.models import Store
from callcenter.webhooks.models import WebhookDelivery
from callcenter.webhooks.sender import Deliverer
from monitoring.metrics import Metrics
from tests import factories as f
from tests.harness import eventually
from tests.light_app import call, light_app, page

MOBILE = "+919812345678"
KINDS = ["disposition.saved", "appointment.booked", "complaint.created"]


def _documented_verify():
    """The receiver's check exactly as docs/webhooks.md gives it (its code block
    run here), so the documented example is the one the tests trust."""
    text = (Path(__file__).parent.parent / "docs" / "webhooks.md").read_text()
    code = re.search(r"```python\n(import hashlib.*?def verify\(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


verify = _documented_verify()


def test_the_documented_check_refuses_what_is_not_a_signature():
    assert verify("s3cret", "garbage", b"{}") is False
    assert verify("s3cret", f"t={int(time.time())}", b"{}") is False
    stale = int(time.time()) - 600
    digest = hmac.new(b"s3cret", f"{stale}.{{}}".encode(), hashlib.sha256).hexdigest()
    assert verify("s3cret", f"t={stale},v1={digest}", b"{}") is False


class Receiver:
    """A client's system: answers with the next status of ``answers`` (then
    200), or holds the request open while ``hold`` is set."""

    def __init__(self) -> None:
        self.secret = ""
        self.answers: list[int] = []
        self.received: list[dict] = []
        self.hold: asyncio.Event | None = None
        self.held = asyncio.Event()   # set when a held request came in
        self.handled = 0              # requests answered
        self.big_answer = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append({"headers": dict(request.headers), "body": json.loads(body),
                              "verified": verify(self.secret, request.headers["X-Callcenter-Signature"], body)})
        if self.hold is not None:
            self.held.set()
            await self.hold.wait()
        status = self.answers.pop(0) if self.answers else 200
        self.handled += 1
        if status == 302:
            raise web.HTTPFound("http://127.0.0.1:9/elsewhere")
        return web.Response(status=status, text=("x" * 100_000) if self.big_answer else f"answer {status}")

    def of_kind(self, kind: str) -> list[dict]:
        return [r for r in self.received if r["body"]["kind"] == kind]


@pytest.fixture
async def world(settings, sessions):
    settings.webhooks.allow_http_private = True
    settings.webhooks.interval = 0.05
    settings.webhooks.backoff_seconds = 0.05
    settings.webhooks.backoff_max_seconds = 0.2
    settings.webhooks.max_attempts = 3
    settings.webhooks.timeout = 30.0  # the hung receiver is released by the test, never timed out
    app = await light_app(settings, sessions)
    r = app.rows
    async with sessions() as s, s.begin():
        await s.execute(update(User).where(User.id == r["agent_n"]).values(employee_id="E-1001"))
        agent = await s.get(User, r["agent_n"])
        camp = await f.campaign(s, "Birthdays")
        store = await s.get(Store, r["s1"])
        cust = await f.customer(s, MOBILE, "Meera Iyer", store=store,
                                data={"CRM ID": "C-77", "Loyalty tier": "gold", "Email": "m@example.com"})
        item = await f.work_item(s, camp, cust, agent)
        second = await f.work_item(s, await f.campaign(s, "Anniversaries"), cust, agent)
    app.ids = {"item": item.id, "second": second.id, "customer": cust.id}
    status, cat = await call(app, "POST", "/api/v1/complaint-categories", "admin",
                             {"code": "delivery", "name": "Late delivery", "sla_hours": 2})
    app.ids["category"] = cat["id"]
    receiver = Receiver()
    other = Receiver()  # a second client system, on its own path
    server = web.Application()
    server.router.add_post("/hooks", receiver.handle)
    server.router.add_post("/other", other.handle)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    app.receiver, app.url = receiver, f"http://127.0.0.1:{port}/hooks"
    app.other, app.other_url = other, f"http://127.0.0.1:{port}/other"
    loops = Loops(Metrics())
    deliverer = Deliverer(settings.webhooks, sessions)
    deliverer.failed = loops.failed
    loops.every("webhooks", settings.webhooks.interval, deliverer.tick, first=True)
    app.loops = loops
    yield app
    if receiver.hold is not None:
        receiver.hold.set()
    await loops.close()
    await deliverer.close()
    await runner.cleanup()
    await app.client.close()


async def register(app, kinds=KINDS) -> dict:
    status, body = await call(app, "POST", "/api/v1/webhooks", "admin",
                              {"url": app.url, "kinds": kinds, "description": "the CRM"})
    assert status == 201, body
    app.receiver.secret = body["secret"]
    return body


def appointment_answers() -> dict:
    day = dt.date.today() + dt.timedelta(days=3)
    return {"talked": "yes", "wished": "yes", "visit": "yes", "appointment_at": f"{day}T11:00"}


async def test_an_admin_registers_endpoints_and_the_secret_is_shown_only_once(world):
    app = world
    created = await register(app)
    assert created["secret"].startswith("whsec_") and created["kinds"] == KINDS and created["active"]
    for path in ("/api/v1/webhooks", f"/api/v1/webhooks/{created['id']}"):
        resp = await app.client.get(path, headers=app.headers("admin"))
        text = await resp.text()
        assert resp.status == 200 and created["secret"] not in text and '"secret"' not in text
    resp, html = await page(app, "GET", "/admin/webhooks", "admin")
    assert resp.status == 200 and app.url in html and created["secret"] not in html
    assert (await call(app, "GET", "/api/v1/webhooks", "manager_n"))[0] == 403
    assert (await call(app, "POST", "/api/v1/webhooks", "manager_n", {"url": app.url, "kinds": KINDS}))[0] == 403
    for url in ("http://93.184.216.34/hooks", "ftp://127.0.0.1/x", "https://user:pw@crm.example.com/h",
                "http://crm.internal/hooks", "https://169.254.169.254/latest", "not a url", ""):
        status, body = await call(app, "POST", "/api/v1/webhooks", "admin", {"url": url, "kinds": KINDS})
        assert (status, body["error"], body["field"]) == (422, "invalid_endpoint", "url"), url
    status, body = await call(app, "POST", "/api/v1/webhooks", "admin", {"url": app.url, "kinds": ["call.maybe"]})
    assert (status, body["field"]) == (422, "kinds") and "call.maybe" in body["message"]
    status, body = await call(app, "POST", "/api/v1/webhooks", "admin",
                              {"url": "https://crm.example.com/hooks", "kinds": KINDS})
    assert status == 201  # https to a name: kept as written, never resolved here
    status, rotated = await call(app, "POST", f"/api/v1/webhooks/{created['id']}/rotate", "admin")
    assert status == 200 and rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    app.services.settings.webhooks.allow_http_private = False
    status, body = await call(app, "POST", "/api/v1/webhooks", "admin", {"url": app.url, "kinds": KINDS})
    assert (status, body["field"]) == (422, "url") and "allow_http_private" in body["message"]


async def test_a_saved_disposition_reaches_the_receiver_signed(world):
    app = world
    await register(app)
    status, saved = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/dispositions", "agent_n",
                               {"answers": appointment_answers(), "remarks": "wants the gold set"})
    assert status == 201, saved
    await eventually(lambda: len(app.receiver.received) == 2, "the disposition and the appointment delivered")
    disposition, = app.receiver.of_kind("disposition.saved")
    appointment, = app.receiver.of_kind("appointment.booked")
    for got in (disposition, appointment):
        assert got["verified"], "the signature checks out with the secret shown at registration"
        headers = got["headers"]
        assert headers["X-Callcenter-Event"] == got["body"]["kind"] and headers["X-Callcenter-Delivery"].isdigit()
        assert headers["X-Callcenter-Signature"].startswith(f"t={headers['X-Callcenter-Timestamp']},v1=")
        assert MOBILE not in json.dumps(got["body"]) and "Meera" not in json.dumps(got["body"])
        assert got["body"]["at"].endswith("+00:00") and isinstance(got["body"]["id"], int)
    data = disposition["body"]["data"]
    assert data["disposition_id"] == saved["disposition"]["id"] and data["outcome"] == "appointment"
    assert data["agent"] == {"id": app.rows["agent_n"], "name": "agent_n", "employee_id": "E-1001"}
    assert data["customer"] == {"id": app.ids["customer"], "mobile_last4": "5678", "reference": {"CRM ID": "C-77"}}
    assert data["campaign"]["name"] == "Birthdays" and data["answers"]["visit"] == "yes"
    booked = appointment["body"]["data"]
    assert booked["appointment_id"] == saved["appointment_id"] and booked["store"]["code"] == "DEL01"
    assert booked["at"].endswith("+00:00")
    wrong = dict(disposition["headers"])
    assert not verify("whsec_not-the-secret", wrong["X-Callcenter-Signature"],
                      json.dumps(disposition["body"]).encode())


async def test_a_filed_complaint_reaches_the_receiver(world):
    app = world
    await register(app, ["complaint.created"])
    status, complaint = await call(app, "POST", "/api/v1/complaints", "agent_n", {
        "customer_id": app.ids["customer"], "category_id": app.ids["category"], "description": "Ring late"})
    assert status == 201
    await eventually(lambda: app.receiver.received, "the complaint delivered")
    got, = app.receiver.received
    assert got["verified"] and got["body"]["kind"] == "complaint.created"
    data = got["body"]["data"]
    assert (data["number"], data["category"]["code"], data["level"]) == (complaint["ticket"], "delivery", "agent")
    assert data["customer"]["mobile_last4"] == "5678" and data["created_by"]["employee_id"] == "E-1001"


async def test_a_failing_receiver_gets_it_on_retry_and_every_attempt_is_visible(world):
    app = world
    endpoint = await register(app)
    app.receiver.answers = [500, 302]  # an error, then a redirect that is not followed, then 200
    app.receiver.big_answer = True
    status, _ = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/dispositions", "agent_n",
                           {"answers": {"talked": "no", "not_talked_reason": "busy"}})
    assert status == 201
    path = f"/api/v1/webhooks/{endpoint['id']}/deliveries"
    delivered = []

    async def poll():
        delivered[:] = [d for d in (await call(app, "GET", path, "admin"))[1]["deliveries"]
                        if d["status"] == "delivered"]
    while not delivered:
        await poll()
        await asyncio.sleep(0.02)
    one, = delivered
    assert one["attempts"] == 3 and [a["status_code"] for a in one["attempt_log"]] == [500, 302, 200]
    assert all(len(a["response"]) <= 500 for a in one["attempt_log"])
    assert one["attempt_log"][2]["response"] == "x" * 500
    assert [r["headers"]["X-Callcenter-Delivery"] for r in app.receiver.received] == [str(one["id"])] * 3
    assert len({r["body"]["id"] for r in app.receiver.received}) == 1  # the same event each time
    assert all(r["verified"] for r in app.receiver.received)


async def test_a_hung_receiver_holds_up_neither_the_api_nor_other_endpoints(world):
    app = world
    app.services.settings.webhooks.per_endpoint = 1
    await register(app)
    status, other = await call(app, "POST", "/api/v1/webhooks", "admin",
                               {"url": app.other_url, "kinds": ["disposition.saved"]})
    app.other.secret = other["secret"]
    app.receiver.hold = asyncio.Event()
    status, _ = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/dispositions", "agent_n",
                           {"answers": {"talked": "no", "not_talked_reason": "busy"}})
    assert status == 201
    await asyncio.wait_for(app.receiver.held.wait(), 15)  # the receiver holds the first delivery open
    status, _ = await call(app, "POST", f"/api/v1/work/{app.ids['second']}/dispositions", "agent_n",
                           {"answers": {"talked": "no", "not_talked_reason": "busy"}})
    assert status == 201, "the API answered while the receiver still held the request"
    await eventually(lambda: app.other.handled == 2, "the other endpoint served meanwhile")
    assert all(r["verified"] for r in app.other.received)
    assert app.receiver.handled == 0 and not app.receiver.hold.is_set()
    assert len(app.receiver.received) == 1  # one at a time to the slow endpoint: the second waits its turn
    app.receiver.hold.set()
    await eventually(lambda: app.receiver.handled == 2, "both delivered once the receiver answers")


async def test_410_pauses_the_endpoint_and_a_failed_delivery_can_be_sent_again(world):
    app = world
    endpoint = await register(app)
    app.receiver.answers = [503, 503, 503]
    status, _ = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/dispositions", "agent_n",
                           {"answers": {"talked": "no", "not_talked_reason": "busy"}})
    path = f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=failed"

    async def failed():
        return (await call(app, "GET", path, "admin"))[1]["deliveries"]
    while not await failed():
        await asyncio.sleep(0.02)
    one, = await failed()
    assert one["attempts"] == 3 and [a["status_code"] for a in one["attempt_log"]] == [503] * 3
    status, body = await call(app, "POST", f"/api/v1/webhook-deliveries/{one['id']}/redeliver", "admin")
    assert status == 202 and body["status"] == "pending"
    await eventually(lambda: len(app.receiver.received) == 4, "sent again")
    status, body = await call(app, "POST", f"/api/v1/webhook-deliveries/{one['id']}/redeliver", "admin")
    assert (status, body["error"]) == (409, "not_redeliverable")  # not failed any more
    # the test event goes to this endpoint only, and a 410 pauses it
    app.receiver.answers = [410]
    status, ping = await call(app, "POST", f"/api/v1/webhooks/{endpoint['id']}/ping", "admin")
    assert status == 202 and ping["kind"] == "ping"
    await eventually(lambda: app.receiver.of_kind("ping"), "the ping delivered")
    assert app.receiver.of_kind("ping")[0]["verified"]

    async def paused():
        return not (await call(app, "GET", f"/api/v1/webhooks/{endpoint['id']}", "admin"))[1]["active"]
    while not await paused():
        await asyncio.sleep(0.02)
    seen = (await call(app, "GET", f"/api/v1/webhooks/{endpoint['id']}", "admin"))[1]
    assert "410" in seen["paused_reason"]


async def test_no_event_when_the_change_is_refused(world, sessions):
    app = world
    async with sessions() as s:
        before = await s.scalar(select(func.count()).select_from(Event))
    status, body = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/dispositions", "agent_n",
                              {"answers": {"talked": "perhaps"}})
    assert status == 422
    status, body = await call(app, "POST", "/api/v1/complaints", "agent_n", {
        "customer_id": app.ids["customer"], "category_id": app.ids["category"], "description": ""})
    assert status == 422
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Event)) == before
        assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    status, _ = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/dispositions", "agent_n",
                           {"answers": {"talked": "no", "not_talked_reason": "busy"}})
    async with sessions() as s:
        kinds = (await s.scalars(select(Event.kind).order_by(Event.id))).all()
    assert status == 201 and kinds[before:] == ["disposition.saved"]


async def test_the_page_registers_shows_the_secret_once_and_sends_a_test_event(world):
    app = world
    resp, html = await page(app, "POST", "/admin/webhooks", "admin",
                            {"url": "http://93.184.216.34/h", "kinds": "complaint.created"})
    assert resp.status == 422 and "https://" in html and 'value="http://93.184.216.34/h"' in html
    resp, html = await page(app, "POST", "/admin/webhooks", "admin",
                            [("url", app.url), ("kinds", "complaint.created"), ("kinds", "call.ended"),
                             ("description", "CRM")])
    assert resp.status == 201 and "not shown again" in html
    secret = html.split("<code data-secret>", 1)[1].split("<", 1)[0]
    assert secret.startswith("whsec_")
    resp, html = await page(app, "GET", "/admin/webhooks", "admin")
    assert secret not in html and app.url in html
    endpoint, = (await call(app, "GET", "/api/v1/webhooks", "admin"))[1]["endpoints"]
    assert endpoint["kinds"] == ["call.ended", "complaint.created"]
    app.receiver.secret = secret
    resp, _ = await page(app, "POST", f"/admin/webhooks/{endpoint['id']}/ping", "admin", {})
    assert resp.status == 303
    await eventually(lambda: app.receiver.received, "the test event delivered")
    assert app.receiver.received[0]["verified"] and app.receiver.received[0]["body"]["kind"] == "ping"
    path = f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=delivered"
    while not (await call(app, "GET", path, "admin"))[1]["deliveries"]:
        await asyncio.sleep(0.02)
    resp, html = await page(app, "GET", "/admin/webhooks", "admin")
    assert "data-status>delivered</td>" in html and "UTC: 200" in html and "answer 200" in html
    resp, _ = await page(app, "GET", "/admin/webhooks", "manager_n")
    assert resp.status == 403


async def test_a_paused_endpoint_keeps_its_deliveries_until_it_is_resumed(world, settings, sessions):
    app = world
    endpoint = await register(app, ["disposition.saved"])
    path = f"/api/v1/webhooks/{endpoint['id']}"
    status, body = await call(app, "PATCH", path, "admin", {"active": "no"})
    assert (status, body["field"]) == (422, "active")
    status, body = await call(app, "PATCH", path, "admin", {"url": "http://93.184.216.34/x"})
    assert (status, body["field"]) == (422, "url")
    status, body = await call(app, "PATCH", path, "admin", {"active": False, "secret": "mine"})
    assert (status, body["error"]) == (422, "invalid_request")  # the secret is the server's to make
    status, body = await call(app, "PATCH", path, "admin", {"active": False})
    assert status == 200 and body["active"] is False and body["paused_reason"] == "paused by an admin"
    status, _ = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/dispositions", "agent_n",
                           {"answers": {"talked": "no", "not_talked_reason": "busy"}})
    while not (await call(app, "GET", f"{path}/deliveries?status=pending", "admin"))[1]["deliveries"]:
        await asyncio.sleep(0.02)  # handed on: the delivery waits for the endpoint
    assert await Deliverer(settings.webhooks, sessions).tick() == 0  # nothing to send while paused
    status, body = await call(app, "PATCH", path, "admin", {"active": True})
    assert body["active"] and body["paused_reason"] == ""
    await eventually(lambda: app.receiver.handled == 1, "sent once resumed")
    assert app.receiver.received[0]["body"]["kind"] == "disposition.saved"


async def test_erasing_a_customer_scrubs_their_events_and_tells_the_receiver(world, sessions):
    app = world
    await register(app, ["disposition.saved", "customer.erased"])
    answers = {"talked": "no", "not_talked_reason": "busy"}
    status, _ = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/dispositions", "agent_n",
                           {"answers": answers})
    await eventually(lambda: app.receiver.handled == 1, "the disposition delivered")
    assert app.receiver.received[0]["body"]["data"]["customer"]["reference"] == {"CRM ID": "C-77"}
    status, body = await call(app, "POST", f"/api/v1/customers/{app.ids['customer']}/erase", "admin",
                              {"reason": "asked by the customer"})
    assert status == 200, body
    await eventually(lambda: app.receiver.of_kind("customer.erased"), "the erasure delivered")
    erased = app.receiver.of_kind("customer.erased")[0]
    assert erased["verified"] and erased["body"]["data"]["customer_id"] == app.ids["customer"]
    async with sessions() as s:
        event = await s.scalar(select(Event).where(Event.kind == "disposition.saved"))
        stored = (await s.scalars(select(WebhookDelivery.body).where(WebhookDelivery.event_id == event.id))).all()
    assert event.payload["customer"] == {"id": app.ids["customer"], "mobile_last4": "5678", "reference": {}}
    assert stored and all("C-77" not in body for body in stored)
