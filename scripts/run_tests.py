"""`make test`: the whole suite on SQLite and again on PostgreSQL, in parallel shards.

    python scripts/run_tests.py [--databases sqlite,postgres] [--shards N] [--record] [-- pytest args]

PostgreSQL is a throw-away cluster in a temporary folder (Debian's
postgresql, run as the ``postgres`` user when we are root; tests/own_postgres.py),
reached over a Unix socket only, removed at the end. Each database's suite is split into
``--shards`` pytest processes (tests/sharding.py deals out whole files by
their recorded seconds); every process runs in a network namespace of its
own (``unshare -n``), so each has its own Asterisk, Redis and loopback ports
and none can disturb another. Their output goes to
``test-artifacts/tests-<database>-<i>.log``; this prints a line as each
ends, then the failures of those that failed. Exit status: 0 when every
shard passed (a shard that collected nothing passes).

``--record`` also writes ``tests/durations.json`` (seconds per test file)
from this run, for the next runs' dealing."""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests import own_postgres  # noqa: E402 - the tests' own throw-away cluster, shared by this run

ARTIFACTS = REPO / "test-artifacts"
PYTHON = REPO / ".venv" / "bin" / "python"
DURATIONS = REPO / "tests" / "durations.json"
NO_TESTS_COLLECTED = 5


def can_isolate() -> bool:
    """Network namespaces are there (root, unshare): shards may run at once."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], stderr=subprocess.DEVNULL).returncode == 0


def shard_command(pytest_args: list[str], basetemp: Path, isolated: bool) -> list[str]:
    command = [str(PYTHON), "-m", "pytest", f"--basetemp={basetemp}", *pytest_args]
    if isolated:
        script = 'ip link set lo up && exec "$@"'
        return ["unshare", "-n", "sh", "-c", script, "shard", *command]
    return command


def summary(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()
    return lines[-1] if lines else "(no output)"


def failures(log: Path) -> str:
    """The log from pytest's FAILURES/ERRORS section to its end."""
    text = log.read_text(errors="replace")
    match = re.search(r"^=+ (FAILURES|ERRORS) =+$", text, re.M)
    return text[match.start():] if match else text[-20000:]


def record(logs: list[Path]) -> None:
    seconds: dict[str, float] = {}
    for log in logs:
        for m in re.finditer(r"^([\d.]+)s (?:call|setup|teardown)\s+(tests/[^:\s]+)", log.read_text(), re.M):
            seconds[m.group(2)] = round(seconds.get(m.group(2), 0.0) + float(m.group(1)), 2)
    DURATIONS.write_text(json.dumps(dict(sorted(seconds.items())), indent=1) + "\n")
    print(f"run_tests: {len(seconds)} files' seconds written to {DURATIONS.relative_to(REPO)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--shards", type=int, default=int(os.environ.get("CC_TEST_SHARDS", "2")),
                        help="pytest processes per database (default 2, or CC_TEST_SHARDS)")
    parser.add_argument("--record", action="store_true", help="write tests/durations.json")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    databases = [d for d in args.databases.split(",") if d]
    pytest_args = list(args.pytest_args) + (["--durations=0"] if args.record else [])
    ARTIFACTS.mkdir(exist_ok=True)
    postgres = None
    if "postgres" in databases:
        if not own_postgres.available():
            sys.exit("run_tests: PostgreSQL's initdb and pg_ctl not found (apt-get install postgresql)")
        postgres = own_postgres.OwnPostgres(
            "-c synchronous_commit=off -c max_connections=500 -c shared_buffers=128MB")
    started = time.monotonic()
    running = []
    isolated = can_isolate()
    scratch = Path(tempfile.mkdtemp(prefix="cc-tests-"))  # this run's own: two runs never share one
    if not isolated:  # one loopback for all: one shard at a time (slower, same tests)
        print("run_tests: no network namespaces here (root and unshare): shards run one after another",
              flush=True)
    try:
        if postgres is not None:
            postgres.start()
            print(f"run_tests: PostgreSQL cluster in {postgres.dir}", flush=True)
        for database in databases:
            for index in range(1, args.shards + 1):
                name = f"{database}-{index}"
                env = dict(os.environ, CC_TEST_SHARD=f"{index}/{args.shards}", PYTHONUNBUFFERED="1")
                env.pop("CALLCENTER_DATABASE_URL", None)
                if database == "postgres":
                    env["CC_TEST_POSTGRES"] = postgres.admin_url
                else:
                    env.pop("CC_TEST_POSTGRES", None)
                log = ARTIFACTS / f"tests-{name}.log"
                basetemp = scratch / name
                with log.open("w") as out:
                    process = subprocess.Popen(shard_command(pytest_args, basetemp, isolated), cwd=REPO,
                                               env=env, stdout=out, stderr=subprocess.STDOUT)
                running.append((name, process, log))
                if not isolated:
                    process.wait()
        print(f"run_tests: {len(running)} shards started ({', '.join(n for n, _, _ in running)}); "
              f"logs in {ARTIFACTS.relative_to(REPO)}/", flush=True)
        failed = []
        for name, process, log in running:
            code = process.wait()
            minutes = (time.monotonic() - started) / 60
            print(f"run_tests: {name} ended ({code}) after {minutes:.1f} min: {summary(log)}", flush=True)
            if code not in (0, NO_TESTS_COLLECTED):
                failed.append((name, log))
    finally:
        for _, process, _ in running:
            if process.poll() is None:
                process.kill()
        if postgres is not None:
            postgres.remove()
    for name, log in failed:
        print(f"\n{'#' * 30} {name}: {log.relative_to(REPO)} {'#' * 30}\n{failures(log)}")
    if not failed:
        shutil.rmtree(scratch, ignore_errors=True)  # a failed run's test folders stay, to look at
    if args.record:
        record([log for _, _, log in running])
    total = (time.monotonic() - started) / 60
    print(f"run_tests: {'FAILED: ' + ', '.join(n for n, _ in failed) if failed else 'all passed'} "
          f"in {total:.1f} min")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
