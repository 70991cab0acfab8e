"""The HTTP API's contract: input validation that never reaches AMI, roles,
error ids, health, metrics and the OpenAPI document."""
from __future__ import annotations

import pytest

from tests.harness import Agent, TrunkSpec

pytestmark = pytest.mark.pbx

HOSTILE_NUMBERS = [
    "98765abc10",                       # letters
    "9876543210\r\nAction: Command",    # CR/LF: header injection
    "9876543210\n",
    "98765&43210", "98765,43210", "98765/43210", "98765*4321", "98765#43210",
    "9876543210@evil", "PJSIP/x@carrier", "${SHELL}", "9876543210;rm -rf /",
    "12", "", "+99 123", "0000000000",
]


@pytest.fixture
async def server(call_server):
    return await call_server(agents=[Agent("asha", contact="sip:127.0.0.10:5999"),
                                     Agent("bala", contact="sip:127.0.0.11:5999")],
                             trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)])


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
async def test_bad_numbers_get_422_and_never_reach_ami(server, number):
    # background loops (reconcile, queue status) may send their own actions meanwhile
    sent = server.services.ami.actions_by_name.get("Originate", 0)
    resp = await server.place("asha", number)
    assert resp.status == 422
    body = await resp.json()
    assert body["error"] == "invalid_number" and body["message"]
    assert server.services.ami.actions_by_name.get("Originate", 0) == sent
    assert (await server.trunks())["carrier"]["reserved"] == 0


@pytest.mark.parametrize("body, error", [
    ({"agent": "asha"}, "invalid_request"),
    ({"agent": "asha", "number": 9876543210}, "invalid_request"),
    ({"agent": "asha", "number": "9876543210", "mode": "fax"}, "invalid_request"),
    ({"agent": "asha", "number": "9876543210", "context": "default"}, "invalid_request"),
    ({"agent": "asha", "number": "9876543210", "mode": "mobile"}, "agent_has_no_phone"),
    ({"agent": "nobody", "number": "9876543210"}, "agent_not_found"),
    ({"agent": "asha", "number": "9876543210", "trunk": "nope"}, "no_trunk"),
])
async def test_bad_requests_have_stable_error_ids(server, body, error):
    sent = server.services.ami.actions_by_name.get("Originate", 0)
    resp = await server.client.post("/api/v1/calls", json=body, headers=server.headers())
    assert resp.status in (404, 422, 503)
    assert (await resp.json())["error"] == error
    assert server.services.ami.actions_by_name.get("Originate", 0) == sent


async def test_not_json_is_422(server):
    resp = await server.client.post("/api/v1/calls", data=b"agent=asha", headers=server.headers())
    assert resp.status == 422 and (await resp.json())["error"] == "invalid_request"


async def test_tokens_and_roles(server):
    resp = await server.client.post("/api/v1/calls", json={"agent": "asha", "number": "9876543210"})
    assert resp.status == 401 and (await resp.json())["error"] == "unauthenticated"
    resp = await server.client.get("/api/v1/trunks", headers={"Authorization": "Bearer cc_" + "x" * 43})
    assert resp.status == 401
    # an agent may not place a call from another agent's phone, nor read the trunks board
    resp = await server.place("bala", "9876543210", token=server.agent_tokens["asha"])
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    resp = await server.client.get("/api/v1/trunks", headers=server.headers(server.agent_tokens["asha"]))
    assert resp.status == 403
    resp = await server.client.get("/api/v1/nothing-here", headers=server.headers())
    assert resp.status == 404


async def test_an_agent_cannot_see_another_agents_call(server, sipp):
    # bala's phone never answers (nothing listens): the call exists long enough to look at
    resp = await server.place("bala", "9876543210", token=server.agent_tokens["bala"])
    assert resp.status == 202
    call_id = (await resp.json())["id"]
    own = await server.client.get(f"/api/v1/calls/{call_id}", headers=server.headers(server.agent_tokens["bala"]))
    assert own.status == 200
    other = await server.client.get(f"/api/v1/calls/{call_id}", headers=server.headers(server.agent_tokens["asha"]))
    assert other.status == 404
    rec = await server.client.get(f"/api/v1/calls/{call_id}/recording",
                                  headers=server.headers(server.agent_tokens["asha"]))
    assert rec.status == 404
    await server.client.post(f"/api/v1/calls/{call_id}/hangup", headers=server.headers())
    await server.wait_state(call_id, "ended")


async def test_health_metrics_openapi(server):
    resp = await server.client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["checks"] == {"ami": True, "database": True, "redis": True, "loops": True,
                                             "processes": True}
    await server.place("asha", "bad-number")
    metrics = await (await server.client.get("/metrics")).text()
    for name in ("callcenter_trunk_channels_in_use{trunk=\"carrier\"}", "callcenter_trunk_channels_max",
                 "callcenter_ami_connected 1.0", "callcenter_api_requests_total",
                 "callcenter_api_rejected_total", "callcenter_calls_requested_total",
                 "callcenter_originate_to_agent_answer_seconds_bucket"):
        assert name in metrics, name
    doc = await (await server.client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]["/api/v1/calls"]["post"]["responses"]) >= {"202", "409", "422", "503"}
    assert doc["paths"]["/api/v1/trunks"]["get"]["x-roles"] == ["teamlead", "manager", "admin"]
