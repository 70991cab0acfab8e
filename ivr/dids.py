"""Which flow answers which DID: ``dids.yaml`` beside the flows.

    default: main                  # DIDs not listed, and calls without a DID
    dids:
      "8062247000": main           # one number
      "8062247001-8062247099": sales   # a range, first and last included

Numbers are digits as the carrier sends them (the dialplan strips a '+').
Ranges may not overlap, and every flow named must exist."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ivr.flow_files import read_data
from ivr.flows import FlowError

_NUMBER = re.compile(r"^[0-9]{3,15}$")


@dataclass(frozen=True)
class DidMap:
    default: str | None
    ranges: tuple[tuple[int, int, int, str], ...]  # (digit count, first, last, flow)

    def flow_for(self, did: str | None) -> str | None:
        """The flow for a validated DID (or None: the default flow)."""
        if did and _NUMBER.fullmatch(did):
            value = int(did)
            for length, first, last, flow in self.ranges:
                if len(did) == length and first <= value <= last:
                    return flow
        return self.default


def parse_dids(data, flows: set[str]) -> DidMap:
    def bad(message: str, key: str | None = None):
        raise FlowError("dids", message, field_name=key)

    if not isinstance(data, dict) or set(data) - {"default", "dids"}:
        bad("dids.yaml is {default: <flow>, dids: {<number or first-last>: <flow>}}")
    default = data.get("default")
    if default is not None and default not in flows:
        bad(f"unknown flow {default!r}", "default")
    entries = data.get("dids") or {}
    if not isinstance(entries, dict):
        bad("a map of numbers or ranges to flows", "dids")
    ranges = []
    for key, flow in entries.items():
        key = str(key)
        first, _, last = key.partition("-")
        last = last or first
        if not (_NUMBER.fullmatch(first) and _NUMBER.fullmatch(last)) or len(first) != len(last) \
                or int(last) < int(first):
            bad(f"{key!r} is not a number or a range first-last of equal length", f"dids.{key}")
        if flow not in flows:
            bad(f"unknown flow {flow!r}", f"dids.{key}")
        ranges.append((len(first), int(first), int(last), flow))
    ranges.sort()
    for a, b in zip(ranges, ranges[1:]):
        if a[0] == b[0] and b[1] <= a[2]:
            bad(f"ranges {a[1]}-{a[2]} and {b[1]}-{b[2]} overlap", "dids")
    return DidMap(default, tuple(ranges))


def load_dids(folder: Path, flows: set[str]) -> DidMap:
    """dids.yaml of ``folder``; without one, the only flow (if there is one) answers all."""
    path = next((folder / f"dids{ext}" for ext in (".yaml", ".yml", ".json")
                 if (folder / f"dids{ext}").exists()), None)
    if path is None:
        return DidMap(next(iter(flows)) if len(flows) == 1 else None, ())
    return parse_dids(read_data(path), flows)
