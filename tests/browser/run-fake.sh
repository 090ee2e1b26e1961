#!/bin/sh
# run-fake.sh FAKE_API_SERVER OUTDIR — the browser test against tests/http/fake_api_server.
# Starts the fake server on a free loopback port, generates a text file with a known word count, runs
# upload.mjs, stops the server. Run it inside a network namespace (ctest does, via in-netns.sh).
# Exit 77 (skipped) when chromium, node or playwright-core is missing.
set -u
server=${1:?usage: run-fake.sh FAKE_API_SERVER OUTDIR}
out=${2:?usage: run-fake.sh FAKE_API_SERVER OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || { echo "SKIP: node not installed (bin/setup)"; exit 77; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "SKIP: /usr/bin/chromium not installed (bin/setup)"; exit 77; }
[ -d "$here/node_modules/playwright-core" ] || { echo "SKIP: tests/browser/node_modules missing (cd tests/browser && npm ci)"; exit 77; }
mkdir -p "$out"
export HOME="$out/home"   # chromium wants a writable profile/cache location
mkdir -p "$HOME"

# 400 lines: "the" 3x per line, so it is the top word; 11 words per line.
file="$out/browser-sample.txt"
i=0
: > "$file"
while [ $i -lt 400 ]; do
  echo "The quick brown fox jumps over the lazy dog, the end" >> "$file"
  i=$((i + 1))
done
expected=$(wc -w < "$file" | tr -d ' ')

# shellcheck source=tests/browser/fake-server.sh
. "$here/fake-server.sh"
start_fake "$server" "$out/fake_api_server.log" --delay-ms 3000

node "$here/upload.mjs" "http://127.0.0.1:$port/" "$file" "$expected" "$out/upload-fake.png" \
  --top the --mobile "$out/upload-fake-phone.png" --live "$out/upload-fake-live.png" --timeout 60000
