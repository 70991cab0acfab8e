"""The cluster's files, without running it: each server's copy of the config
and nginx's config; the client's address behind a proxy on this machine."""
from __future__ import annotations

import shutil
import subprocess
import tomllib
from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request

from callcenter import config as cc_config
from callcenter.cluster.copies import slots, with_overrides, write_copies
from callcenter.cluster.nginx import render
from callcenter.features import load_settings
from callcenter.tls import generate_self_signed
from web.transport import client_address


@pytest.fixture
def original(tmp_path):
    path = tmp_path / "cc.toml"
    path.write_text(cc_config.render_new({"web": {"tls_cert": "cc.crt", "tls_key": "cc.key", "port": 8443}}))
    return path


def test_each_server_runs_from_a_copy_that_differs_only_where_it_must(original):
    settings = load_settings(original)
    two = slots(settings, 2, 9001, 4601)
    write_copies(settings, two)
    first, second = (load_settings(s.config) for s in two)
    assert (first.web.port, second.web.port) == (9001, 9002)
    assert (first.ivr.port, second.ivr.port) == (4601, 4602)
    for copy in (first, second):
        # Asterisk and Redis are the cluster's, not a server's; the dialplan still dials the one IVR address
        assert not copy.pbx.managed and not copy.redis.managed
        assert copy.ivr.dialplan_port == settings.ivr.port == 4573
        assert copy.web.host == "127.0.0.1" and copy.web.tls_cert == ""  # nginx ends TLS
        assert copy.state_dir == settings.state_dir  # one state folder: uploads, recordings
        assert copy.ami.secret == settings.ami.secret and copy.security == settings.security
        assert copy.database_url == settings.database_url
        assert oct(copy.path.stat().st_mode & 0o777) == "0o600"  # it holds the secrets
    text = two[0].config.read_text()
    assert "# Where the HTTP API and web pages listen." in text  # the operator's comments stay


def test_keys_the_original_leaves_out_are_added_to_their_section():
    text = "# mine\nstate_dir = \"var\"\n\n[web]\nport = 8080\n\n[ami]\nsecret = \"s\"\n"
    out = with_overrides(text, {"web": {"host": "127.0.0.1", "port": 9001}, "pbx": {"managed": False}},
                         top={"state_dir": "/srv/cc/var"})
    assert tomllib.loads(out) == {"state_dir": "/srv/cc/var", "web": {"port": 9001, "host": "127.0.0.1"},
                                  "ami": {"secret": "s"}, "pbx": {"managed": False}}


def test_nginx_config_is_accepted_by_nginx(original, tmp_path):
    settings = load_settings(original)
    folder = tmp_path / "cluster"
    (folder / "tmp").mkdir(parents=True)
    text = render(settings, slots(settings, 3, 9001, 4601), folder, "127.0.0.1", 8443)
    assert text.count("server 127.0.0.1:900") == 3 and text.count("server 127.0.0.1:460") == 3
    assert "listen 127.0.0.1:8443 ssl;" in text and f"ssl_certificate {tmp_path}/cc.crt;" in text
    assert "listen 127.0.0.1:4573;" in text  # the IVR's address, spread over the servers
    assert "proxy_set_header Upgrade $http_upgrade;" in text  # the live and SIP sockets
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (scripts/install.sh installs it)")
    generate_self_signed(tmp_path / "cc.crt", tmp_path / "cc.key", ["localhost"])
    conf = folder / "nginx.conf"
    conf.write_text(text)
    check = subprocess.run(["nginx", "-t", "-p", str(folder), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def _request(peer: str, forwarded: str | None):
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (peer, 5555) if name == "peername" \
        else default
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("POST", "/login", headers=headers, transport=transport)


@pytest.mark.parametrize("peer, forwarded, address", [
    ("10.1.2.3", None, "10.1.2.3"),
    ("10.1.2.3", "10.9.9.9", "10.1.2.3"),            # anyone can write the header: ignored
    ("127.0.0.1", "10.9.9.9", "10.9.9.9"),           # the cluster's nginx on this machine
    ("127.0.0.1", "1.1.1.1, 10.9.9.9", "10.9.9.9"),  # the client's own entry first: nginx's is last
    ("127.0.0.1", "not-an-address", "127.0.0.1"),
    ("127.0.0.1", None, "127.0.0.1"),
])
def test_the_client_address_behind_a_proxy_on_this_machine(peer, forwarded, address):
    # login lockouts count per this address: behind nginx every peer is 127.0.0.1
    assert client_address(_request(peer, forwarded)) == address
