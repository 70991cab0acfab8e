"""TURN for agents outside the office network: the page's short-lived
credential follows coturn's REST scheme (use-auth-secret), and
``callcenter turn-config`` writes a turnserver.conf with the same secret whose
relay reaches Asterisk's media address and nothing else on the LAN (checked
against the real coturn when it is installed)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
import stat
import subprocess
import tomllib
import types
from pathlib import Path

import pytest

from callcenter.features import load_settings
from callcenter.main import main
from callcenter.webphone.settings import WebphoneSettings
from callcenter.webphone.turn import ice_servers
from tests.config_files import initialised, set_keys

PBX = "10.1.2.3"


def phone_settings(**webphone):
    return types.SimpleNamespace(webphone=WebphoneSettings(**webphone))


def coturn_password(secret: str, username: str) -> str:
    """What coturn computes for use-auth-secret: base64(HMAC-SHA1(secret, user name))."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def test_a_page_gets_a_credential_coturn_accepts_until_the_ttl_runs_out():
    secret = "s3cret-shared-with-coturn"
    settings = phone_settings(turn_urls=["turn:turn.example.in:3478", "turns:turn.example.in:5349"],
                              turn_secret=secret, turn_ttl=3600)
    (server,) = ice_servers(settings, "asha", now=1_800_000_000.7)
    assert server["urls"] == ["turn:turn.example.in:3478", "turns:turn.example.in:5349"]
    assert server["username"] == "1800003600:asha"
    assert server["credential"] == coturn_password(secret, "1800003600:asha")
    # another agent, another moment: another credential
    other = ice_servers(settings, "ravi", now=1_800_000_000)[0]
    assert other["credential"] != server["credential"] and other["username"].endswith(":ravi")


def test_no_turn_urls_no_ice_servers():
    assert ice_servers(phone_settings(turn_secret="x" * 32), "asha", now=0) == []


@pytest.fixture
def cfg(tmp_path, capsys) -> Path:
    path = initialised(tmp_path / "cc.toml")
    capsys.readouterr()
    return path


def turn_config(capsys, cfg: Path, *args: str) -> tuple[int, str, str]:
    code = main(["turn-config", "--config", str(cfg), *args])
    out, err = capsys.readouterr()
    return code, out, err


def parse_conf(text: str) -> list[tuple[str, str | None]]:
    """coturn's format: one option a line, ``key=value`` or a bare flag; # comments."""
    options = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        assert key and key == key.strip() and " " not in key, line
        options.append((key, value if "=" in line else None))
    return options


def test_turn_config_writes_coturn_config_with_the_secret_and_the_pbx_allowed(cfg, capsys, tmp_path):
    set_keys(cfg, {"sip_host": f'"{PBX}"', "turn_urls": '["turn:turn.store.example:3478"]'})
    out_file = tmp_path / "turnserver.conf"
    code, out, err = turn_config(capsys, cfg, "--out", str(out_file), "--external-ip", "203.0.113.5")
    assert code == 0, err
    assert out.strip() == str(out_file) and "turn_urls" in err
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600   # it holds the shared secret
    text = out_file.read_text()
    options = parse_conf(text)
    single = dict(options)
    secret = tomllib.loads(cfg.read_text())["webphone"]["turn_secret"]
    assert single["static-auth-secret"] == secret and len(secret) >= 32
    assert single["realm"] == "turn.store.example"          # the TURN URL's host by default
    assert single["listening-port"] == "3478" and single["external-ip"] == "203.0.113.5"
    for flag in ("use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers", "no-tlsv1", "no-tlsv1_1"):
        assert (flag, None) in options
    assert int(single["total-quota"]) > 0 and int(single["stale-nonce"]) > 0
    # turns: with the panel's certificate, which init wrote
    assert (single["tls-listening-port"], single["cert"], single["pkey"]) == (
        "5349", str(cfg.parent / "cc.crt"), str(cfg.parent / "cc.key"))
    denied = [v for k, v in options if k == "denied-peer-ip"]
    assert {"10.0.0.0-10.255.255.255", "192.168.0.0-192.168.255.255", "127.0.0.0-127.255.255.255"} <= set(denied)
    assert [v for k, v in options if k == "allowed-peer-ip"] == [PBX]
    assert "outside the office network" in text               # says when it is needed

    code, out, err = turn_config(capsys, cfg, "--out", "-", "--realm", "callcenter.example")
    assert code == 0 and dict(parse_conf(out))["realm"] == "callcenter.example"


@pytest.mark.parametrize("keys, args, message", [
    ({"turn_secret": '""'}, (), "[webphone] turn_secret is missing"),
    ({}, (), "[pbx] sip_host is 127.0.0.1"),
    ({"sip_host": f'"{PBX}"'}, ("--external-ip", "turn.example"), "--external-ip 'turn.example' is not an IP"),
    ({"sip_host": f'"{PBX}"'}, ("--realm", "two words"), "is not a plain name"),
])
def test_turn_config_refuses_what_coturn_could_not_use(cfg, capsys, tmp_path, keys, args, message):
    set_keys(cfg, keys)
    code, out, err = turn_config(capsys, cfg, "--out", str(tmp_path / "t.conf"), *args)
    assert code == 1 and message in err, err
    assert not (tmp_path / "t.conf").exists()


RELAY_CHECK = """
set -e
ip link set lo up
ip addr add {pbx}/32 dev lo
ip addr add {lan}/32 dev lo
turnserver -c {conf} --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --pidfile {dir}/turn.pid \\
    --log-file {dir}/turn.log --userdb {dir}/turndb >/dev/null 2>&1 &
turnutils_peer -L {pbx} -L {lan} -p 3480 >/dev/null 2>&1 &
trap 'kill %1 %2' EXIT
for i in $(seq 100); do   # until coturn and the peer listen (a busy machine starts them slowly)
    ss -lun | grep -q ':3478 ' && ss -lun | grep -q ':3480 ' && break
    sleep 0.1
done
relay() {{ timeout 8 turnutils_uclient -u "$1" -w "$2" -n 3 -m 1 -e "$3" -r 3480 127.0.0.1 2>&1 || true; }}
echo "== pbx"; relay "{user}" "{password}" {pbx}
echo "== lan"; relay "{user2}" "{password2}" {lan}
echo "== forged"; relay "{user}" "not-the-credential" {pbx}
"""


@pytest.mark.skipif(shutil.which("turnserver") is None, reason="coturn is optional (apt install coturn)")
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs a network namespace")
def test_real_coturn_relays_to_the_pbx_only_with_the_pages_credential(cfg, capsys, tmp_path):
    set_keys(cfg, {"sip_host": f'"{PBX}"', "turn_urls": '["turn:127.0.0.1:3478"]'})
    conf = tmp_path / "turnserver.conf"
    assert turn_config(capsys, cfg, "--out", str(conf))[0] == 0
    settings = load_settings(cfg)
    asha, ravi = ice_servers(settings, "asha")[0], ice_servers(settings, "ravi")[0]
    script = RELAY_CHECK.format(pbx=PBX, lan="10.1.2.4", conf=conf, dir=tmp_path,
                                user=asha["username"], password=asha["credential"],
                                user2=ravi["username"], password2=ravi["credential"])
    result = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True, text=True, timeout=60)
    _, pbx, lan, forged = result.stdout.split("== ")
    # uclient's summary line counts every message of both its clients (3 each): all of them came back
    assert re.search(r"start_mclient: tot_send_msgs=6, tot_recv_msgs=6\b", pbx), \
        result.stdout[-3000:] + result.stderr[-2000:]                                  # media reaches Asterisk
    assert "403 (Forbidden IP)" in lan and not re.search(r"tot_recv_msgs=[1-9]", lan)  # the rest of the LAN: no
    assert "Cannot complete Allocation" in forged                                    # a guessed password: no
