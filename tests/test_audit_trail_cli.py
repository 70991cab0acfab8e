"""``callcenter audit list|export``: the API's filters on the command line,
run in-process against a config made by ``init`` (tests/test_cli.py's helpers);
an export writes the rows as CSV and leaves its own audit row."""
from __future__ import annotations

import csv
import json

from callcenter.cli.common import actor
from tests.test_cli import cfg, db_rows, run  # noqa: F401 - cfg is a fixture


def make_changes(cfg, capsys):  # noqa: F811 - the fixture's value
    """Two locations, a store and a team, by the CLI (the actor cli:<unix user>)."""
    for argv in (("location", "add", "north"), ("location", "add", "south"),
                 ("store", "add", "DEL01", "--title", "Delhi One", "--location", "north"),
                 ("team", "add", "north-1", "--location", "north")):
        code, _out, err = run(capsys, *argv, "--config", cfg)
        assert code == 0, err


def test_audit_list_with_filters_and_paging(cfg, capsys):  # noqa: F811
    make_changes(cfg, capsys)
    code, out, err = run(capsys, "audit", "list", "--config", cfg)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ID", "WHEN", "WHO", "ACTION"]
    assert [line.split()[5] for line in lines[1:]] == ["team.add", "store.add", "location.add", "location.add"]
    assert all(f" {actor()} " in line for line in lines[1:])
    code, out, _ = run(capsys, "audit", "list", "--action", "location.", "--limit", "1", "--config", cfg)
    assert code == 0 and len(out.splitlines()) == 3 and "code=south" in out
    older = int(out.splitlines()[-1].rsplit(" ", 1)[1])
    code, out, _ = run(capsys, "audit", "list", "--action", "location.", "--before", str(older), "--config", cfg)
    assert code == 0 and "code=north" in out and "code=south" not in out and "older rows" not in out
    code, out, _ = run(capsys, "audit", "list", "--object", "store", "--id", "1", "--config", cfg)
    assert [line.split()[5] for line in out.splitlines()[1:]] == ["store.add"]
    code, out, _ = run(capsys, "audit", "list", "--from", "2999-01-01", "--config", cfg)
    assert code == 0 and len(out.splitlines()) == 1
    code, _, err = run(capsys, "audit", "list", "--to", "tomorrow", "--config", cfg)
    assert code == 1 and "to must be a day" in err


def test_audit_export_writes_csv_and_is_audited(cfg, capsys, tmp_path):  # noqa: F811
    make_changes(cfg, capsys)
    target = tmp_path / "audit.csv"
    code, out, err = run(capsys, "audit", "export", "--action", "location.", "-o", str(target), "--config", cfg)
    assert code == 0, err
    assert out.strip() == f"2 rows written to {target}"
    with open(target, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["action"] for r in rows] == ["location.add", "location.add"]
    assert rows[0]["actor_kind"] == "cli" and rows[0]["summary"].startswith("code=south")
    [(who, view, details)] = db_rows(cfg, "SELECT actor, entity_id, details FROM audit_log "
                                          "WHERE action = 'report.exported'")
    assert (who, view) == (actor(), "cli:audit export")
    details = json.loads(details) if isinstance(details, str) else details  # SQLite: text; PostgreSQL: json
    assert details["rows"] == 2 and details["filters"]["what"] == "location."
    code, out, _ = run(capsys, "audit", "export", "--object", "team", "--config", cfg)   # to stdout
    assert code == 0 and out.splitlines()[0].lstrip("\ufeff").startswith("id,at,actor") and "team.add" in out
