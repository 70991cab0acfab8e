"""The supervisor's board without the PBX: the snapshot (GET /api/v1/board and
the /board page) in the viewer's scope, its filters, the agents' states read
from queue sessions, pauses, live calls and dispositions owed."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from callcenter.auth.tokens import create_token
from callcenter.board.settings import BoardSettings, check
from callcenter.board.trunks import figures, trunk_view
from callcenter.models import Call
from callcenter.org.models import Location
from callcenter.queues.models import AgentPause, Queue, QueueSession
from tests import factories as f
from tests.light_app import call, light_app, page


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    now = dt.datetime.now(dt.timezone.utc)
    async with sessions() as s, s.begin():
        north = await s.get(Location, app.rows["north"])
        other_team = await f.team(s, north, name="north-2")
        lead_x = await f.user(s, "lead_x", role="teamlead", team=other_team)
        agent_x = await f.user(s, "agent_x", role="agent", team=other_team, languages="hi")
        agent_q = await f.user(s, "agent_q", role="agent", team=other_team, languages="en,hi")
        agent_p = await f.user(s, "agent_p", role="agent", team=other_team)
        trunk = await f.trunk(s, "airtel")
        camp = await f.campaign(s, "birthdays", loc=north)
        cust = await f.customer(s, "+919812300001")
        item = await f.work_item(s, camp, cust, agent=agent_x)
        queue = Queue(name="sales", language="en")
        s.add(queue)
        await s.flush()
        s.add(QueueSession(agent_id=agent_q.id, queue_id=queue.id, logged_in_at=now))
        s.add(QueueSession(agent_id=agent_p.id, queue_id=queue.id, logged_in_at=now))
        s.add(AgentPause(agent_id=agent_p.id, reason="lunch", started_at=now))
        common = dict(mode="desktop", trunk_id=trunk.id, caller_id="8062247000", channels=2, requested_at=now)
        # agent_n (team north-1) talks to a customer; agent_x (north-2) owes a disposition
        s.add(Call(id="a" * 32, agent_id=app.rows["agent_n"], requested_by="agent_n", number="+919812300006",
                   state="connected", agent_answered_at=now, customer_answered_at=now, **common))
        s.add(Call(id="b" * 32, agent_id=agent_x.id, requested_by="agent_x", number="+919812300001",
                   state="ended", agent_answered_at=now, customer_answered_at=now, ended_at=now,
                   work_item_id=item.id, campaign_id=camp.id, customer_id=cust.id, **common))
        # an old call whose row never ended is not live
        s.add(Call(id="c" * 32, agent_id=app.rows["agent_n"], requested_by="agent_n", number="+919812300007",
                   state="connected", **{**common, "requested_at": now - dt.timedelta(hours=5)}))
    async with sessions() as s:
        app.tokens["lead_x"] = await create_token(s, "t-lead-x", user_id=lead_x.id, actor="test")
        app.tokens["agent_x"] = await create_token(s, "t-agent-x", user_id=agent_x.id, actor="test")
        await s.commit()
    app.rows.update(lead_x=lead_x.id, agent_x=agent_x.id, agent_q=agent_q.id, agent_p=agent_p.id,
                    campaign=camp.id, other_team=other_team.id, item=item.id)
    yield app
    await app.client.close()


def by_name(board: dict) -> dict:
    return {a["name"]: a for a in board["agents"]}


async def test_a_team_lead_sees_only_their_teams_agents_and_calls(app):
    status, board = await call(app, "GET", "/api/v1/board", "lead_n")
    assert status == 200
    assert set(by_name(board)) == {"agent_n"}
    agent = by_name(board)["agent_n"]
    assert agent["state"] == "on_call" and agent["call"]["number"] == "+919812300006"
    assert [c["id"] for c in board["calls"]] == ["a" * 32]
    assert board["calls"][0]["trunk"] == "airtel" and board["calls"][0]["customer_leg"] == "up"
    assert board["counts"]["on_call"] == 1 and board["counts"]["available"] == 0

    status, other = await call(app, "GET", "/api/v1/board", "lead_x")
    assert status == 200
    assert set(by_name(other)) == {"agent_x", "agent_q", "agent_p"}
    assert other["calls"] == []  # agent_n's call is not theirs to see
    assert other["counts"] == {"available": 1, "ringing": 0, "on_call": 0, "wrapup": 1, "paused": 1,
                               "logged_out": 0}


async def test_states_from_sessions_pauses_and_dispositions_owed(app):
    _, board = await call(app, "GET", "/api/v1/board", "lead_x")
    agents = by_name(board)
    assert agents["agent_q"]["state"] == "available" and agents["agent_q"]["queues"] == ["sales"]
    assert agents["agent_p"]["state"] == "paused" and agents["agent_p"]["pause"]["reason"] == "lunch"
    assert agents["agent_x"]["state"] == "wrapup" and agents["agent_x"]["owed_call_id"] == "b" * 32


async def test_a_manager_sees_the_location_and_an_admin_everyone(app):
    _, board = await call(app, "GET", "/api/v1/board", "manager_n")
    assert {"agent_n", "agent_x", "exec1", "exec2"} <= set(by_name(board)) and "exec3" not in by_name(board)
    _, board = await call(app, "GET", "/api/v1/board", "manager_s")
    assert set(by_name(board)) == {"exec3"} and board["calls"] == []
    _, board = await call(app, "GET", "/api/v1/board", "admin")
    assert "exec3" in by_name(board) and "agent_n" in by_name(board)


async def test_agents_may_not_open_the_board(app):
    status, body = await call(app, "GET", "/api/v1/board", "agent_n")
    assert status == 403
    resp, _ = await page(app, "GET", "/board", "agent_n")
    assert resp.status == 403


async def test_filters(app):
    rows = app.rows
    _, board = await call(app, "GET", f"/api/v1/board?team={rows['other_team']}", "manager_n")
    assert set(by_name(board)) == {"agent_x", "agent_q", "agent_p"}
    _, board = await call(app, "GET", f"/api/v1/board?store={rows['s2']}", "manager_n")
    assert set(by_name(board)) == {"exec2"}
    _, board = await call(app, "GET", "/api/v1/board?queue=sales", "manager_n")
    assert set(by_name(board)) == {"agent_q", "agent_p"}
    _, board = await call(app, "GET", "/api/v1/board?language=hi", "lead_x")
    assert set(by_name(board)) == {"agent_x", "agent_q"}
    _, board = await call(app, "GET", f"/api/v1/board?campaign={rows['campaign']}", "manager_n")
    assert set(by_name(board)) == {"agent_x"} and board["filters"] == {"campaign": rows["campaign"]}
    # a team lead's filter never widens their scope
    _, board = await call(app, "GET", f"/api/v1/board?team={rows['other_team']}", "lead_n")
    assert board["agents"] == []


async def test_a_filter_that_cannot_be_read_is_a_clear_error(app):
    for query in ("team=abc", "store=-1", "language=english", "queue=Sales%20Desk"):
        status, body = await call(app, "GET", f"/api/v1/board?{query}", "lead_n")
        assert status == 422 and body["error"] == "invalid_board_filter", query
        assert body["message"]


async def test_the_page_carries_the_snapshot_and_its_script(app):
    resp, text = await page(app, "GET", "/board", "lead_n")
    assert resp.status == 200
    assert '<script src="/static/board.js" defer></script>' in text
    board = json.loads(re.search(r"data-board='([^']*)'", text).group(1).replace("&#39;", "'")
                       .replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert set(by_name(board)) == {"agent_n"} and board["counts"]["on_call"] == 1
    assert 'name="team"' in text and "north-1" in text


async def test_long_calls_stand_out_after_the_configured_minutes(app):
    _, board = await call(app, "GET", "/api/v1/board", "lead_n")
    assert board["long_call_seconds"] == 600 and board["calls"][0]["long_after_seconds"] == 600
    app.services.settings.board.long_call_minutes = 3
    _, board = await call(app, "GET", "/api/v1/board", "lead_n")
    assert board["calls"][0]["long_after_seconds"] == 180


def test_the_long_call_setting_is_checked():
    check(BoardSettings(long_call_minutes=10), None)
    for bad in (0, -5, 100_000, "10"):
        with pytest.raises(ValueError, match="long_call_minutes"):
            check(BoardSettings(long_call_minutes=bad), None)


async def test_the_privacy_setting_masks_the_number(app):
    app.services.settings.privacy.unmasked_roles = ["admin"]
    _, board = await call(app, "GET", "/api/v1/board", "lead_n")
    assert board["calls"][0]["number"] == "+91 98xxxxxx06"
    assert by_name(board)["agent_n"]["call"]["number"] == "+91 98xxxxxx06"


class CapturingLive:
    def __init__(self) -> None:
        self.published = []

    async def publish(self, event, user_ids=None, *, agent_id=None, everyone=False):
        self.published.append((event, agent_id))


async def test_a_disposition_saved_ends_the_wrapup_live_and_in_the_snapshot(app):
    app.services.live = live = CapturingLive()
    status, body = await call(app, "POST", f"/api/v1/work/{app.rows['item']}/dispositions", "agent_x",
                              {"call_id": "b" * 32, "answers": {"talked": "no", "not_talked_reason": "busy"}})
    assert status == 201, body
    # the boards that see agent_x hear it (the bus's scope rule: by the agent), no query needed on their side
    assert ({"type": "disposition_saved", "call_id": "b" * 32, "agent_id": app.rows["agent_x"],
             "work_item_id": app.rows["item"]}, app.rows["agent_x"]) in live.published
    _, board = await call(app, "GET", "/api/v1/board", "lead_x")
    assert by_name(board)["agent_x"]["state"] == "logged_out" and board["counts"]["wrapup"] == 0


def test_trunk_figures_from_the_per_minute_rings():
    now = 600 * 60 + 30.0                       # half-way through minute 600
    calls = {600: 3, 599: 6, 541: 2, 540: 9}    # minute 540 is more than an hour ago
    rejected = {600: 1, 590: 2, 585: 4}         # 585 is 16 minutes ago
    f = figures(calls, rejected, now)
    assert f["calls_per_second"] == round((3 + 6 * 0.5) / 60, 2)
    assert f["rejected_15min"] == 3
    assert len(f["last_hour"]) == 60 and f["last_hour"][-1] == 3 and f["last_hour"][-2] == 6
    assert f["last_hour"][0] == 2 and sum(f["last_hour"]) == 11


def test_a_trunk_view_says_what_is_left_for_inbound():
    usage = {"name": "airtel", "max_channels": 10, "inbound_headroom": 3, "in_use": 8, "reserved": 6,
             "foreign": 2, "queued": 0}
    view = trunk_view(usage, None)
    assert (view["ours"], view["free"], view["inbound_free"]) == (6, 2, 2)
    assert trunk_view({**usage, "in_use": 2}, None)["inbound_free"] == 3


async def test_a_calls_monitor_sessions_are_on_the_board_of_those_who_see_its_agent(app, settings, sessions):
    from callcenter.monitor.legs import MonitorSession
    from callcenter.monitor.service import Monitoring

    _, before = await call(app, "GET", "/api/v1/board", "lead_n")
    assert before["calls"][0]["monitors"] == []
    monitoring = Monitoring(settings, sessions, ami=None, tracker=None, accounting=None, live=None)
    listen = MonitorSession("m1", "a" * 32, "listen", app.rows["lead_n"], "lead_n", app.rows["agent_n"],
                            "agent_n", "PJSIP/ph-agent_n-00000001", "PJSIP/ph-lead")
    monitoring.by_id[listen.id] = listen
    app.services.provided["monitor"] = monitoring
    _, board = await call(app, "GET", "/api/v1/board", "lead_n")
    assert board["calls"][0]["monitors"] == [{"id": "m1", "supervisor": "lead_n", "mode": "listen",
                                              "state": "ringing"}]
    listen.answered_at = listen.started_at + 1
    _, board = await call(app, "GET", "/api/v1/board", "manager_n")
    assert [m["state"] for c in board["calls"] for m in c["monitors"]] == ["connected"]
    _, other = await call(app, "GET", "/api/v1/board", "lead_x")  # not their team's agent: nothing shown
    assert other["calls"] == []
    monitoring.by_id.clear()  # the session ended
    _, after = await call(app, "GET", "/api/v1/board", "lead_n")
    assert after["calls"][0]["monitors"] == []
