"""The webhooks' loop: each pass hands new events on (deliveries.hand_on),
then starts the POSTs that are due, each in a task of its own, and returns at
once; a pass never waits for a receiver.

Bounds, so that a receiver that is down or slow never slows calls or the
server: at most ``max_in_flight`` POSTs under way in all, ``per_endpoint``
to one endpoint (a slow endpoint's other deliveries wait their turn, the
others go on), each within ``timeout`` seconds, redirects not followed, at
most ``READ_BYTES`` of an answer read. Nothing here runs on the call path:
the events are rows written by the changes themselves."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from callcenter.loops import stop_tasks
from callcenter.models import utcnow
from callcenter.webhooks import deliveries
from callcenter.webhooks.models import WebhookDelivery, WebhookEndpoint
from callcenter.webhooks.signing import signature

log = logging.getLogger(__name__)
READ_BYTES = 4096
USER_AGENT = "callcenter-webhooks/1"


@dataclass
class Outcome:
    status: int | None            # the answer's HTTP status; None: no answer
    response: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deliverer:
    def __init__(self, settings, sessions, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.settings = settings  # the [webhooks] section
        self.sessions = sessions
        self.clock = clock
        self.in_flight: Counter = Counter()   # endpoint id -> POSTs under way
        self.tasks: set[asyncio.Task] = set()
        self._http: aiohttp.ClientSession | None = None
        self.failed: Callable[[str, BaseException], None] = lambda name, error: log.warning(
            "%s: %s", name, error)

    @property
    def lease_seconds(self) -> float:
        return self.settings.timeout * 3 + 30

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            # per endpoint the bound is in_flight (not limit_per_host: two endpoints may share a host)
            connector = aiohttp.TCPConnector(limit=self.settings.max_in_flight)
            self._http = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                headers={"User-Agent": USER_AGENT}, auto_decompress=False)
        return self._http

    async def tick(self) -> int:
        """One pass: hand events on, start what is due; returns how many POSTs it started."""
        now = self.clock()
        async with self.sessions() as session:
            await deliveries.hand_on(session, now, self.settings.batch)
            await session.commit()
        lease_until = now + dt.timedelta(seconds=self.lease_seconds)
        async with self.sessions() as session:
            started = await self._claim_due(session, now, lease_until)
            await session.commit()
            rows = [await session.get(WebhookDelivery, i) for i in started]
            targets = {r.endpoint_id: await session.get(WebhookEndpoint, r.endpoint_id) for r in rows}
        for row in rows:
            endpoint = targets[row.endpoint_id]
            task = asyncio.create_task(self._deliver(row, endpoint.url, endpoint.secret, lease_until),
                                       name=f"webhook:{row.id}")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return len(rows)

    async def _claim_due(self, session, now: dt.datetime, lease_until: dt.datetime) -> list[int]:
        """Claim what is due, endpoint by endpoint, within the free slots of each and of all."""
        free = self.settings.max_in_flight - len(self.tasks)
        started: list[int] = []
        for endpoint_id in await deliveries.active_endpoints(session):
            room = min(free - len(started), self.settings.per_endpoint - self.in_flight[endpoint_id])
            if room <= 0:
                continue
            for delivery_id in await deliveries.due(session, now, endpoint_id, room):
                if await deliveries.claim(session, delivery_id, now, lease_until):
                    self.in_flight[endpoint_id] += 1
                    started.append(delivery_id)
        return started

    async def post(self, row: WebhookDelivery, url: str, secret: str) -> Outcome:
        body = row.body.encode()
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", "X-Callcenter-Event": row.kind,
                   "X-Callcenter-Delivery": str(row.id), "X-Callcenter-Timestamp": str(timestamp),
                   "X-Callcenter-Signature": signature(secret, timestamp, body)}
        started = time.monotonic()
        try:
            async with self._client().post(url, data=body, headers=headers, allow_redirects=False) as resp:
                answer = await resp.content.read(READ_BYTES)
                outcome = Outcome(resp.status, answer.decode("utf-8", "replace"))
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            outcome = Outcome(None, error=f"no answer within {self.settings.timeout:g} s")
        except Exception as exc:  # noqa: BLE001 - refused, reset, bad TLS...: an attempt to retry
            outcome = Outcome(None, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        return outcome

    async def _deliver(self, row: WebhookDelivery, url: str, secret: str, lease_until: dt.datetime) -> None:
        try:
            outcome = await self.post(row, url, secret)
            async with self.sessions() as session:
                state = await deliveries.finish(session, row, outcome, self.clock(), lease_until, self.settings)
                await session.commit()
            if state == "failed":
                log.warning("webhook delivery %s to endpoint %s failed for good (%s)", row.id, row.endpoint_id,
                            outcome.status or outcome.error)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the lease runs out and the row is sent again
            self.failed("webhooks", error)
        finally:
            self.in_flight[row.endpoint_id] -= 1

    async def close(self) -> None:
        await stop_tasks(list(self.tasks), "webhook send")
        if self._http is not None:
            await self._http.close()
