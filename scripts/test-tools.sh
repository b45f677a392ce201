#!/usr/bin/env bash
# The Debian linters the unit tests run on what dockyard renders: shellcheck (node scripts) and
# cloud-init (its schema check). Installed here when missing, so `npm ci && npm test` works on a
# fresh Debian or Ubuntu machine; elsewhere, install them with your package manager.
set -euo pipefail

missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "the tests need ${missing[*]}; install them with your package manager" >&2
    exit 1
fi
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
echo "installing ${missing[*]} for the tests" >&2
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
