"""nginx (Debian's package) in front of a cluster's servers: one address.

HTTP and the pages' WebSockets (``/ws`` live updates, ``/sip`` the web
phone's relay) go round-robin to the servers; any server answers any request
the same, as they share the database and Redis. A server that refuses the
connection (stopped, restarting) is skipped for the next one; a request
already sent is never sent twice (nginx does not retry a POST that reached a
server: a click-to-call is placed once). TLS, when the original config has a
certificate, ends here with that certificate; the servers behind speak plain
HTTP on 127.0.0.1 and learn the scheme and the client's address from
``X-Forwarded-Proto`` / ``X-Forwarded-For``, which they trust from loopback
peers only (web/transport.py).

The ``stream`` module spreads the IVR's FastAGI sessions (plain TCP) from the
address Asterisk's dialplan dials over the servers' own IVR ports."""
from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import jinja2

from callcenter import tls
from callcenter.child_process import ForegroundProcess, StartError

STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
WORKER_USER = "www-data"  # Debian's nginx-common creates it


def nginx_binary() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if path is None:
        raise StartError("nginx is not installed (Debian packages nginx and libnginx-mod-stream; "
                         "`make install` installs them)")
    return path


CONF = jinja2.Template("""\
# Written by `callcenter cluster` at each start; edits are lost.
load_module {{ stream_module }};
{% if user %}user {{ user }};
{% endif %}worker_processes 1;
pid {{ folder }}/nginx.pid;
error_log {{ folder }}/nginx-error.log warn;

events {
    worker_connections 8192;
}

http {
    access_log {{ folder }}/nginx-access.log;
    client_body_temp_path {{ folder }}/tmp/body;
    proxy_temp_path {{ folder }}/tmp/proxy;
    fastcgi_temp_path {{ folder }}/tmp/fastcgi;
    uwsgi_temp_path {{ folder }}/tmp/uwsgi;
    scgi_temp_path {{ folder }}/tmp/scgi;
    client_max_body_size {{ body_mb }}m;
    server_tokens off;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      '';
    }

    upstream callcenter {
{% for s in slots %}        server 127.0.0.1:{{ s.web_port }} max_fails=1 fail_timeout=2s;
{% endfor %}        keepalive 64;
    }

    server {
        listen {{ listen }}{% if certificate %} ssl{% endif %};
{% if certificate %}        ssl_certificate {{ certificate[0] }};
        ssl_certificate_key {{ certificate[1] }};
{% endif %}        location / {
            proxy_pass http://callcenter;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_connect_timeout 2s;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 2;
        }
    }
}
{% if ivr %}
stream {
    upstream callcenter_ivr {
{% for s in slots %}        server 127.0.0.1:{{ s.ivr_port }} max_fails=1 fail_timeout=2s;
{% endfor %}    }
    server {
        listen {{ ivr.host }}:{{ ivr.dialplan_port or ivr.port }};
        proxy_pass callcenter_ivr;
        proxy_connect_timeout 2s;
        proxy_timeout 4h;
    }
}
{% endif %}""", keep_trailing_newline=True)


def render(settings, slots, folder: Path, listen_host: str, listen_port: int) -> str:
    """nginx.conf for the servers ``slots`` of ``settings``' cluster; every
    file nginx writes lives in ``folder``."""
    return CONF.render(
        stream_module=STREAM_MODULE, folder=folder, slots=slots, listen=f"{listen_host}:{listen_port}",
        user=WORKER_USER if os.geteuid() == 0 and _has_user(WORKER_USER) else None,
        certificate=tls.configured_paths(settings), body_mb=int(settings.work.upload_max_mb) + 1,
        ivr=settings.ivr if settings.ivr.enabled else None)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


class NginxProcess(ForegroundProcess):
    """``nginx -g 'daemon off;'`` on the rendered config, as a child."""

    def __init__(self, conf: Path, folder: Path, host: str, port: int) -> None:
        super().__init__("nginx", folder / "nginx-output.log", start_timeout=10.0, stop_timeout=5.0)
        self.conf, self.folder, self.host, self.port = conf, folder, host, port

    def argv(self) -> list[str]:
        return [nginx_binary(), "-p", str(self.folder), "-c", str(self.conf), "-g", "daemon off;"]

    def prepare(self) -> None:
        """Temp folders the workers may write; the config checked (``nginx -t``)."""
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            path = self.folder / "tmp" / sub
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            if os.geteuid() == 0 and _has_user(WORKER_USER):
                entry = pwd.getpwnam(WORKER_USER)
                os.chown(path, entry.pw_uid, entry.pw_gid)
        check = subprocess.run([*self.argv()[:5], "-t", "-q"], capture_output=True, text=True)
        if check.returncode != 0:
            raise StartError(f"nginx refused its config {self.conf}:\n{check.stderr.strip()}")

    async def ready(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 0.5)
        except (OSError, asyncio.TimeoutError):
            return False
        writer.close()
        return True
