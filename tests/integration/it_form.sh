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
for i in $(seq 1 "$N"); do
  wait_until 10 "node $i ready" api "$i" /readyz
  [ "$(api "$i" /readyz | jq -r .status)" = ready ] || fail "node $i not ready"
  [ "$(api "$i" /livez | jq -r .status)" = alive ] || fail "node $i not alive"
done
# SIGHUP is logged and ignored: the node keeps serving and keeps its place in the cluster.
kill -HUP "${PID[1]}"
wait_until 5 "node 1 logs the ignored SIGHUP" grep -q "SIGHUP: ignored" "$T/n1.log"
kill -0 "${PID[1]}" || fail "node 1 exited on SIGHUP"
[ "$(api 1 /readyz | jq -r .status)" = ready ] || fail "node 1 not ready after SIGHUP"
echo "PASS it_form $N"
