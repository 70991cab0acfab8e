"""Redis's call accounting put right from what the server knows.

- :func:`rebuild`: Redis came back empty (or never had it): the legs still
  held and the agents' claims of the calls in progress, taken from the call
  tracker and the dialer, written back before new calls are admitted.
- :func:`free_leaked`: reservations no live call holds, released (and the
  stale claims below), by the process that owns the PBX's call work.
- :func:`free_stale_claims`: an agent's claim whose call is over (its release
  was lost, e.g. Redis was down when the call ended) is dropped, so the agent
  is not refused as ``agent_busy`` for the claim's six hours."""
from __future__ import annotations

import logging
import time

from sqlalchemy import select

from callcenter.models import Call

log = logging.getLogger(__name__)


async def _agents_of(sessions, call_ids: set[str]) -> dict[str, int]:
    if not call_ids:
        return {}
    async with sessions() as session:
        rows = (await session.execute(select(Call.id, Call.agent_id).where(Call.id.in_(call_ids)))).all()
    return {call_id: agent_id for call_id, agent_id in rows}


async def rebuild(accounting, tracker, dialer, effects, limits: dict[str, tuple[int, int]], sessions,
                  claim_seconds: int, merge: bool = False) -> str:
    """Write the accounting of the calls in progress back into Redis (only
    add this server's legs and claims when ``merge``: another server rebuilt
    it). Returns the epoch in force."""
    held: dict[str, dict[str, float]] = {trunk: {} for trunk in limits}
    claims: dict[int, str] = {}
    unplaced: set[str] = set()
    for call in tracker.active_calls():
        placed = dialer.placed.get(call.call_id)
        if placed is not None:
            freed = effects.released_legs(call.call_id)
            if call.state != "queued":  # a queued call holds its agent, not yet channels
                for leg in dialer._legs(placed):
                    if leg.rsplit(":", 1)[1] not in freed and placed.trunk in held:
                        held[placed.trunk][leg] = placed.requested_at
            claims[placed.agent_id] = call.call_id
            continue
        for leg in (call.agent, call.customer):  # a call placed by another server, or before a restart
            if leg.trunk in held and leg.uniqueid and leg.hungup_at is None:
                held[leg.trunk][f"{call.call_id}:{leg.role}"] = leg.seen_at or time.time()
        unplaced.add(call.call_id)
    for call_id, agent_id in (await _agents_of(sessions, unplaced)).items():
        claims.setdefault(agent_id, call_id)
    foreign = tracker.foreign_counts()
    waiting: dict[str, int] = {}
    for call_id in list(dialer._waiters):  # queued for a channel: counted again
        placed = dialer.placed.get(call_id)
        if placed is not None:
            waiting[placed.trunk] = waiting.get(placed.trunk, 0) + 1
    epoch = await accounting.restore(limits, held, claims, foreign, claim_seconds, merge=merge, waiting=waiting)
    log.info("call accounting %s Redis: %d channels held, %d agents on calls",
             "of this server added to" if merge else "rebuilt in", sum(len(v) for v in held.values()), len(claims))
    return epoch


async def free_stale_claims(accounting, live: set[str], sessions, claim_seconds: int,
                            older_than: float, ended: frozenset[str] = frozenset()) -> int:
    """Drop the claims of calls that are over: not live here, claimed more than
    ``older_than`` seconds ago (or known ``ended``), and whose row is ended (or absent)."""
    stale = {agent_id: call_id for agent_id, (call_id, ttl) in (await accounting.claims()).items()
             if call_id not in live and (call_id in ended or claim_seconds - ttl > older_than)}
    if not stale:
        return 0
    async with sessions() as session:
        states = dict((await session.execute(
            select(Call.id, Call.state).where(Call.id.in_(set(stale.values()))))).all())
    freed = 0
    for agent_id, call_id in stale.items():
        if states.get(call_id, "ended") == "ended" and await accounting.drop_claim(agent_id, call_id):
            log.warning("agent %s freed: their claim named call %s, which is over", agent_id, call_id)
            freed += 1
    return freed



async def free_leaked(accounting, live: set[str], trunks, sessions, claim_seconds: int, setup: float,
                      ended: frozenset[str] = frozenset()) -> bool:
    """Release the reservations (older than ``setup`` seconds, or of calls known
    ``ended``) of calls not ``live``, then the stale claims; True when anything was freed."""
    freed = False
    for trunk in trunks:
        for leg, reserved_at in (await accounting.reservations(trunk)).items():
            call_id = leg.split(":", 1)[0]
            if call_id not in live and (call_id in ended or time.time() - reserved_at > setup):
                if await accounting.release(trunk, leg):
                    log.warning("released leaked reservation %s on %s", leg, trunk)
                    freed = True
    return bool(await free_stale_claims(accounting, live, sessions, claim_seconds, setup, ended)) or freed
