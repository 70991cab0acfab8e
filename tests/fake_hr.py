"""A small HR system on 127.0.0.1 for the HR-source tests: an OAuth2
client-credentials token endpoint and an employee list (paged by a next
link), plus the ways HR systems go wrong: a 401, an answer that never
comes, garbage, an oversized answer, a 503."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer

CLIENT_ID = "callcenter"
CLIENT_SECRET = "s3cret-Client-Value-9f8e7d"
ACCESS_TOKEN = "at-Opaque-Token-4b3c2a1d"
STATIC_TOKEN = "st-Fixed-Bearer-77aa66bb"
PAGE_SIZE = 2


def employee(code, name, store, state="Active", langs=("hi",), phone=None) -> dict:
    return {"code": code, "fullName": name, "store": {"code": store}, "state": state,
            "langs": list(langs), "phone": phone}


@dataclass
class FakeHr:
    employees: list = field(default_factory=list)
    token_requests: list = field(default_factory=list)
    list_requests: list = field(default_factory=list)
    down: bool = False
    never: asyncio.Event = field(default_factory=asyncio.Event)
    server: TestServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    async def token(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({"error": "maintenance"}, status=503)
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        self.token_requests.append({"content_type": request.content_type, **body})
        if (body.get("grant_type"), body.get("client_id"), body.get("client_secret")) != (
                "client_credentials", CLIENT_ID, CLIENT_SECRET):
            return web.json_response({"error": "invalid_client"}, status=401)
        return web.json_response({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600})

    async def employees_page(self, request: web.Request) -> web.Response:
        self.list_requests.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") not in (f"Bearer {ACCESS_TOKEN}", f"Bearer {STATIC_TOKEN}"):
            return web.json_response({"error": "unauthorised"}, status=401)
        page = int(request.query.get("page", "1"))
        chunk = self.employees[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        more = page * PAGE_SIZE < len(self.employees)
        return web.json_response({"data": {"employees": chunk},
                                  "links": {"next": f"/api/employees?page={page + 1}" if more else None}})

    async def slow(self, request: web.Request) -> web.Response:
        await self.never.wait()   # set only when the test ends
        return web.json_response({"data": {"employees": []}})

    async def garbage(self, request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Service Temporarily Unavailable</body>", content_type="text/html")

    async def huge(self, request: web.Request) -> web.Response:
        rows = [employee(f"E{n}", "X" * 200, "DEL01") for n in range(8000)]   # about 2 MB
        return web.Response(body=json.dumps({"data": {"employees": rows}}).encode(),
                            content_type="application/json")

    async def huge_stream(self, request: web.Request) -> web.StreamResponse:
        """The same size, sent in chunks with no Content-Length."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"data": {"employees": [')
        row = json.dumps(employee("E1", "X" * 200, "DEL01")).encode()
        for n in range(8000):
            await response.write((b"," if n else b"") + row)
        await response.write(b"]}}")
        return response

    async def elsewhere(self, request: web.Request) -> web.Response:
        return web.json_response({"data": {"employees": self.employees[:1]},
                                  "links": {"next": "https://hr.example.com/api/employees?page=2"}})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self.token)
        app.router.add_get("/api/employees", self.employees_page)
        app.router.add_get("/api/slow", self.slow)
        app.router.add_get("/api/garbage", self.garbage)
        app.router.add_get("/api/huge", self.huge)
        app.router.add_get("/api/huge-stream", self.huge_stream)
        app.router.add_get("/api/elsewhere", self.elsewhere)
        return app

    async def start(self) -> "FakeHr":
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        self.never.set()
        await self.server.close()
