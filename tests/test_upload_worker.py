"""A customer upload's validation and commit run in a worker process, not in
the server's event loop (callcenter/uploads/worker.py; what that spares the
agents is measured in bench/dispositions_during_upload.py): a worker that dies loses nothing (503
with Retry-After, nothing committed, the same upload committed on the retry),
and the worker's audit rows carry the request's id like the server's own."""
import asyncio
import io
import os
import signal
import time
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from callcenter.customers.models import Customer
from callcenter.models import AuditEntry
from callcenter.spreadsheets.models import Upload
from callcenter.work.models import WorkItem
from tests.test_uploads_customers import HEADER, app, commit, upload  # noqa: F401 - app: the fixture

WORKER = b"callcenter.uploads.worker"


def rows_csv(n: int) -> bytes:
    lines = [HEADER.rstrip("\r\n")] + [f"98{i:08d};Customer {i};DEL01;;;;;" for i in range(n)]
    return ("\r\n".join(lines) + "\r\n").encode()


def workers() -> list[int]:
    """This process's children running an upload job."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))
        if parent == os.getpid() and WORKER in command:
            found.append(int(entry.name))
    return found


async def kill_first_worker(timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while not (found := workers()):
        assert time.monotonic() < deadline, "no upload worker started"
        await asyncio.sleep(0.005)
    os.kill(found[0], signal.SIGKILL)
    return found[0]


async def counts(sessions) -> tuple[int, int]:
    async with sessions() as session:
        return (await session.scalar(select(func.count()).select_from(Customer)),
                await session.scalar(select(func.count()).select_from(WorkItem)))


async def test_a_worker_killed_mid_commit_loses_nothing_and_the_retry_commits(app, sessions):
    out = await (await upload(app, rows_csv(3000))).json()
    assert out["status"] == "validated" and out["to_commit"] == 3000, out
    before = await counts(sessions)
    commit_request = asyncio.ensure_future(commit(app, out["id"]))
    pid = await kill_first_worker()
    resp = await commit_request
    body = await resp.json()
    assert resp.status == 503 and body["error"] == "upload_worker_stopped", body
    assert resp.headers["Retry-After"] == "5"
    assert "nothing was committed" in body["message"]
    assert await counts(sessions) == before                       # the transaction died with the worker
    async with sessions() as session:
        assert (await session.get(Upload, out["id"])).status == "validated"   # not stuck "committing"
    assert pid not in workers()                                    # reaped, no zombie left

    again = await commit(app, out["id"])
    result = await again.json()
    assert again.status == 200, result
    assert (result["created"], result["work_items"]) == (3000, 3000)
    assert await counts(sessions) == (before[0] + 3000, before[1] + 3000)


async def test_a_worker_killed_mid_validation_leaves_no_upload_and_no_file(app, sessions, settings):
    request = asyncio.ensure_future(upload(app, rows_csv(3000)))
    await kill_first_worker()
    resp = await request
    assert resp.status == 503 and (await resp.json())["error"] == "upload_worker_stopped"
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Upload)) == 0
    assert [p.name for p in Path(settings.uploads_dir).iterdir() if p.is_file()] == []
    out = await (await upload(app, rows_csv(10))).json()           # the next upload is not hindered
    assert out["status"] == "validated" and out["to_commit"] == 10


async def test_the_workers_audit_rows_carry_the_request_id(app, sessions):
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(rows_csv(5)), filename="c.csv", content_type="text/csv")
    resp = await app.client.post(f"/api/v1/campaigns/{app.rows['campaign']}/uploads", data=form,
                                 headers={**app.headers("manager_n"), "X-Request-Id": "upload-req-1"})
    out = await resp.json()
    resp = await app.client.post(f"/api/v1/uploads/{out['id']}/commit", json={},
                                 headers={**app.headers("manager_n"), "X-Request-Id": "commit-req-1"})
    assert resp.status == 200, await resp.json()
    async with sessions() as session:
        rows = dict((await session.execute(select(AuditEntry.action, AuditEntry.request_id).where(
            AuditEntry.action.in_(["upload.validate", "upload.commit"])))).all())
    assert rows == {"upload.validate": "upload-req-1", "upload.commit": "commit-req-1"}
