"""The heavy half of a customer upload runs in a worker process of its own,
not in the web server's event loop: the validation (parsing the sheet,
checking every row, its look-ups) and the commit (its 500-row chunks built
and bound). In the server they held the loop and, through the parsing
thread, the GIL for tens of seconds on a 100,000-row file, and every agent's
disposition saved meanwhile waited behind them (docs/benchmarks.md,
"Dispositions while a 100,000-row upload commits").

One child Python per job (``python -m callcenter.uploads.worker``): it reads
the job from its stdin (pickled: the settings, the caller's scope, the
database URL of the server's own engine), runs the same code the server ran
(``validate_customers``, ``commit_and_allocate``) on an engine of its own,
and writes its result or its error on stdout. Pickle is safe here: both ends
are this program, on a pipe only they hold. A fresh process per job keeps
nothing between uploads (a 100,000-row file's memory is given back when it
ends) and costs 0.5–1 s of start against the tens of seconds of a big file.

A worker that dies (killed, out of memory) answers 503 ``upload_worker_stopped``
with Retry-After: its transaction died with its connection, so nothing was
committed and the upload can be committed again. A request cancelled while
its worker runs kills it the same way (nothing half done)."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pickle
import sys
from pathlib import Path

from callcenter import db
from callcenter.audit_chain import REQUEST_ID
from callcenter.config import FEATURE_SECTIONS
from callcenter.errors import DomainError
from callcenter.spreadsheets import store as files
from callcenter.uploads.commit import commit_and_allocate
from callcenter.uploads.validate import validate_customers

log = logging.getLogger(__name__)
PROJECT = str(Path(__file__).resolve().parents[2])   # the tree this server runs from


class UploadWorkerStopped(DomainError):
    error_id = "upload_worker_stopped"
    status = 503
    retry_after = 5


def _database_url(sessions) -> str:
    """The URL of the server's own engine (a test's database too), password included."""
    return sessions.kw["bind"].url.render_as_string(hide_password=False)


def _whole(settings):
    """A copy of ``settings`` with every feature's section in it: the worker
    loads no features (their imports would double its start), so it cannot
    fill a section in from the features' defaults as the server does."""
    whole = dataclasses.replace(settings)
    for name in FEATURE_SECTIONS:
        getattr(whole, name)
    return whole


async def run(sessions, settings, job: str, **arguments):
    """``job``'s result from a worker process; its DomainError (or database
    error) raised here as if it had happened in this process."""
    payload = pickle.dumps({"job": job, "url": _database_url(sessions), "settings": _whole(settings),
                            "request_id": REQUEST_ID.get(), "arguments": arguments,
                            "log_level": logging.getLogger().getEffectiveLevel()})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PROJECT, os.environ.get("PYTHONPATH")]))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.uploads.worker", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, env=env, cwd=PROJECT)
    try:
        out, _ = await process.communicate(payload)
    except BaseException:  # cancelled: the job dies with the request, its transaction rolled back
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0 or not out:
        log.error("upload worker for %s stopped (exit %s)", job, process.returncode)
        raise UploadWorkerStopped("the upload's worker stopped before it finished; nothing was "
                                  "committed; try again in a few seconds", job=job)
    ok, value = pickle.loads(out)
    if not ok:
        raise value
    return value


async def validate(services, scope, campaign_id: int, saved, *, actor: str, today) -> int:
    """The saved file validated (``validate_customers``) by a worker: the new Upload's id.
    A worker that died leaves no file behind (the validation's own errors delete it)."""
    try:
        return await run(services.sessions, services.settings, "validate", scope=scope,
                         campaign_id=campaign_id, saved=saved, actor=actor, today=today)
    except (UploadWorkerStopped, asyncio.CancelledError):
        directory = services.settings.uploads_dir
        files.delete(directory, saved.stored_name)
        files.staged_path(directory, saved.stored_name).unlink(missing_ok=True)
        raise


async def commit(services, scope, upload_id: int, **arguments) -> dict:
    """``commit_and_allocate`` by a worker: its result."""
    return await run(services.sessions, services.settings, "commit", scope=scope,
                     upload_id=upload_id, **arguments)


# -- in the worker process ---------------------------------------------------------
async def _validate(sessions, settings, *, scope, campaign_id, saved, actor, today) -> int:
    async with sessions() as session:
        upload = await validate_customers(session, scope, campaign_id, saved, actor=actor,
                                          settings=settings, today=today)
        await session.commit()
    return upload.id


async def _commit(sessions, settings, **arguments) -> dict:
    return await commit_and_allocate(sessions, settings=settings, **arguments)


JOBS = {"validate": _validate, "commit": _commit}


async def _work(request: dict):
    REQUEST_ID.set(request["request_id"])
    settings = request["settings"]
    engine = db.make_engine(request["url"], settings.database.busy_timeout)
    try:
        return await JOBS[request["job"]](db.sessionmaker(engine), settings, **request["arguments"])
    finally:
        await engine.dispose()


def _answer(ok: bool, value) -> bytes:
    try:
        return pickle.dumps((ok, value))
    except Exception:  # noqa: BLE001 - an error that does not pickle still reaches the server
        return pickle.dumps((False, RuntimeError(f"{type(value).__name__}: {value}")))


def main() -> None:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr            # nothing but the answer on the pipe
    request = pickle.load(sys.stdin.buffer)
    logging.basicConfig(level=request["log_level"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        answer = _answer(True, asyncio.run(_work(request)))
    except Exception as error:  # noqa: BLE001 - the server raises it in the request
        if not isinstance(error, DomainError):
            log.exception("upload %s job failed", request.get("job"))
        answer = _answer(False, error)
    out.write(answer)
    out.flush()


if __name__ == "__main__":
    main()
