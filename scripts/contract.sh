#!/usr/bin/env bash
# Contract tests of the Swarm adapter on a real Docker engine in swarm mode (issue 8).
#
# Uses the engine at DOCKER_HOST (or /var/run/docker.sock) when one answers. Otherwise installs
# Debian's docker.io and busybox-static when missing, starts `dockerd --storage-driver=vfs` (vfs works
# on any filesystem, including overlay-in-overlay sandboxes), and stops it again on exit. Swarm mode
# is initialised when the engine is not in a swarm yet, and left again on exit only if this script
# initialised it. Nothing is pulled: the test image is built FROM scratch with busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."

started_dockerd=""
initialised_swarm=""
dockerd_log="${TMPDIR:-/tmp}/dockyard-contract-dockerd.log"

cleanup() {
    if [ -n "$initialised_swarm" ]; then
        docker swarm leave --force >/dev/null 2>&1 || true
    fi
    if [ -n "$started_dockerd" ]; then
        as_root kill "$started_dockerd" 2>/dev/null || true
        for _ in $(seq 1 30); do
            as_root kill -0 "$started_dockerd" 2>/dev/null || break
            sleep 1
        done
    fi
}
trap cleanup EXIT

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1; then missing+=(docker.io); fi
if [ "${#missing[@]}" -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    # Started directly (not through a shell function), so $! is dockerd itself or sudo, which forwards signals.
    if [ "$(id -u)" -eq 0 ]; then
        dockerd --storage-driver=vfs >"$dockerd_log" 2>&1 &
    else
        # shellcheck disable=SC2024 # the log is the invoking user's file, written by this shell
        sudo dockerd --storage-driver=vfs >"$dockerd_log" 2>&1 &
    fi
    started_dockerd=$!
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        as_root kill -0 "$started_dockerd" 2>/dev/null || { cat "$dockerd_log" >&2; exit 1; }
        sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "dockerd did not answer within 60 s; log: $dockerd_log" >&2; exit 1; }
fi

if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
    initialised_swarm=1
fi

npx mocha --config test/contract/.mocharc.json "$@"
