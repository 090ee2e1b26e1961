#!/usr/bin/env bash
# A file with far more distinct words than one 2 MiB table piece holds: the job commits the whole table in
# pieces; every node serves every page of it (pages across piece boundaries) from its own log, also after
# a restart; the table is exactly the reference (every word, every count).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
python3 - "$T/big.txt" <<'PY'
import random, sys
rng = random.Random(7)
letters = "abcdefghijklmnopqrstuvwxyz"
with open(sys.argv[1], "w") as f:
    for i in range(450000):
        f.write("".join(rng.choice(letters) for _ in range(12)))
        f.write(" common\n" if i % 5 == 0 else " ")
PY
body=$(upload 1 "$T/big.txt" "?mode=raw") || fail "upload: HTTP $(upload_code) $body"
job=$(echo "$body" | jq -r .id)
pieces=$(echo "$body" | jq .tablePieces)
[ "$pieces" -ge 2 ] || fail "expected several table pieces, got $pieces"
[ "$(echo "$body" | jq .tableComplete)" = true ] || fail "table incomplete"
[ "$(echo "$body" | jq .tableWords)" = "$(echo "$body" | jq .uniqueWords)" ] || fail "tableWords != uniqueWords"
log "table of $(echo "$body" | jq .tableWords) words in $pieces pieces"

# fetch_all I OUT — every page of the table from node I, as "word count" lines.
fetch_all() {
  local off=0 page n
  : >"$2"
  while :; do
    page=$(api "$1" "/api/jobs/$job/words?limit=10000&offset=$off") || return 1
    n=$(echo "$page" | jq '.words | length')
    [ "$n" -gt 0 ] || break
    echo "$page" | jq -r '.words[] | "\(.word) \(.count)"' >>"$2"
    [ "$(echo "$page" | jq .stored)" = "$(echo "$body" | jq .tableWords)" ] || return 1
    off=$((off + n))
  done
}
python3 - "$T/big.txt" >"$T/ref.txt" <<'PY'
import collections, sys
c = collections.Counter(open(sys.argv[1], "rb").read().split())
for w, n in sorted(c.items(), key=lambda x: (-x[1], x[0])):
    print(w.decode(), n)
PY
fetch_all 2 "$T/n2.txt" || fail "paging node 2"
cmp -s "$T/ref.txt" "$T/n2.txt" || fail "node 2's table differs from the reference ($(wc -l <"$T/n2.txt") vs $(wc -l <"$T/ref.txt") lines)"
stop_node 3
start_node 3
wait_until 30 "node 3 back" cluster_formed 3
wait_until 10 "node 3 serves the job" api 3 "/api/jobs/$job"
fetch_all 3 "$T/n3.txt" || fail "paging node 3 after restart"
cmp -s "$T/ref.txt" "$T/n3.txt" || fail "node 3's table after restart differs"
echo "PASS it_bigtable"
