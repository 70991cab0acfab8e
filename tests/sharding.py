"""pytest plugin: run one share of the suite (``CC_TEST_SHARD=i/n``, 1-based).

``scripts/run_tests.py`` starts several pytest processes at once (each in a
network namespace of its own, so each has its own Asterisk, Redis and ports)
and gives each a shard. Whole test files go to one shard, so a file's module
fixtures start once; files are dealt out longest first (by the seconds in
``tests/durations.json``, written by ``scripts/run_tests.py --record``) to the
shard with the least work so far, so the shards end at about the same time."""
from __future__ import annotations

import json
import os
from pathlib import Path

DURATIONS = Path(__file__).resolve().parent / "durations.json"
UNKNOWN_FILE_SECONDS = 10.0


def _shard() -> tuple[int, int] | None:
    raw = os.environ.get("CC_TEST_SHARD", "")
    if not raw:
        return None
    index, _, count = raw.partition("/")
    index, count = int(index), int(count)
    if not 1 <= index <= count:
        raise ValueError(f"CC_TEST_SHARD={raw!r}: want i/n with 1 <= i <= n")
    return index, count


def deal(files: list[str], count: int, seconds: dict[str, float]) -> dict[str, int]:
    """Each file's shard (0-based): longest first, to the least loaded shard."""
    load = [0.0] * count
    shard_of = {}
    for name in sorted(files, key=lambda f: (-seconds.get(f, UNKNOWN_FILE_SECONDS), f)):
        target = min(range(count), key=lambda i: (load[i], i))
        shard_of[name] = target
        load[target] += seconds.get(name, UNKNOWN_FILE_SECONDS)
    return shard_of


def pytest_collection_modifyitems(config, items):
    shard = _shard()
    if shard is None:
        return
    index, count = shard
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    files = sorted({item.nodeid.split("::", 1)[0] for item in items})
    shard_of = deal(files, count, seconds)
    keep, drop = [], []
    for item in items:
        (keep if shard_of[item.nodeid.split("::", 1)[0]] == index - 1 else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
