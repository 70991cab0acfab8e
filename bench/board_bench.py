"""The supervisor's board at the brief's scale: the snapshot's server time
(``callcenter.board.service.snapshot`` + JSON encoding) with 3,500 agents and
250 calls in progress, for an admin (everyone), a manager (one location) and
a team lead (one team).

    .venv/bin/python bench/board_bench.py [--agents 3500] [--calls 250] [--rounds 50] [--json out.json]

Set-up, in a fresh migrated SQLite database under a temporary folder: 7
locations, teams of 25 agents, 3,500 agents (3,000 logged in to one of 10
queues, 200 of them paused), 250 live calls (half connected, the rest
ringing) and 100 calls owing a disposition; the queue tracker holds the 3,000
members (their live states) and the call tracker follows the 250 calls. What
is timed: the snapshot's queries and assembly in-process (no HTTP, no
authentication: the API adds its middleware and the queue list on top) and
``json.dumps`` of the result. Median and 95th percentile over ``--rounds``
rounds per viewer, after one warm-up round."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from callcenter import features
from callcenter.board import service
from callcenter.calls.tracked import TrackedCall
from callcenter.config import Settings
from callcenter.db import make_engine, migrate, sessionmaker
from callcenter.models import Call, Trunk, User
from callcenter.org.models import Location, Team
from callcenter.org.scope import Scope
from callcenter.queues.board import Member
from callcenter.queues.models import AgentPause, Queue, QueueSession
from callcenter.queues.state import QueueTracker

QUEUES = 10


async def build(sessions, agents: int, calls: int) -> tuple[dict, QueueTracker, dict]:
    now = dt.datetime.now(dt.timezone.utc)
    tracker, tracked = QueueTracker(), {}
    async with sessions() as s, s.begin():
        locations = [Location(code=f"loc{i}", name=f"Location {i}") for i in range(7)]
        s.add_all(locations)
        trunk = Trunk(name="t1", host="127.0.0.1", port=5060, max_channels=500, did_start="8062247000",
                      did_end="8062247749", pilot="8062247000")
        queues = [Queue(name=f"q{i}", language="en") for i in range(QUEUES)]
        s.add_all([trunk, *queues])
        await s.flush()
        teams = [Team(name=f"team{i}", location_id=locations[i % 7].id) for i in range(agents // 25 + 1)]
        s.add_all(teams)
        await s.flush()
        users = [User(name=f"agent{i:04d}", role="agent", display_name=f"Agent {i}", languages="en,hi",
                      team_id=teams[i // 25].id, location_id=teams[i // 25].location_id) for i in range(agents)]
        lead = User(name="lead", role="teamlead", team_id=teams[0].id, location_id=teams[0].location_id)
        manager = User(name="manager", role="manager", location_id=locations[0].id)
        s.add_all([*users, lead, manager])
        await s.flush()
        for i, user in enumerate(users[:3000]):
            q = queues[i % QUEUES]
            s.add(QueueSession(agent_id=user.id, queue_id=q.id, logged_in_at=now))
            tracker.queue(q.name).members[f"PJSIP/{user.name}"] = Member(f"PJSIP/{user.name}", user.name,
                                                                          paused=i % 15 == 0)
            if i % 15 == 0:
                s.add(AgentPause(agent_id=user.id, reason="break", started_at=now))
        for i in range(calls + 100):
            user = users[(i * 13) % agents]
            owed = i >= calls
            call = Call(id=f"{i:032x}", agent_id=user.id, requested_by=user.name, mode="desktop",
                        number=f"+9198{i:08d}", trunk_id=trunk.id, caller_id="8062247000", channels=1,
                        state="ended" if owed else ("connected" if i % 2 else "agent_ringing"),
                        requested_at=now, agent_answered_at=now if i % 2 or owed else None,
                        customer_answered_at=now if i % 2 or owed else None, ended_at=now if owed else None,
                        work_item_id=None)
            s.add(call)
            if not owed:
                t = TrackedCall(call.id, state=call.state)
                tracked[call.id] = t
    viewers = {"admin": Scope(role="admin"),
               "manager": Scope(role="manager", user_id=manager.id, location_id=locations[0].id),
               "teamlead": Scope(role="teamlead", user_id=lead.id, team_id=teams[0].id,
                                 location_id=teams[0].location_id)}
    return viewers, tracker, tracked


async def main(args) -> dict:
    features.load()  # every feature's tables in the metadata
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(folder) / 'board.db'}")
        await migrate(engine)
        sessions = sessionmaker(engine)
        viewers, tracker, tracked = await build(sessions, args.agents, args.calls)
        queues = SimpleNamespace(tracker=tracker, views=lambda names: [tracker.view(n) for n in names])
        live = service.Live(calls=tracked, queues=queues, settings=Settings(path=Path(folder) / "cc.toml", state_dir=Path(folder)),
                            long_call_seconds=600)
        names = [f"q{i}" for i in range(QUEUES)]
        out = {"agents": args.agents, "calls": args.calls, "rounds": args.rounds, "viewers": {}}
        for who, scope in viewers.items():
            times, size = [], 0
            for round_ in range(args.rounds + 1):
                t0 = time.perf_counter()
                async with sessions() as session:
                    board = await service.snapshot(session, scope, service.Filters(), live, names)
                size = len(json.dumps(board))
                if round_:
                    times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            out["viewers"][who] = {"agents_shown": len(board["agents"]), "calls_shown": len(board["calls"]),
                                   "json_kb": round(size / 1024), "median_ms": round(statistics.median(times), 1),
                                   "p95_ms": round(times[int(len(times) * 0.95) - 1], 1)}
        await engine.dispose()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=3500)
    parser.add_argument("--calls", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json")
    arguments = parser.parse_args()
    result = asyncio.run(main(arguments))
    text = json.dumps(result, indent=2)
    print(text)
    if arguments.json:
        Path(arguments.json).write_text(text)
