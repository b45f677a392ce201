#!/usr/bin/env bash
# Registry tests of promotion (issue 15): the copy script of components/images/promote.ts against
# two real registries on loopback (Debian's docker-registry, the CNCF distribution registry, with
# password authentication). Installs skopeo, docker-registry and apache2-utils (htpasswd) when
# missing; the test starts and stops its own registries.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
if [ "${#missing[@]}" -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's package starts a registry of its own on :5000; the tests use their own ports and configs.
exec npx mocha --no-config -r ts-node/register/transpile-only --extension ts --timeout 120000 --exit 'test/registry/*.registry.ts'
