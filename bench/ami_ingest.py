"""AMI ingest benchmark: events per CPU-second.

    .venv/bin/python bench/ami_ingest.py [--events N] [--rounds R]

Compares, in the same process, on the same byte stream fed in 4 kB chunks:

(a) plain panoramisk: ``AMIProtocol.data_received`` (per-chunk decode,
    ``Message.from_line``) + ``Manager.dispatch`` to a no-op callback
    (parsing only: the baseline);
(b) our parsing only: the link's protocol (``callcenter.ami.link._Protocol``:
    byte framer -> plain dict -> sliced dispatch) -> a no-op ``on_event``;
(c) our whole in-process pipeline: (b) -> ``CallTracker.on_event`` -> a
    reporter doing the trunk channel accounting in memory (:class:`Accounting`:
    reserved legs per trunk, released on ``leg_released`` and at the end of
    the call, foreign channel counts, ``forget()`` of ended calls as
    ``dialer.effects`` does).

(d) the server's fan-out: (b) -> ``PbxEvents.event`` (callcenter/ami/listeners.py)
    -> the (c) tracker and three more listeners (no-ops standing for the
    call fence, the queue state and the inbound calls); beside it (d0) the
    same four listeners called by one hand-written function, as the
    composition root did before features subscribed themselves.

What (c) does not include: in the server the accounting is Redis
(``callcenter.trunks.accounting``); its Lua scripts and HDEL/HSET run *in the
Redis server*, not in this process, and are awaited by the effects' worker
task off the parsing path.  The in-memory accounting here stands for the
bookkeeping this process does per report, not for Redis' cost.

The stream is built from ``tests/ami_streams/*.raw`` (repeated as whole
recordings until at least N messages, with call ids and customer uniqueids
rewritten so every repetition is a distinct call: ``cc-<32 hex>-a``), or, with
``--synthetic`` (or without recordings), synthesised: inbound calls made of
Newchannel/Newstate/DialBegin/DialEnd/BridgeEnter/Hangup... events with the
headers Asterisk 22 sends (not click-to-calls: in (c) the tracker sees their
trunk channels as foreign channels).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
CHUNK = 4096
NAMES = ["प्रिया शर्मा", "ಪ್ರಿಯಾ", "Rahul Verma", "அருண் குமார்", "Sneha", "রাহুল", "Imran Khan"]


def _noop(event: dict[str, str]) -> None:
    pass


# --------------------------------------------------------------- the stream
def _chan(prefix: str, name: str, state: tuple[str, str], cid: tuple[str, str],
          conn: tuple[str, str], ctx: str, exten: str, prio: str, uid: str, linked: str) -> list[tuple[str, str]]:
    p = prefix
    return [(f"{p}Channel", name), (f"{p}ChannelState", state[0]), (f"{p}ChannelStateDesc", state[1]),
            (f"{p}CallerIDNum", cid[0]), (f"{p}CallerIDName", cid[1]),
            (f"{p}ConnectedLineNum", conn[0]), (f"{p}ConnectedLineName", conn[1]),
            (f"{p}Language", "en"), (f"{p}AccountCode", ""), (f"{p}Context", ctx),
            (f"{p}Exten", exten), (f"{p}Priority", prio), (f"{p}Uniqueid", uid),
            (f"{p}Linkedid", linked)]


def _ev(name: str, *blocks: list[tuple[str, str]], priv: str = "call,all") -> str:
    lines = [f"Event: {name}", f"Privilege: {priv}"]
    for block in blocks:
        lines += [f"{k}: {v}" for k, v in block]
    return "\r\n".join(lines) + "\r\n\r\n"


def synthetic_call(i: int) -> list[str]:
    """The events of one inbound call answered by an agent (~12 events)."""
    t = 1_700_000_000 + i
    cust, agent = f"PJSIP/trunk-{2 * i:08x}", f"PJSIP/agent{i % 50:03d}-{2 * i + 1:08x}"
    cu, au = f"{t}.{2 * i}", f"{t}.{2 * i + 1}"
    num, nm = f"9198{i % 100000000:08d}", NAMES[i % len(NAMES)]
    ag = (f"{1000 + i % 50}", f"Agent {i % 50}")
    c = lambda st, conn=("<unknown>", "<unknown>"), ctx="from-trunk", ex="18001234567", pr="1": _chan(  # noqa: E731
        "", cust, st, (num, nm), conn, ctx, ex, pr, cu, cu)
    a = lambda st, prefix="", conn=(num, nm): _chan(  # noqa: E731
        prefix, agent, st, ag, conn, "agents", "s", "1", au, cu)
    bridge = [("BridgeUniqueid", f"b{i:08x}-0000-4000-8000-000000000000"), ("BridgeType", "basic"),
              ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", "<unknown>"),
              ("BridgeName", "<unknown>"), ("BridgeNumChannels", "1"), ("BridgeVideoSourceMode", "none")]
    return [
        _ev("Newchannel", c(("0", "Down"))),
        _ev("Newstate", c(("4", "Ring"))),
        _ev("Newexten", c(("4", "Ring"), ctx="inbound", pr="2"),
            [("Extension", "18001234567"), ("Application", "Queue"), ("AppData", "sales"),
             ("Source", "")]),
        _ev("Newchannel", a(("0", "Down"))),
        _ev("DialBegin", c(("4", "Ring")), a(("0", "Down"), "Dest"),
            [("DialString", f"agent{i % 50:03d}")]),
        _ev("Newstate", a(("5", "Ringing"))),
        _ev("Newstate", a(("6", "Up"))),
        _ev("DialEnd", c(("4", "Ring")), a(("6", "Up"), "Dest"), [("DialStatus", "ANSWER")]),
        _ev("Newstate", c(("6", "Up"), conn=ag)),
        _ev("BridgeEnter", bridge, c(("6", "Up"), conn=ag)),
        _ev("BridgeEnter", bridge, a(("6", "Up"))),
        _ev("Hangup", c(("6", "Up"), conn=ag), [("Cause", "16"), ("Cause-txt", "Normal Clearing")]),
        _ev("Hangup", a(("6", "Up")), [("Cause", "16"), ("Cause-txt", "Normal Clearing")]),
    ]


_CALL_ID = re.compile(rb"cc-([0-9a-f]{32})-a")
_CUSTOMER_UID = re.compile(rb"(Uniqueid: )(\d+)\.(\d+)")


def recordings() -> list[bytes]:
    """The bytes of each tests/ami_streams/*.raw, banner line stripped."""
    out = []
    for path in sorted((ROOT / "tests" / "ami_streams").glob("*.raw")):
        data = path.read_bytes()
        if data.startswith(b"Asterisk Call Manager/"):
            data = data.split(b"\r\n", 1)[1] if b"\r\n" in data else b""
        out.append(data)
    return out


def as_call(data: bytes, serial: int) -> bytes:
    """One recording as a distinct call: its call id becomes ``serial`` in
    32 hex digits, its customer channel's uniqueid ``<1e9 + serial>.<n>``."""
    (old,) = set(_CALL_ID.findall(data))
    data = data.replace(old, f"{serial:032x}".encode())
    return _CUSTOMER_UID.sub(lambda m: m[1] + str(1_000_000_000 + serial).encode() + b"." + m[3], data)


def messages(data: bytes, events_only: bool = False) -> list[bytes]:
    return [m + b"\r\n\r\n" for m in data.split(b"\r\n\r\n")
            if m.strip() and (not events_only or m.startswith(b"Event: "))]


def recorded_messages() -> list[bytes]:
    """Messages from tests/ami_streams/*.raw (banner lines stripped)."""
    return [m for data in recordings() for m in messages(data)]


def build_stream(n: int, synthetic: bool = False) -> tuple[bytes, int, str]:
    """(bytes with a banner and about n messages, their count, where they came
    from).  Recordings are repeated whole, each repetition a distinct call."""
    # the click-to-call recordings (one cc-<id>-a call each); the queue recordings are inbound
    recorded = [] if synthetic else [d for d in recordings() if len(set(_CALL_ID.findall(d))) == 1]
    if recorded:
        msgs, serial = [], 0
        while len(msgs) < n:
            for data in recorded:
                serial += 1
                # the recorder's Login/Logoff responses are not part of a live stream
                msgs += messages(as_call(data, serial), events_only=True)
        n = len(msgs)
        source = (f"the {len(recorded)} recordings of tests/ami_streams/*.raw repeated as "
                  f"{serial} distinct calls (ids rewritten)")
    else:
        msgs, i = [], 0
        while len(msgs) < n:
            msgs += [m.encode("utf-8") for m in synthetic_call(i)]
            i += 1
        msgs = msgs[:n]
        source = "synthetic Asterisk-22-like call events"
    return BANNER + b"".join(msgs), n, source


def chunks(stream: bytes, size: int = CHUNK) -> list[bytes]:
    return [stream[i:i + size] for i in range(0, len(stream), size)]


class _Transport:
    """Just enough of a transport for the protocols."""

    def __init__(self) -> None:
        self.reading = True

    def write(self, data: bytes) -> None:
        pass

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        pass

    abort = close

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default=None):
        return default


# ------------------------------------------------------ tracker + accounting
class Accounting:
    """The tracker's Reporter with the trunk accounting kept in memory.

    Mirrors ``dialer.effects.CallEffects`` + ``TrunkAccounting`` without I/O:
    ``reserved[trunk]`` is the set of reserved legs (``<call id>:<role>``, what
    the Redis hash holds), released on ``leg_released`` and again (idempotent,
    like HDEL) when the call ends; ``foreign[trunk]`` is the count the tracker
    reports; ended calls are forgotten by the tracker, as the effects do."""

    def __init__(self) -> None:
        self.tracker = None  # set by pipeline()
        self.placed: dict[str, str] = {}  # call id -> trunk (dialer.placed)
        self.reserved: dict[str, set[str]] = {}
        self.foreign: dict[str, int] = {}
        self.rows: dict[str, str] = {}  # call id -> last state written
        self.ended = self.releases = 0

    def reserve(self, trunk: str, call_id: str, mobile: bool) -> None:
        legs = self.reserved.setdefault(trunk, set())
        legs.add(f"{call_id}:customer")
        if mobile:
            legs.add(f"{call_id}:agent")
        self.placed[call_id] = trunk

    def call_changed(self, call) -> None:
        self.rows[call.call_id] = call.state
        if call.state == "ended":
            trunk = self.placed.pop(call.call_id, None)
            if trunk is not None:
                legs = self.reserved[trunk]
                legs.discard(f"{call.call_id}:agent")
                legs.discard(f"{call.call_id}:customer")
            self.ended += 1
            self.tracker.forget(call.call_id)

    def leg_released(self, call, role: str) -> None:
        self.releases += 1
        trunk = self.placed.get(call.call_id)
        if trunk is not None:
            self.reserved[trunk].discard(f"{call.call_id}:{role}")

    def foreign_channels(self, trunk: str, count: int) -> None:
        self.foreign[trunk] = count

    def in_use(self) -> dict[str, int]:
        return {t: len(legs) for t, legs in self.reserved.items()}


def pipeline(stream: bytes, trunks: set[str]) -> tuple[Callable[[dict[str, str]], None], Accounting]:
    """A fresh tracker + accounting, with the stream's calls placed (reserved
    and expected) as the dialer does before originating them."""
    from callcenter.calls.tracker import CallTracker

    accounting = Accounting()
    tracker = CallTracker(accounting, trunks)
    accounting.tracker = tracker
    for call_id in dict.fromkeys(m.decode() for m in _CALL_ID.findall(stream)):
        mobile = re.search(rb"DestUniqueid: cc-" + call_id.encode() + rb"-a\r\nDialString: \d+@", stream)
        accounting.reserve(next(iter(trunks)), call_id, mobile is not None)
        tracker.expect(call_id)
    return tracker.on_event, accounting


def fanned_out(on_event, through_pbx_events: bool):
    """(d)/(d0): ``on_event`` and three no-op listeners, through PbxEvents or one function."""
    from callcenter.ami.listeners import PbxEvents

    if through_pbx_events:
        events = PbxEvents()
        for listener in (on_event, _noop, _noop, _noop):
            events.on_event(listener)
        return events.event

    def direct(event):
        on_event(event)
        _noop(event)
        _noop(event)
        _noop(event)
    return direct


# ----------------------------------------------------------- measurements
def panoramisk_rate(stream: bytes, n_events: int) -> float:
    """(a) plain panoramisk, events per CPU-second."""
    from panoramisk.ami_protocol import AMIProtocol
    from panoramisk.manager import Manager

    manager = Manager()
    manager.callbacks.clear()  # no FullyBooted re-send hook: just a no-op callback
    manager.patterns = []
    manager.register_event("*", lambda manager, event: None)
    proto = AMIProtocol()
    proto.connection_made(_Transport())
    proto.factory = manager
    proto.encoding = "utf8"
    pieces = chunks(stream)
    gc.collect()
    t0 = time.process_time()
    for piece in pieces:
        proto.data_received(piece)
    return n_events / (time.process_time() - t0)


def ingest_rate(stream_bytes: bytes, on_event: Callable[[dict[str, str]], None] = _noop, *,
                n_events: int | None = None) -> float:
    """(b) our pipeline, events per CPU-second: the link's real protocol
    (framer -> plain dict -> sliced dispatch) feeding ``on_event``.  Plug the
    call tracker + trunk accounting in as ``on_event``.  The stream must start
    with the AMI banner.  Runs its own event loop (the dispatch of a large
    backlog is spread over loop iterations, as in production)."""
    return asyncio.run(_ingest(stream_bytes, on_event, n_events))


async def _ingest(stream: bytes, on_event, n_events: int | None) -> float:
    from callcenter.ami.link import AmiLink, _Protocol
    from callcenter.config import AmiSettings

    counted = 0
    if n_events is None:  # count what arrives (costs a wrapper call per event)
        inner = on_event

        def on_event(ev):  # noqa: F811
            nonlocal counted
            counted += 1
            inner(ev)

    link = AmiLink(AmiSettings(), on_event=on_event)
    proto = _Protocol(link, asyncio.get_running_loop())
    proto.connection_made(_Transport())
    pieces = chunks(stream)
    gc.collect()
    t0 = time.process_time()
    for piece in pieces:
        proto.data_received(piece)
        while proto._scheduled:  # let the sliced dispatch finish, as the loop would
            await asyncio.sleep(0)
    elapsed = time.process_time() - t0
    return (n_events if n_events is not None else counted) / elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--trunk", default="carrier1", help="the recordings' trunk endpoint")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--synthetic", action="store_true",
                    help="ignore tests/ami_streams/*.raw and synthesise the events")
    args = ap.parse_args(argv)
    stream, n, source = build_stream(args.events, args.synthetic)
    trunks = {args.trunk}
    # sanity: what reaches on_event (replies to the recorded Login etc. don't)
    seen: list[dict[str, str]] = []
    ingest_rate(stream, seen.append, n_events=n)
    assert all(type(e) is dict and "Event" in e for e in seen)
    # sanity of (c): every call ends, every reservation is released, nothing leaks
    on_event, acct = pipeline(stream, trunks)
    calls = len(acct.placed)
    ingest_rate(stream, on_event, n_events=n)
    if not args.synthetic:
        assert acct.ended == calls and not acct.placed and acct.tracker.calls == {}, (acct.ended, calls)
        assert acct.in_use() == {t: 0 for t in trunks} and acct.releases == 2 * calls
    plain, ours, full, fan, direct = [], [], [], [], []
    for _ in range(args.rounds):
        plain.append(panoramisk_rate(stream, n))
        ours.append(ingest_rate(stream, _noop, n_events=n))
        on_event, _ = pipeline(stream, trunks)  # fresh state; placing calls is not timed
        full.append(ingest_rate(stream, on_event, n_events=n))
        on_event, _ = pipeline(stream, trunks)
        direct.append(ingest_rate(stream, fanned_out(on_event, False), n_events=n))
        on_event, _ = pipeline(stream, trunks)
        fan.append(ingest_rate(stream, fanned_out(on_event, True), n_events=n))
    p, o, f = statistics.median(plain), statistics.median(ours), statistics.median(full)
    d, d0 = statistics.median(fan), statistics.median(direct)
    print(f"AMI ingest: {n} messages ({len(seen)} events), {len(stream) / 1e6:.1f} MB, {CHUNK} B chunks, "
          f"{args.rounds} rounds, median; stream: {source}\n")
    print("| pipeline | events / CPU-second (median) | min | max |")
    print("|---|---:|---:|---:|")
    print(f"| (a) panoramisk AMIProtocol.data_received + dispatch (no-op), parse only | {p:,.0f} | {min(plain):,.0f} | {max(plain):,.0f} |")
    print(f"| (b) callcenter.ami framer -> dict -> on_event (no-op), parse only | {o:,.0f} | {min(ours):,.0f} | {max(ours):,.0f} |")
    print(f"| (c) framer -> CallTracker.on_event -> in-memory trunk accounting, parse + track + account | {f:,.0f} | {min(full):,.0f} | {max(full):,.0f} |")
    print(f"| (d0) (c) and three no-op listeners called by one function (before) | {d0:,.0f} | {min(direct):,.0f} | {max(direct):,.0f} |")
    print(f"| (d) (c) and three no-op listeners through PbxEvents (the server now) | {d:,.0f} | {min(fan):,.0f} | {max(fan):,.0f} |")
    print(f"| ratio (c) / (a) | {f / p:.1f}x | | |")
    print(f"| ratio (d) / (d0) | {d / d0:.3f} | | |")
    print(f"| ratio (b) / (a) | {o / p:.1f}x | | |")
    print(f"\nrates count all {n} messages; {len(seen)} of them are events delivered to on_event; "
          f"(c) tracked {calls} calls to their end, every reserved leg released, ended calls forgotten. "
          "The real accounting's Redis Lua/HDEL run in the Redis server, not in this process, "
          "and are not measured.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
