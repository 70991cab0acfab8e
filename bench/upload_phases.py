"""bench/dispositions_during_upload.py's figures: each save put in the phase of
the upload its span overlaps, the phases' latencies and 503s, a timeline, and
what PostgreSQL's busy connections waited for (pg_stat_activity) per phase.

A save is ``[tag, work item, wall-clock start, seconds, HTTP status]``;
``phases`` maps "validate" and "commit" to their [start, end] (wall clock)."""
from __future__ import annotations

import asyncio
import time

from bench.panel_bench import stats


def phase_of(start: float, end: float, phases: dict) -> str:
    """The phase a save's span overlaps (the commit first, then the validation),
    else the quiet stretch it lies in: before, between or after."""
    for name in ("commit", "validate"):
        if start <= phases[name][1] and end >= phases[name][0]:
            return name
    if end < phases["validate"][0]:
        return "before"
    return "between" if end < phases["commit"][0] else "after"


def by_phase(saves: list, phases: dict, server_times: dict) -> dict:
    groups: dict[str, list] = {p: [] for p in ("before", "validate", "between", "commit", "after")}
    for save in saves:
        groups[phase_of(save[2], save[2] + save[3], phases)].append(save)
    groups["quiet"] = groups["before"] + groups["between"] + groups["after"]
    out = {}
    for phase, group in groups.items():
        if not group:
            out[phase] = {"n": 0}
            continue
        in_server = [server_times[s[0]] for s in group if s[0] in server_times]
        out[phase] = {"agent_ms": stats([s[3] for s in group]),
                      "server_ms": stats(in_server) if in_server else None,
                      "status": {k: sum(1 for s in group if str(s[4]) == k) for k in sorted({str(s[4]) for s in group})}}
        out[phase]["503"] = sum(1 for s in group if s[4] == 503)
    return out


def timeline(saves: list, phases: dict, slot: float = 5.0) -> list:
    """Per ``slot`` seconds from the validation's start: [offset s, saves, slowest ms, 503s]."""
    zero = phases["validate"][0]
    slots: dict[int, list] = {}
    for save in saves:
        slots.setdefault(int((save[2] - zero) // slot), []).append(save)
    return [[k * slot, len(v), round(max(s[3] for s in v) * 1000), sum(1 for s in v if s[4] == 503)]
            for k, v in sorted(slots.items())]


async def sample_waits(url: str, stop: asyncio.Event, samples: list) -> None:
    """PostgreSQL: every 0.25 s, what the app's busy connections wait for (pg_stat_activity)."""
    import asyncpg

    con = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        while not stop.is_set():
            rows = await con.fetch("SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-'),"
                                   " left(regexp_replace(query, '\\s+', ' ', 'g'), 60) FROM pg_stat_activity"
                                   " WHERE application_name = 'callcenter' AND state = 'active'")
            samples.append((time.time(), [tuple(r) for r in rows]))
            await asyncio.sleep(0.25)
    finally:
        await con.close()


def waits_by_phase(samples: list, phases: dict) -> dict:
    out: dict[str, dict] = {}
    for at, rows in samples:
        phase = phase_of(at, at, phases)
        for wait, query in rows:
            key = f"{wait} {query}"
            out.setdefault(phase, {})[key] = out.get(phase, {}).get(key, 0) + 1
    return {p: dict(sorted(v.items(), key=lambda kv: -kv[1])[:8]) for p, v in out.items()}
