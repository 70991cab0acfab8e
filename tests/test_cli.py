"""The ``callcenter`` command, run in-process against a config made by ``init``."""
from __future__ import annotations

import asyncio
import hashlib
import io
import json
import stat
import tomllib

import pytest
from argon2 import PasswordHasher

from callcenter.auth.tokens import verify_token
from callcenter.db import make_engine, sessionmaker
from callcenter.main import main
from tests import sqlite_template
from tests.postgres import on_postgres, query


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def field(out: str, label: str) -> str:
    """The value of the single 'label: value' line of the output."""
    values = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith(label + ": ")]
    assert len(values) == 1, out
    return values[0]


@pytest.fixture
def cfg(tmp_path, capsys) -> str:
    path = tmp_path / "cc.toml"
    # init's SQLite database (var/callcenter.db beside the config) copied from the migrated
    # template first: init then finds it current (test_init_... runs the migrations for real)
    (tmp_path / "var").mkdir(mode=0o700)
    sqlite_template.copy_migrated(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'callcenter.db'}")
    code, out, err = run(capsys, "init", "--config", str(path))
    assert code == 0, err
    return str(path)


def db_rows(cfg: str, sql: str, *params) -> list[tuple]:
    """Rows from the database the config uses (its SQLite file, or the test's PostgreSQL database)."""
    from callcenter.features import load_settings as load

    return query(load(cfg).database_url, sql, *params)


def verify(cfg: str, raw: str):
    from callcenter.features import load_settings as load

    async def _verify():
        engine = make_engine(load(cfg).database_url)
        try:
            async with sessionmaker(engine)() as session:
                return await verify_token(session, raw)
        finally:
            await engine.dispose()

    return asyncio.run(_verify())


# ---------------------------------------------------------------- init

def test_init_writes_private_config_with_unique_secrets_and_migrates(tmp_path, capsys):
    a, b = tmp_path / "a" / "cc.toml", tmp_path / "b.toml"
    for path in (a, b):
        code, out, err = run(capsys, "init", "--config", str(path))
        assert code == 0, err
        assert out.strip() == str(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ca, cb = tomllib.loads(a.read_text()), tomllib.loads(b.read_text())
    secrets_a = [ca["ami"]["secret"], ca["ami"]["admin_secret"], ca["security"]["session_secret"]]
    secrets_b = [cb["ami"]["secret"], cb["ami"]["admin_secret"], cb["security"]["session_secret"]]
    assert len(set(secrets_a + secrets_b)) == 6
    assert not [l for l in a.read_text().splitlines() if "GENERATED-AT-INIT" in l and not l.startswith("#")]
    assert (a.parent / "var" / "callcenter.db").exists() or on_postgres()
    assert db_rows(str(a), "SELECT count(*) FROM users") == [(0,)]


def test_init_refuses_to_overwrite_without_force(cfg, capsys):
    from pathlib import Path

    before = Path(cfg).read_text()
    code, out, err = run(capsys, "init", "--config", cfg)
    assert code == 1
    assert "already exists" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert Path(cfg).read_text() == before

    code, out, err = run(capsys, "init", "--config", cfg, "--force")
    assert code == 0, err
    after = Path(cfg).read_text()
    assert after != before
    assert stat.S_IMODE(Path(cfg).stat().st_mode) == 0o600


def test_db_upgrade_is_idempotent(cfg, capsys):
    assert run(capsys, "db", "upgrade", "--config", cfg)[0] == 0
    assert run(capsys, "db", "upgrade", "--config", cfg)[0] == 0


def test_bad_config_is_one_line_exit_1(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    code, out, err = run(capsys, "user", "list", "--config", str(missing))
    assert code == 1 and "no config file" in err and len(err.strip().splitlines()) == 1
    broken = tmp_path / "broken.toml"
    broken.write_text("[ami\nsecret = 1\n")
    code, out, err = run(capsys, "user", "list", "--config", str(broken))
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2(cfg, capsys):
    assert run(capsys, "user", "add", "--config", cfg)[0] == 2
    assert run(capsys, "user", "add", "x1", "--role", "boss", "--config", cfg)[0] == 2
    assert run(capsys)[0] == 2


def test_commands_on_an_uninitialised_database_say_so(tmp_path, capsys, empty_database):
    from callcenter.config import render_new

    path = tmp_path / "cc.toml"
    path.write_text(render_new())
    code, out, err = run(capsys, "user", "list", "--config", str(path))
    assert code == 1 and "db upgrade" in err
    assert not (tmp_path / "var" / "callcenter.db").exists()


# ---------------------------------------------------------------- users

def test_user_add_desktop_prints_sip_password_once_and_stores_only_md5(cfg, capsys):
    code, out, err = run(capsys, "user", "add", "alice", "--role", "agent", "--phone", "desktop",
                         "--config", cfg)
    assert code == 0, err
    sip_password = field(out, "SIP password")
    login_password = field(out, "login password")
    assert field(out, "SIP username") == "ph-alice"
    assert field(out, "SIP server").startswith("127.0.0.1:5060")
    assert out.count(sip_password) == 1 and out.count(login_password) == 1
    assert len(sip_password) >= 20 and len(login_password) >= 10

    row = db_rows(cfg, "SELECT sip_endpoint, sip_md5_cred, sip_contact, password_hash, phone_mode "
                       "FROM users WHERE name='alice'")[0]
    endpoint, cred, contact, pw_hash, mode = row
    assert (endpoint, contact, mode) == ("ph-alice", None, "desktop")
    assert cred == hashlib.md5(f"ph-alice:callcenter:{sip_password}".encode()).hexdigest()
    assert PasswordHasher().verify(pw_hash, login_password)
    everything = repr(db_rows(cfg, "SELECT * FROM users") + db_rows(cfg, "SELECT * FROM audit_log"))
    assert sip_password not in everything and login_password not in everything

    code, out, err = run(capsys, "user", "list", "--config", cfg)
    assert code == 0 and "alice" in out and "ph-alice" in out
    assert sip_password not in out and cred not in out and "argon2" not in out


def test_user_add_password_from_stdin(cfg, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    code, out, err = run(capsys, "user", "add", "tl1", "--role", "teamlead", "--password-stdin",
                         "--config", cfg)
    assert code == 0, err
    assert "login password" not in out and "correct horse" not in out
    (pw_hash,) = db_rows(cfg, "SELECT password_hash FROM users WHERE name='tl1'")[0]
    assert PasswordHasher().verify(pw_hash, "correct horse battery")

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, out, err = run(capsys, "user", "add", "tl2", "--role", "teamlead", "--password-stdin",
                         "--config", cfg)
    assert code == 1 and "at least 10" in err
    assert db_rows(cfg, "SELECT count(*) FROM users WHERE name='tl2'") == [(0,)]


def test_user_add_static_contact(cfg, capsys):
    code, out, err = run(capsys, "user", "add", "bob", "--role", "agent", "--phone", "desktop",
                         "--contact", "sip:10.0.0.5:5060", "--config", cfg)
    assert code == 0, err
    assert "SIP password" not in out
    assert db_rows(cfg, "SELECT sip_endpoint, sip_contact, sip_md5_cred FROM users WHERE name='bob'") == [
        ("ph-bob", "sip:10.0.0.5:5060", None)]


@pytest.mark.parametrize("contact", [
    "sip:10.0.0.500:5060", "sip:phone.example:5060", "sip:10.0.0.5:0", "sip:10.0.0.5:70000",
    "sip:10.0.0.5", "10.0.0.5:5060", "sip:10.0.0.5:5060\n", "sip:10.0.0.5:5060;transport=tcp",
    "sip:[::1]:5060", "sip:0.0.0.0:5060", "sip:10.0.0.5:5060\r\nX: y",
])
def test_user_add_rejects_bad_contacts(cfg, capsys, contact):
    code, out, err = run(capsys, "user", "add", "bob", "--role", "agent", "--phone", "desktop",
                         "--contact", contact, "--config", cfg)
    assert code == 1 and "invalid SIP contact" in err
    assert len(err.strip().splitlines()) == 1
    assert db_rows(cfg, "SELECT count(*) FROM users") == [(0,)]


def test_user_add_mobile_normalises_to_e164(cfg, capsys):
    code, out, err = run(capsys, "user", "add", "carol", "--role", "agent", "--phone", "mobile",
                         "--mobile", "098765 43210", "--config", cfg)
    assert code == 0, err
    assert db_rows(cfg, "SELECT mobile, sip_endpoint FROM users WHERE name='carol'") == [("+919876543210", None)]
    # --phone is inferred from --mobile
    code, out, err = run(capsys, "user", "add", "dan", "--role", "agent", "--mobile", "+91 98765-43211",
                         "--config", cfg)
    assert code == 0, err
    assert db_rows(cfg, "SELECT phone_mode, mobile FROM users WHERE name='dan'") == [("mobile", "+919876543211")]


@pytest.mark.parametrize("number", [
    "98765abc10", "9876543210\r\n", "9876543210\n", "98765\r\n43210", "9876543210;x",
    "98765;43210", "12", "+91 98765 4321O", "9876543210&Local/x",
])
def test_user_add_rejects_bad_mobiles(cfg, capsys, number):
    code, out, err = run(capsys, "user", "add", "carol", "--role", "agent", "--phone", "mobile",
                         "--mobile", number, "--config", cfg)
    assert code == 1 and "invalid mobile number" in err
    assert "\r" not in err and len(err.strip().splitlines()) == 1
    assert db_rows(cfg, "SELECT count(*) FROM users") == [(0,)]


def test_user_add_mobile_mode_needs_a_number(cfg, capsys):
    code, out, err = run(capsys, "user", "add", "carol", "--role", "agent", "--phone", "mobile", "--config", cfg)
    assert code == 1 and "needs a mobile number" in err


def test_duplicate_user_is_refused(cfg, capsys):
    assert run(capsys, "user", "add", "erin", "--role", "manager", "--config", cfg)[0] == 0
    code, out, err = run(capsys, "user", "add", "erin", "--role", "admin", "--config", cfg)
    assert code == 1 and "already exists" in err and "Traceback" not in err
    assert db_rows(cfg, "SELECT role FROM users WHERE name='erin'") == [("manager",)]


@pytest.mark.parametrize("name", ["Alice", "a", "1abc", "a" * 33, "al ice", "al;ice", "alice\n", "élise"])
def test_bad_user_names_are_refused(cfg, capsys, name):
    code, out, err = run(capsys, "user", "add", name, "--role", "agent", "--config", cfg)
    assert code == 1 and "invalid user name" in err


def test_user_disable(cfg, capsys):
    run(capsys, "user", "add", "fred", "--role", "agent", "--config", cfg)
    code, out, err = run(capsys, "user", "disable", "fred", "--config", cfg)
    assert code == 0, err
    assert db_rows(cfg, "SELECT active FROM users WHERE name='fred'") == [(0,)]
    code, out, err = run(capsys, "user", "disable", "nobody", "--config", cfg)
    assert code == 1 and "no user named" in err


# ---------------------------------------------------------------- tokens

def test_token_create_verify_revoke(cfg, capsys):
    code, out, err = run(capsys, "token", "create", "crm", "--config", cfg)
    assert code == 0, err
    raw = out.strip()
    assert raw.startswith("cc_") and len(raw) >= 40 and "\n" not in raw
    assert db_rows(cfg, "SELECT token_hash, role, user_id FROM api_tokens") == [
        (hashlib.sha256(raw.encode()).hexdigest(), "manager", None)]
    assert raw not in repr(db_rows(cfg, "SELECT * FROM api_tokens") + db_rows(cfg, "SELECT * FROM audit_log"))

    principal = verify(cfg, raw)
    assert principal is not None and principal.role == "manager" and principal.user_id is None
    assert verify(cfg, raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None

    code, out, err = run(capsys, "token", "list", "--config", cfg)
    assert code == 0 and "crm" in out and raw not in out

    code, out, err = run(capsys, "token", "revoke", "crm", "--config", cfg)
    assert code == 0, err
    assert verify(cfg, raw) is None
    code, out, err = run(capsys, "token", "revoke", "nope", "--config", cfg)
    assert code == 1 and "no token named" in err


def test_token_for_a_user_has_the_users_role(cfg, capsys):
    run(capsys, "user", "add", "gina", "--role", "agent", "--config", cfg)
    code, out, err = run(capsys, "token", "create", "gina-panel", "--user", "gina", "--config", cfg)
    assert code == 0, err
    principal = verify(cfg, out.strip())
    assert principal.role == "agent" and principal.name == "gina" and principal.user_id is not None
    run(capsys, "user", "disable", "gina", "--config", cfg)
    assert verify(cfg, out.strip()) is None


def test_token_create_refusals(cfg, capsys):
    code, out, err = run(capsys, "token", "create", "svc", "--role", "agent", "--config", cfg)
    assert code == 1 and "agent" in err
    code, out, err = run(capsys, "token", "create", "svc", "--user", "ghost", "--config", cfg)
    assert code == 1 and "ghost" in err
    assert run(capsys, "token", "create", "svc", "--role", "admin", "--config", cfg)[0] == 0
    code, out, err = run(capsys, "token", "create", "svc", "--config", cfg)
    assert code == 1 and "already exists" in err
    assert db_rows(cfg, "SELECT name, role FROM api_tokens") == [("svc", "admin")]


# ---------------------------------------------------------------- trunks

def test_trunk_add_and_list(cfg, capsys):
    code, out, err = run(capsys, "trunk", "add", "carrier-a", "--host", "203.0.113.10", "--port", "5060",
                         "--dids", "8062247000-8062247749", "--config", cfg)
    assert code == 0, err
    code, out, err = run(capsys, "trunk", "add", "carrier-b", "--host", "203.0.113.11", "--port", "5080",
                         "--channels", "100", "--inbound-headroom", "10",
                         "--dids", "8062248000-8062248749", "--pilot", "8062248100", "--config", cfg)
    assert code == 0, err
    code, out, err = run(capsys, "trunk", "list", "--config", cfg)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["NAME", "HOST:PORT", "CHANNELS", "HEADROOM", "DID", "RANGE", "PILOT", "NODE"]
    assert lines[1].split() == ["carrier-a", "203.0.113.10:5060", "250", "0", "8062247000-8062247749", "8062247000",
                                "main"]
    assert lines[2].split() == ["carrier-b", "203.0.113.11:5080", "100", "10", "8062248000-8062248749", "8062248100",
                                "main"]


def test_trunks_and_phones_are_homed_on_pbx_nodes(cfg, capsys):
    code, out, err = run(capsys, "trunk", "add", "carrier-b", "--host", "203.0.113.11", "--node", "b",
                         "--dids", "8062248000-8062248749", "--config", cfg)
    assert code == 0 and "PBX node b" in out, err
    code, out, err = run(capsys, "user", "add", "asha", "--role", "agent", "--phone", "desktop", "--config", cfg)
    assert code == 0, err
    code, out, err = run(capsys, "user", "home", "asha", "b", "--config", cfg)
    assert code == 0 and "on PBX node b" in out, err
    code, out, err = run(capsys, "user", "list", "--config", cfg)
    tokens = next(line.split() for line in out.splitlines() if line.startswith("asha"))
    assert tokens[tokens.index("(registers)") + 1] == "b"
    code, out, err = run(capsys, "trunk", "home", "carrier-b", "main", "--config", cfg)
    assert code == 0, err
    code, out, err = run(capsys, "trunk", "list", "--config", cfg)
    assert out.strip().splitlines()[1].split()[-1] == "main"
    # a node name that could break out of a config line or a dial string is refused, nothing changed
    code, out, err = run(capsys, "trunk", "home", "carrier-b", "b;x", "--config", cfg)
    assert code != 0 and "invalid PBX node" in err
    code, out, err = run(capsys, "trunk", "add", "carrier-c", "--host", "203.0.113.12", "--node", "B C",
                         "--dids", "8062249000-8062249749", "--config", cfg)
    assert code != 0 and "invalid PBX node" in err
    code, out, err = run(capsys, "user", "home", "nobody", "b", "--config", cfg)
    assert code != 0 and "no user named" in err


@pytest.mark.parametrize("extra, message", [
    (["--host", "carrier.example"], "not a host name"),
    (["--host", "256.1.1.1"], "not an IPv4 address"),
    (["--host", "::1"], "IPv4"),
    (["--host", "203.0.113.10\n"], "IPv4"),
    (["--port", "0"], "1-65535"),
    (["--port", "70000"], "1-65535"),
    (["--channels", "0"], "1-10000"),
    (["--channels", "10001"], "1-10000"),
    (["--channels", "10", "--inbound-headroom", "10"], "below the channel count"),
    (["--dids", "8062247749-8062247000"], "start is after the end"),
    (["--dids", "806224700a-8062247749"], "digits only"),
    (["--dids", "8062247000-806224774"], "same number of digits"),
    (["--dids", "8062240000-8062250000"], "at most 10,000"),
    (["--dids", "8062247000-8062247749;"], "digits only"),
    (["--pilot", "8062247750"], "must be one of the trunk's DIDs"),
    (["--pilot", "+918062247000"], "must be one of the trunk's DIDs"),
    (["--name", "Carrier"], "invalid trunk name"),
])
def test_trunk_add_validation(cfg, capsys, extra, message):
    opts = {"--name": "carrier-a", "--host": "203.0.113.10", "--port": "5060",
            "--dids": "8062247000-8062247749"}
    for key, value in zip(extra[::2], extra[1::2]):
        opts[key] = value
    argv = ["trunk", "add", opts.pop("--name")]
    for key, value in opts.items():
        argv += [key, value]
    code, out, err = run(capsys, *argv, "--config", cfg)
    assert code == 1, out
    assert message in err and len(err.strip().splitlines()) == 1
    assert db_rows(cfg, "SELECT count(*) FROM trunks") == [(0,)]


def test_trunk_ten_thousand_dids_and_single_did(cfg, capsys):
    assert run(capsys, "trunk", "add", "big", "--host", "203.0.113.10", "--port", "5060",
               "--dids", "8062240000-8062249999", "--config", cfg)[0] == 0
    assert run(capsys, "trunk", "add", "one", "--host", "203.0.113.12", "--port", "5060",
               "--dids", "8062250000", "--config", cfg)[0] == 0
    assert db_rows(cfg, "SELECT did_start, did_end, pilot FROM trunks WHERE name='one'") == [
        ("8062250000", "8062250000", "8062250000")]


def test_trunk_duplicate_and_remove(cfg, capsys):
    argv = ["trunk", "add", "carrier-a", "--host", "203.0.113.10", "--port", "5060",
            "--dids", "8062247000-8062247749", "--config", cfg]
    assert run(capsys, *argv)[0] == 0
    code, out, err = run(capsys, *argv)
    assert code == 1 and "already exists" in err
    code, out, err = run(capsys, "trunk", "remove", "carrier-a", "--config", cfg)
    assert code == 0, err
    assert db_rows(cfg, "SELECT count(*) FROM trunks") == [(0,)]
    code, out, err = run(capsys, "trunk", "remove", "carrier-a", "--config", cfg)
    assert code == 1 and "no trunk named" in err


def test_trunk_remove_refused_while_calls_are_up(cfg, capsys):
    run(capsys, "user", "add", "hana", "--role", "agent", "--config", cfg)
    run(capsys, "trunk", "add", "carrier-a", "--host", "203.0.113.10", "--port", "5060",
        "--dids", "8062247000-8062247749", "--config", cfg)
    from pathlib import Path

    db_rows(cfg, "INSERT INTO calls (id, agent_id, requested_by, mode, number, trunk_id, caller_id, channels,"
            " state, requested_at) VALUES ('c1', 1, 'hana', 'desktop', '+919876543210', 1, '8062247000',"
            " 1, 'connected', '2026-01-01 00:00:00')")
    code, out, err = run(capsys, "trunk", "remove", "carrier-a", "--config", cfg)
    assert code == 1 and "not ended" in err
    assert db_rows(cfg, "SELECT count(*) FROM trunks WHERE removed_at IS NULL") == [(1,)]


# ---------------------------------------------------------------- audit

def test_every_change_is_audited_with_the_cli_actor(cfg, capsys):
    run(capsys, "user", "add", "ivan", "--role", "agent", "--phone", "desktop", "--config", cfg)
    run(capsys, "user", "disable", "ivan", "--config", cfg)
    run(capsys, "token", "create", "crm", "--config", cfg)
    run(capsys, "token", "revoke", "crm", "--config", cfg)
    run(capsys, "trunk", "add", "carrier-a", "--host", "203.0.113.10", "--port", "5060",
        "--dids", "8062247000-8062247749", "--config", cfg)
    run(capsys, "trunk", "remove", "carrier-a", "--config", cfg)
    # refused changes leave no row
    run(capsys, "user", "add", "ivan", "--role", "agent", "--config", cfg)
    run(capsys, "trunk", "add", "bad", "--host", "carrier.example", "--dids", "1000-1001", "--config", cfg)
    rows = db_rows(cfg, "SELECT actor, action, entity, entity_id, details FROM audit_log ORDER BY id")
    assert [r[1] for r in rows] == ["user.add", "user.disable", "token.create", "token.revoke",
                                    "trunk.add", "trunk.remove"]
    assert all(r[0].startswith("cli:") and len(r[0]) > 4 for r in rows)
    assert rows[0][2:4] == ("user", "1")
    details = rows[0][4] if isinstance(rows[0][4], str) else json.dumps(rows[0][4])  # JSON on PostgreSQL
    assert '"name": "ivan"' in details and "sip_md5" not in details


# ---------------------------------------------------------------- organisation (issue 3)

def test_org_commands_and_user_placement(cfg, capsys, tmp_path):
    assert run(capsys, "location", "add", "north", "--title", "North centre", "--config", cfg)[0] == 0
    code, out, err = run(capsys, "location", "add", "north", "--config", cfg)
    assert code == 1 and "already exists" in err
    code, out, err = run(capsys, "store", "add", "DEL01", "--title", "Karol Bagh", "--location", "north",
                         "--language", "hi", "--city", "Delhi", "--config", cfg)
    assert code == 0, err
    code, out, err = run(capsys, "store", "add", "DEL02", "--title", "X", "--location", "north",
                         "--language", "xx", "--config", cfg)
    assert code == 1 and "invalid language" in err
    assert run(capsys, "team", "add", "alpha", "--location", "north", "--config", cfg)[0] == 0

    code, out, err = run(capsys, "user", "add", "asha", "--role", "agent", "--store", "DEL01",
                         "--display-name", "Asha K", "--employee-id", "E1", "--languages", "hi,en",
                         "--mobile", "9876543210", "--config", cfg)
    assert code == 0, err
    assert field(out, "place") == "store executive, store DEL01, location north"
    assert db_rows(cfg, "SELECT u.display_name, u.employee_id, u.agent_kind, u.languages, l.code "
                        "FROM users u JOIN locations l ON l.id = u.location_id WHERE u.name='asha'") == [
        ("Asha K", "E1", "store", "hi,en", "north")]
    code, out, err = run(capsys, "user", "add", "tl", "--role", "teamlead", "--team", "alpha", "--config", cfg)
    assert code == 0 and field(out, "place") == "team alpha, location north"
    code, out, err = run(capsys, "user", "add", "bad", "--role", "agent", "--kind", "center",
                         "--store", "DEL01", "--config", cfg)
    assert code == 1 and "not a store" in err
    code, out, err = run(capsys, "user", "add", "bad", "--role", "agent", "--store", "NOPE", "--config", cfg)
    assert code == 1 and "unknown store" in err
    assert db_rows(cfg, "SELECT count(*) FROM users WHERE name='bad'") == [(0,)]

    code, out, err = run(capsys, "store", "list", "--config", cfg)
    assert out.splitlines()[0].split() == ["CODE", "NAME", "CITY", "REGION", "LANGUAGE", "LOCATION", "ACTIVE"]
    assert "DEL01" in out and "Karol Bagh" in out
    code, out, err = run(capsys, "team", "list", "--config", cfg)
    assert "alpha" in out and "north" in out
    code, out, err = run(capsys, "user", "list", "--config", cfg)
    assert "store DEL01" in out


def test_store_import_from_a_file_all_or_nothing(cfg, capsys, tmp_path):
    run(capsys, "location", "add", "south", "--config", cfg)
    bad = tmp_path / "stores.csv"
    bad.write_text("Store Code,Store Name,City,Language,Location\n"
                   "BLR01,Indiranagar,Bengaluru,Kannada,south\n"
                   "BLR02,Jayanagar,Bengaluru,kn,mars\n")
    code, out, err = run(capsys, "store", "import", str(bad), "--config", cfg)
    assert code == 1 and "row 3: unknown location 'mars'" in out and "nothing was imported" in err
    assert db_rows(cfg, "SELECT count(*) FROM stores") == [(0,)]
    bad.write_text(bad.read_text().replace("mars", "south"))
    code, out, err = run(capsys, "store", "import", str(bad), "--config", cfg)
    assert code == 0 and "2 created" in out, err
    assert db_rows(cfg, "SELECT code, language FROM stores ORDER BY code") == [("BLR01", "kn"), ("BLR02", "kn")]
    assert db_rows(cfg, "SELECT count(*) FROM audit_log WHERE action='store.import'") == [(2,)]  # one per store


def test_user_set_password(cfg, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("first password here\n"))
    assert run(capsys, "user", "add", "gwen", "--role", "agent", "--password-stdin", "--config", cfg)[0] == 0
    code, out, err = run(capsys, "user", "set-password", "gwen", "--config", cfg)
    assert code == 0, err
    generated = field(out, "login password")
    (pw_hash,) = db_rows(cfg, "SELECT password_hash FROM users WHERE name='gwen'")[0]
    assert PasswordHasher().verify(pw_hash, generated)
    monkeypatch.setattr("sys.stdin", io.StringIO("second password here\n"))
    code, out, err = run(capsys, "user", "set-password", "gwen", "--password-stdin", "--config", cfg)
    assert code == 0 and "second password" not in out and "login password:" not in out
    (pw_hash,) = db_rows(cfg, "SELECT password_hash FROM users WHERE name='gwen'")[0]
    assert PasswordHasher().verify(pw_hash, "second password here")
    everything = repr(db_rows(cfg, "SELECT * FROM audit_log"))
    assert generated not in everything and "second password" not in everything
    code, out, err = run(capsys, "user", "set-password", "nobody", "--config", cfg)
    assert code == 1 and "no user named" in err


# ---------------------------------------------------------------- first start (make run)

@pytest.fixture
def served(monkeypatch) -> list:
    """``serve`` without the server: the settings it would have served with."""
    calls = []

    async def run_server(settings):
        calls.append(settings)

    monkeypatch.setattr("callcenter.server.run", run_server)
    return calls


def test_first_serve_creates_the_admin_login_and_prints_its_password_once(cfg, capsys, served, monkeypatch):
    from pathlib import Path

    monkeypatch.setattr("callcenter.cli.admin._on_a_terminal", lambda: True)
    code, out, err = run(capsys, "serve", "--config", cfg)
    assert code == 0 and len(served) == 1, err
    (password,) = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("  password:")]
    assert "user name: admin" in out and "/login" in out and password not in err
    (role, active, pw_hash), = db_rows(cfg, "SELECT role, active, password_hash FROM users WHERE name='admin'")
    assert (role, active) == ("admin", 1) and PasswordHasher().verify(pw_hash, password)
    assert db_rows(cfg, "SELECT action, entity_id FROM audit_log WHERE actor != 'system'") == [("user.add", "1")]
    for path in Path(cfg).parent.rglob("*"):  # the config, the database, anything in the state folder
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path

    # the next start finds the admin: nothing created, nothing printed
    code, out, err = run(capsys, "serve", "--config", cfg)
    assert code == 0 and len(served) == 2 and "admin" not in out and "password" not in out
    assert db_rows(cfg, "SELECT count(*) FROM users") == [(1,)]


def test_first_serve_creates_the_queues_the_ivr_sends_callers_to_once(cfg, capsys, served, monkeypatch):
    monkeypatch.setattr("callcenter.cli.admin._on_a_terminal", lambda: False)
    code, out, err = run(capsys, "serve", "--config", cfg)
    assert code == 0 and len(served) == 1, err
    names = ["support-en", "support-hi", "support-kn", "support-ml", "support-ta", "support-te"]
    assert [r[0] for r in db_rows(cfg, "SELECT name FROM queues ORDER BY name")] == names
    assert db_rows(cfg, "SELECT actor FROM audit_log WHERE action = 'queue.seed'") == [("system",)] * 6  # one per queue
    db_rows(cfg, "DELETE FROM queues")   # emptied on purpose: stays so
    code, out, err = run(capsys, "serve", "--config", cfg)
    assert code == 0 and len(served) == 2, err
    assert db_rows(cfg, "SELECT count(*) FROM queues") == [(0,)]


def test_first_serve_without_a_terminal_prints_no_password(cfg, capsys, served, monkeypatch):
    monkeypatch.setattr("callcenter.cli.admin._on_a_terminal", lambda: False)
    code, out, err = run(capsys, "serve", "--config", cfg)
    assert code == 0, err
    assert "set-password admin" in out and "password:" not in out
    assert db_rows(cfg, "SELECT role, password_hash FROM users WHERE name='admin'") == [("admin", None)]
    code, out, err = run(capsys, "user", "set-password", "admin", "--config", cfg)
    (pw_hash,), = db_rows(cfg, "SELECT password_hash FROM users WHERE name='admin'")
    assert code == 0 and PasswordHasher().verify(pw_hash, field(out, "login password"))


def test_an_admin_added_with_user_add_is_kept_and_no_other_is_made(cfg, capsys, served, monkeypatch):
    monkeypatch.setattr("callcenter.cli.admin._on_a_terminal", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("boss password 123\n"))
    code, out, err = run(capsys, "user", "add", "boss", "--role", "admin", "--password-stdin", "--config", cfg)
    assert code == 0, err
    code, out, err = run(capsys, "serve", "--config", cfg)
    assert code == 0 and "password" not in out
    assert db_rows(cfg, "SELECT name, role FROM users") == [("boss", "admin")]


def test_first_serve_when_the_name_admin_is_taken_by_another_role(cfg, capsys, served, monkeypatch):
    monkeypatch.setattr("callcenter.cli.admin._on_a_terminal", lambda: True)
    assert run(capsys, "user", "add", "admin", "--role", "agent", "--config", cfg)[0] == 0
    code, out, err = run(capsys, "serve", "--config", cfg)
    assert code == 0 and len(served) == 1
    assert "user add NAME --role admin" in err and "password" not in out
    assert db_rows(cfg, "SELECT name, role FROM users") == [("admin", "agent")]
