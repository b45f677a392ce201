#!/usr/bin/env bash
# The Debian tools the unit tests use: the linters run on what dockyard renders, shellcheck (node
# scripts) and cloud-init (its schema check), and redis-server for the sample api's tests (they
# start their own on a free port). Installed here when missing, so `npm ci && npm test` works on a
# fresh Debian or Ubuntu machine; elsewhere, install them with your package manager.
set -euo pipefail

missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)
# The sample api's tests run its Redis client against a real redis-server.
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    # macOS and other systems without apt-get: shellcheck is in Homebrew, cloud-init is Linux-only.
    echo "the tests need ${missing[*]}; install them with your package manager (macOS: brew install shellcheck redis;" >&2
    echo "cloud-init has no macOS package), or run the tests in a Debian container:" >&2
    echo "  docker run --rm -v \"\$PWD\":/src -v /src/node_modules -w /src node:20-bookworm bash -c 'npm ci --no-audit --no-fund && npm test'" >&2
    exit 1
fi
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
echo "installing ${missing[*]} for the tests" >&2
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
