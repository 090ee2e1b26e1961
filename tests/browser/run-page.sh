#!/bin/sh
# run-page.sh FAKE_API_SERVER OUTDIR — page.mjs (the page's flows, accessibility, screenshots) against
# tests/http/fake_api_server on a free loopback port. Run it inside a network namespace (ctest does).
# Exit 77 (skipped) when chromium, node or the npm packages are missing.
set -u
server=${1:?usage: run-page.sh FAKE_API_SERVER OUTDIR}
out=${2:?usage: run-page.sh FAKE_API_SERVER OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || { echo "SKIP: node not installed (bin/setup)"; exit 77; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "SKIP: /usr/bin/chromium not installed (bin/setup)"; exit 77; }
[ -d "$here/node_modules/axe-core" ] || { echo "SKIP: tests/browser/node_modules missing (bin/setup)"; exit 77; }
mkdir -p "$out"
export HOME="$out/home"
mkdir -p "$HOME"
# shellcheck source=tests/browser/fake-server.sh
. "$here/fake-server.sh"
start_fake "$server" "$out/fake_api_server.log" --delay-ms 2500
node "$here/page.mjs" "http://127.0.0.1:$port/" "$out"
