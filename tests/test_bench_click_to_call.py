"""The click-to-call load bench's own figures (bench/click_to_call_load.py):
its recordings check tells sound from silence, and its PostgreSQL is durable
and its CPU reading keeps the work of backends that have ended."""
import asyncio
import math
import os
import struct
import wave

import pytest

from bench.call_audio import AGENT_TONE, CARRIER_TONE, recordings_summary
from tests import own_postgres


def write_wav(path, samples) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))


def test_the_recordings_check_tells_a_call_with_both_voices_from_silence_and_empty_files(tmp_path):
    day = tmp_path / "recordings" / "2026" / "12" / "07"
    both = [int(4000 * math.sin(2 * math.pi * CARRIER_TONE * n / 8000))
            + int(4000 * math.sin(2 * math.pi * AGENT_TONE * n / 8000)) for n in range(8000)]
    write_wav(day / "a-both.wav", both)
    write_wav(day / "b-silent.wav", [0] * 8000)
    write_wav(day / "c-empty.wav", [])
    for age, name in enumerate(("a-both.wav", "b-silent.wav", "c-empty.wav")):
        os.utime(day / name, (1_800_000_000 + age, 1_800_000_000 + age))

    summary = recordings_summary(tmp_path / "recordings")

    assert summary["count"] == 3 and summary["empty"] == 1
    assert summary["min_bytes"] == 44 and summary["max_bytes"] == 44 + 16000
    checks = {c["file"]: c for c in summary["tone_check"]}
    assert checks["a-both.wav"]["carrier_500hz_share"] > 0.9
    assert checks["a-both.wav"]["agent_700hz_share"] > 0.9
    assert checks["b-silent.wav"]["carrier_500hz_share"] == 0 == checks["b-silent.wav"]["agent_700hz_share"]
    assert checks["c-empty.wav"]["frames"] == 0
    assert recordings_summary(tmp_path / "nothing-here")["count"] == 0


async def test_the_bench_postgres_is_durable_and_counts_the_cpu_of_backends_that_ended():
    if not own_postgres.available():
        pytest.skip("PostgreSQL's programs (initdb, pg_ctl) are not installed")
    import asyncpg

    from bench.bench_postgres import BenchPostgres

    postgres = BenchPostgres()
    try:
        url = await postgres.start()
        assert postgres.settings["fsync"] == "on" and postgres.settings["full_page_writes"] == "on"
        connection = await asyncpg.connect(url.replace("+asyncpg", ""))
        assert await connection.fetchval("SELECT count(*) FROM alembic_version") == 1  # migrated
        before = postgres.cpu_seconds()
        await connection.fetchval("SELECT count(*) FROM generate_series(1, 4000000)")
        during = postgres.cpu_seconds()
        await connection.close()
        await asyncio.sleep(0.5)   # the backend has ended and been reaped by the postmaster
        after = postgres.cpu_seconds()
        assert during - before >= 0.1, (before, during)
        assert after >= during - 0.02, (during, after)   # its CPU is not lost with the process
    finally:
        postgres.remove()
