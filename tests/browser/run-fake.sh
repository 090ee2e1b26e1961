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

log="$out/fake_api_server.log"
"$server" --port 0 --bind 127.0.0.1 --delay-ms 3000 > "$log" 2>&1 &
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

node "$here/upload.mjs" "http://127.0.0.1:$port/" "$file" "$expected" "$out/upload-fake.png" \
  --top the --mobile "$out/upload-fake-phone.png" --live "$out/upload-fake-live.png" --timeout 60000
