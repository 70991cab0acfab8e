#!/bin/sh
# Build the Debian-unstable root that holds Asterisk 22, outside the checkout.
# Idempotent: does nothing when the root exists. The version suffix in the
# default name changes whenever PACKAGES changes, so a new package list gives
# a new root instead of silently reusing an old one.
# No mirror is named here: mmdebstrap uses its own default.
set -eu

PACKAGES="asterisk"
PBX_ROOT="${PBX_ROOT:-/var/cache/callcenter/pbx-root-sid-v1}"

copy_hosts() {
    # Asterisk must never wait on DNS: the root gets the host's /etc/hosts.
    if ! cmp -s /etc/hosts "$1/etc/hosts" 2>/dev/null; then
        cp /etc/hosts "$1/etc/hosts"
    fi
}

# Asterisk runs as the root's "asterisk" user. Its uid must not belong to
# anyone else on the host (Debian's asterisk package takes the next system
# uid, which on a host is often postgres's): give it the uid of a dedicated
# host system user, callcenter-pbx, that owns nothing else.
own_uid() {
    root="$1"
    if ! getent passwd callcenter-pbx >/dev/null; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin callcenter-pbx
    fi
    uid=$(id -u callcenter-pbx)
    gid=$(id -g callcenter-pbx)
    have=$(chroot "$root" id -u asterisk)
    if [ "$have" != "$uid" ] || [ "$(chroot "$root" id -g asterisk)" != "$gid" ]; then
        # (edited in place: usermod refuses while an Asterisk of the root is running)
        sed -i "s/^asterisk:x:[0-9]*:[0-9]*:/asterisk:x:$uid:$gid:/" "$root/etc/passwd"
        sed -i "s/^asterisk:x:[0-9]*:/asterisk:x:$gid:/" "$root/etc/group"
        for d in /var/lib/asterisk /var/spool/asterisk /var/log/asterisk /etc/asterisk /run/asterisk /srv/callcenter; do
            [ -e "$root$d" ] && chroot "$root" chown -R asterisk:asterisk "$d"
        done
        echo "Asterisk in $root runs as uid $uid (callcenter-pbx)" >&2
    fi
}

if [ -x "$PBX_ROOT/usr/sbin/asterisk" ]; then
    copy_hosts "$PBX_ROOT"
    [ "$(id -u)" = 0 ] && own_uid "$PBX_ROOT"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "build-pbx-root.sh: must run as root to build $PBX_ROOT" >&2
    exit 1
fi
command -v mmdebstrap >/dev/null || { echo "build-pbx-root.sh: mmdebstrap is missing (scripts/install.sh installs it)" >&2; exit 1; }

parent=$(dirname "$PBX_ROOT")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.build-$(basename "$PBX_ROOT").XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "building the Asterisk root in $PBX_ROOT (about 20 s)..." >&2
# mmdebstrap wants an empty or absent target directory.
rmdir "$tmp"
mmdebstrap --quiet --variant=apt --include="$(echo $PACKAGES | tr ' ' ',')" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    sid "$tmp"
test -x "$tmp/usr/sbin/asterisk" || { echo "build-pbx-root.sh: asterisk missing from the new root" >&2; exit 1; }
copy_hosts "$tmp"
mkdir -p "$tmp/srv/callcenter"
own_uid "$tmp"
if [ -e "$PBX_ROOT" ]; then
    echo "build-pbx-root.sh: $PBX_ROOT exists but holds no asterisk; move it away first" >&2
    exit 1
fi
mv "$tmp" "$PBX_ROOT"
trap - EXIT INT TERM
echo "Asterisk root ready at $PBX_ROOT" >&2
