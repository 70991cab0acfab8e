"""`make test`: the whole suite on SQLite and again on PostgreSQL, in parallel shards.

    python scripts/run_tests.py [--databases sqlite,postgres] [--shards N] [--record] [-- pytest args]

PostgreSQL is a throw-away cluster in a temporary folder (Debian's
postgresql, run as the ``postgres`` user when we are root; tests/own_postgres.py),
reached over a Unix socket only, removed at the end. Each database's suite is split into
``--shards`` pytest processes (tests/sharding.py deals out whole files by
their recorded seconds, and each process is handed its own files, so it
imports and collects nothing else; when the arguments name tests, each
process collects those and keeps its share); every process runs in a network namespace of its
own (``unshare -n``), so each has its own Asterisk, Redis and loopback ports
and none can disturb another. Their output goes to
``test-artifacts/tests-<database>-<i>.log``; this prints a line as each
ends, then the failures of those that failed.

The load tests (``@pytest.mark.load``: bursts of hundreds of calls that fill
a 250-channel trunk) run after the shards, one database after the other, with
the machine to themselves (``tests-<database>-load.log``): run beside three
other shards on a 2-core machine they starved those shards' tests of CPU and
were themselves starved (sipp dropping calls it could not answer in time).
Given ``-m``, the caller's selection runs as it is, in shards. Exit status: 0 when every
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
from tests import own_postgres, sharding  # noqa: E402 - the tests' own throw-away cluster; the dealing

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


NO_DATABASE = "pytestmark = pytest.mark.no_database"
LOAD = "@pytest.mark.load"


def names_tests(pytest_args: list[str]) -> bool:
    """Did the caller name test files or tests (then each shard collects those and keeps its share)?"""
    return any(a.startswith("tests") or a.endswith(".py") or "::" in a for a in pytest_args)


def suite_files(database: str) -> list[str]:
    """The suite's test files; on PostgreSQL without the files marked no_database (tests/postgres.py)."""
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_*.py"))
    if database == "postgres":
        files = [f for f in files if NO_DATABASE not in (REPO / f).read_text()]
    return files


def load_files() -> list[str]:
    return [f for f in suite_files("sqlite") if LOAD in (REPO / f).read_text()]


def dealt_files(database: str, count: int) -> list[list[str]]:
    """``count`` shares of the database's files, longest first to the least loaded (tests/sharding.py)."""
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    shard_of = sharding.deal(suite_files(database), count, seconds)
    return [[f for f, shard in shard_of.items() if shard == index] for index in range(count)]


class Run:
    """One run's processes: started per phase, waited for, their failures kept."""

    def __init__(self, postgres, isolated: bool, scratch: Path) -> None:
        self.postgres, self.isolated, self.scratch = postgres, isolated, scratch
        self.started = time.monotonic()
        self.logs: list[Path] = []
        self.failed: list[tuple[str, Path]] = []

    def start(self, name: str, database: str, pytest_args: list[str], shard: str | None):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("CC_TEST_SHARD", None)
        if shard:
            env["CC_TEST_SHARD"] = shard
        env.pop("CALLCENTER_DATABASE_URL", None)
        if database == "postgres":
            env["CC_TEST_POSTGRES"] = self.postgres.admin_url
        else:
            env.pop("CC_TEST_POSTGRES", None)
        log = ARTIFACTS / f"tests-{name}.log"
        self.logs.append(log)
        with log.open("w") as out:
            process = subprocess.Popen(shard_command(pytest_args, self.scratch / name, self.isolated),
                                       cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        return name, process, log

    def wait(self, running: list) -> None:
        try:
            for name, process, log in running:
                code = process.wait()
                minutes = (time.monotonic() - self.started) / 60
                print(f"run_tests: {name} ended ({code}) after {minutes:.1f} min: {summary(log)}", flush=True)
                if code not in (0, NO_TESTS_COLLECTED):
                    self.failed.append((name, log))
        finally:
            for _, process, _ in running:
                if process.poll() is None:
                    process.kill()

    def shards(self, databases: list[str], count: int, pytest_args: list[str], dealt: bool) -> None:
        """The suite's shards, all at once (one after another without namespaces).
        ``dealt``: each gets its own files named (it imports and collects no other);
        else each collects everything the arguments name and keeps its share."""
        running = []
        for database in databases:
            shares = dealt_files(database, count) if dealt else [[]] * count
            for index, files in enumerate(shares, start=1):
                if dealt and not files:
                    continue
                running.append(self.start(f"{database}-{index}", database, [*pytest_args, *files],
                                          None if dealt else f"{index}/{count}"))
                if not self.isolated:
                    self.wait(running[-1:])
        print(f"run_tests: {len(running)} shards started ({', '.join(n for n, _, _ in running)}); "
              f"logs in {ARTIFACTS.relative_to(REPO)}/", flush=True)
        if self.isolated:
            self.wait(running)

    def alone(self, databases: list[str], pytest_args: list[str]) -> None:
        """The load tests, one process per database at once, without the shards."""
        if not self.isolated:  # one loopback: one after the other
            for database in databases:
                self.wait([self.start(f"{database}-load", database, pytest_args, None)])
            return
        self.wait([self.start(f"{database}-load", database, pytest_args, None) for database in databases])


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
    own_marks = "-m" in pytest_args or any(a.startswith("-m") and len(a) > 2 for a in pytest_args)
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("tests-*.log"):
        old.unlink()
    postgres = None
    if "postgres" in databases:
        if not own_postgres.available():
            sys.exit("run_tests: PostgreSQL's initdb and pg_ctl not found (apt-get install postgresql)")
        postgres = own_postgres.OwnPostgres(
            "-c synchronous_commit=off -c max_connections=500 -c shared_buffers=128MB")
    isolated = can_isolate()
    scratch = Path(tempfile.mkdtemp(prefix="cc-tests-"))  # this run's own: two runs never share one
    if not isolated:  # one loopback for all: one shard at a time (slower, same tests)
        print("run_tests: no network namespaces here (root and unshare): shards run one after another",
              flush=True)
    run = Run(postgres, isolated, scratch)
    try:
        if postgres is not None:
            postgres.start()
            print(f"run_tests: PostgreSQL cluster in {postgres.dir}", flush=True)
        named = names_tests(pytest_args)
        if own_marks:  # the caller chose the tests: as they are, in shards
            run.shards(databases, args.shards, pytest_args, dealt=not named)
        else:  # the load tests (bursts of hundreds of calls) after the shards, alone
            run.shards(databases, args.shards, [*pytest_args, "-m", "not load"], dealt=not named)
            run.alone(databases, [*pytest_args, "-m", "load", *([] if named else load_files())])
    finally:
        if postgres is not None:
            postgres.remove()
    for name, log in run.failed:
        print(f"\n{'#' * 30} {name}: {log.relative_to(REPO)} {'#' * 30}\n{failures(log)}")
    if not run.failed:
        shutil.rmtree(scratch, ignore_errors=True)  # a failed run's test folders stay, to look at
    if args.record:  # the shards' files only: the load tests run apart from the dealing
        record([log for log in run.logs if not log.stem.endswith("-load")])
    total = (time.monotonic() - run.started) / 60
    print(f"run_tests: {'FAILED: ' + ', '.join(n for n, _ in run.failed) if run.failed else 'all passed'} "
          f"in {total:.1f} min")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
