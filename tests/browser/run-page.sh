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
log="$out/fake_api_server.log"
"$server" --port 0 --bind 127.0.0.1 --delay-ms 2500 > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
port=""
n=0
while [ -z "$port" ] && [ $n -lt 100 ]; do
  port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$log")
  [ -n "$port" ] || { kill -0 $pid 2>/dev/null || { echo "fake_api_server died:"; cat "$log"; exit 1; }; sleep 0.1; }
  n=$((n + 1))
done
[ -n "$port" ] || { echo "fake_api_server did not start:"; cat "$log"; exit 1; }
node "$here/page.mjs" "http://127.0.0.1:$port/" "$out"
