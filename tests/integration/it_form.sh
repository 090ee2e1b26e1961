#!/usr/bin/env bash
# it_form.sh N — N nodes started at once form ONE cluster with one leader that every node agrees on; all
# share the cluster id; a file counted through each node gives the same exact answer; results are
# readable on every node (committed through the log).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
N=${1:-3}
EXPECT=$N
for i in $(seq 1 "$N"); do start_node "$i"; done
wait_until 30 "$N nodes agree on a leader with $N live voters" cluster_formed "$N"
leader=$(agreed_leader "$N")
log "leader $leader"
cid=$(field 1 .clusterId)
[ -n "$cid" ] || fail "no cluster id"
for i in $(seq 2 "$N"); do [ "$(field "$i" .clusterId)" = "$cid" ] || fail "node $i in another cluster"; done
# exactly one node says it is the leader
leaders=0
for i in $(seq 1 "$N"); do [ "$(field "$i" .role)" = leader ] && leaders=$((leaders + 1)); done
[ "$leaders" = 1 ] || fail "$leaders nodes claim leadership"

make_text "$T/text.txt" 300000
expected=$(ref_words "$T/text.txt")
ids=()
for i in $(seq 1 "$N"); do
  body=$(upload "$i" "$T/text.txt") || fail "upload via node $i: HTTP $(upload_code): $body"
  words=$(echo "$body" | jq .words)
  [ "$words" = "$expected" ] || fail "node $i counted $words words, wc -w says $expected"
  shards=$(echo "$body" | jq '[.shards[].node] | unique | length')
  log "node $i: $words words, $shards node(s) counted shards"
  ids+=("$(echo "$body" | jq -r .id)")
done
# every job result is visible on every node
for i in $(seq 1 "$N"); do
  for id in "${ids[@]}"; do
    wait_until 10 "job $id visible on node $i" api "$i" "/api/jobs/$id"
    [ "$(api "$i" "/api/jobs/$id" | jq .words)" = "$expected" ] || fail "job $id differs on node $i"
  done
done
[ "$(api 1 /healthz | jq -r .status)" = ok ] || fail "healthz not ok"
echo "PASS it_form $N"
