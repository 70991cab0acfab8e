#!/bin/sh
# Install everything `make install` needs on a fresh Debian 12, as root.
# Idempotent and fast when warm: apt runs only for missing packages, pip only
# when pyproject.toml changed since the last install, the Asterisk root is
# built only when absent.
set -eu

cd "$(dirname "$0")/.."
REPO=$(pwd)

missing=""
# prometheus, prometheus-alertmanager: the monitoring kit (monitoring/, [monitoring] in the config)
# coturn: TURN for web phones outside the office network (`callcenter turn-config`; tests/test_turn.py)
# postgresql: the production database ([database] url); `make test` runs the suite on a throw-away cluster too
# nginx, libnginx-mod-stream: one address in front of several servers (`callcenter cluster`, tests/test_cluster.py)
# fonts-lohit-deva: Hindi (Devanagari) text in the browser tests' screenshots (docs/screenshots)
for pkg in redis-server sip-tester mmdebstrap python3-venv iproute2 chromium espeak-ng sox \
           prometheus prometheus-alertmanager coturn fonts-lohit-deva postgresql \
           nginx libnginx-mod-stream; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
# npm fetches the pages' front-end packages (any node/npm on the PATH will do)
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install.sh: missing packages:$missing (run as root)" >&2
        exit 1
    fi
    echo "installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi

VENV="$REPO/.venv"
STAMP="$VENV/.callcenter-install-stamp"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    "$VENV/bin/pip" install -q -e '.[test]'
    echo "$want" > "$STAMP"
fi

# Front-end packages (web/package.json, locked): `npm ci` when the lock changed;
# the files the pages load are copied to web/static/vendor (neither committed).
WEB_STAMP="$REPO/web/node_modules/.callcenter-install-stamp"
want=$(sha256sum web/package-lock.json | cut -d' ' -f1)
have=$(cat "$WEB_STAMP" 2>/dev/null || true)
if [ "$want" != "$have" ] || [ ! -f web/node_modules/htmx.org/dist/htmx.min.js ]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$WEB_STAMP"
fi
mkdir -p web/static/vendor
if ! cmp -s web/node_modules/htmx.org/dist/htmx.min.js web/static/vendor/htmx.min.js; then
    cp web/node_modules/htmx.org/dist/htmx.min.js web/static/vendor/htmx.min.js
fi
# The web phone's SIP stack (JsSIP) bundled by esbuild into one browser
# script, rebuilt when the lock changed (the stamp) or the bundle is missing.
JSSIP_STAMP="$REPO/web/static/vendor/.jssip-stamp"
if [ ! -f web/static/vendor/jssip.min.js ] || ! cmp -s "$WEB_STAMP" "$JSSIP_STAMP"; then
    web/node_modules/.bin/esbuild web/node_modules/jssip/lib/JsSIP.js --bundle --minify \
        --format=iife --global-name=JsSIP --platform=browser --target=es2019 \
        --legal-comments=none --log-level=warning --outfile=web/static/vendor/jssip.min.js
    cp "$WEB_STAMP" "$JSSIP_STAMP"
fi

"$REPO/scripts/build-pbx-root.sh"

# IVR prompts from their texts (ivr/flows/prompts.yaml): espeak-ng + sox into
# a cache keyed by a hash of each text, so only new or changed texts are rendered.
"$VENV/bin/python" -m ivr.prompts --root "${PBX_ROOT:-/var/cache/callcenter/pbx-root-sid-v1}" \
    --cache "${IVR_PROMPTS:-/var/cache/callcenter/prompts}"
