#!/usr/bin/env bash
# Headless Chromium (playwright-core) against a real 3-node cluster: opens /, uploads a file with the
# page's file input, reads the word count and the top word from the page, checks the shard table and
# the live progress. SCREENSHOTS=DIR keeps the screenshots (docs/screenshots were made that way).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
browser=$(cd "$(dirname "$0")/../browser" && pwd)
command -v node >/dev/null || { echo "SKIP: node missing (bin/setup)"; exit 77; }
[ -x /usr/bin/chromium ] || { echo "SKIP: chromium missing (bin/setup)"; exit 77; }
[ -d "$browser/node_modules/playwright-core" ] || { echo "SKIP: tests/browser/node_modules missing (bin/setup)"; exit 77; }
shots=${SCREENSHOTS:-$T/shots}
mkdir -p "$shots"
export HOME="$T/home"; mkdir -p "$HOME"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
# "the" is the top word: 3 per line; plus a large body so every node counts a shard and progress shows
file="$T/sample.txt"
for _ in $(seq 1 2000); do echo "The quick brown fox jumps over the lazy dog, the end"; done >"$file"
make_text "$T/tail.txt" 3000000
cat "$T/tail.txt" >>"$file"
expected=$(ref_words "$file")
node "$browser/upload.mjs" "http://127.0.0.1:3002/" "$file" "$expected" "$shots/cluster-desktop.png" \
  --top the --mobile "$shots/cluster-phone.png" || fail "browser upload check failed"
# The page follows the cluster live: node 3 is killed while the page (on node 2) watches; it reads DOWN.
victim=$(node_id 3)
node "$browser/members.mjs" "http://127.0.0.1:3002/" "$victim" "$T/members.ready" &
watcher=$!
wait_until 30 "the page shows node 3 up" test -f "$T/members.ready"
kill_node 3
wait "$watcher" || fail "the page did not show the killed node as down"
echo "PASS it_browser"
