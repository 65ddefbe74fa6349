#!/usr/bin/env bash
# Prepare this machine for swarmctl and its lab, idempotently:
#   - Debian packages: docker.io (the engine the lab runs on), debootstrap (lab images), ssh client
#   - a Docker engine: started in the background when none answers
#   - a virtualenv (.venv, or $SWARMCTL_VENV) with swarmctl and its test tools
# Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SWARMCTL_VENV:-.venv}
say() { printf '[setup] %s\n' "$*" >&2; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v ssh >/dev/null || missing+=(openssh-client)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        say "missing packages: ${missing[*]}; run as root, or: sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
    say "installing ${missing[*]} from Debian"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

engine_up() { python3 - <<'PY' 2>/dev/null
import os, socket, sys
host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
if not host.startswith("unix://"):
    sys.exit(0)  # a remote engine: let the docker SDK judge it later
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(host[len("unix://"):])
s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
sys.exit(0 if b"OK" in s.recv(1024) else 1)
PY
}

if ! engine_up; then
    if [ -n "${DOCKER_HOST:-}" ]; then
        say "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
        exit 1
    fi
    say "no Docker engine answers; starting dockerd in the background (log: /var/log/swarmctl-dockerd.log)"
    nohup dockerd >/var/log/swarmctl-dockerd.log 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        engine_up && break
        sleep 1
    done
    engine_up || { say "dockerd did not come up; see /var/log/swarmctl-dockerd.log"; exit 1; }
fi

# Every lab host runs systemd, journald and dockerd, each holding inotify instances; the kernel's
# default of 128 per user runs out at about 15 hosts, and systemd then exits at boot.
if [ "$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 1024)" -lt 1024 ]; then
    if [ "$(id -u)" = 0 ] && sysctl -qw fs.inotify.max_user_instances=1024 2>/dev/null; then
        say "raised fs.inotify.max_user_instances to 1024 (lab hosts each hold several)"
    else
        say "fs.inotify.max_user_instances is low; labs of many hosts may not boot (sysctl -w fs.inotify.max_user_instances=1024)"
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv $VENV"
    python3 -m venv "$VENV"
fi
stamp="$VENV/.swarmctl-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing swarmctl and its test tools into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[test]"
    touch "$stamp"
fi
say "ready: $VENV/bin/swarmctl"
