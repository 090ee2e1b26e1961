#!/usr/bin/env bash
# Full-cluster restart keeps every committed entry: jobs committed before a graceful stop of every node
# (SIGTERM → exit 0) are all there after the restart, with the same cluster id and node ids; a rolling
# restart (one node at a time) keeps the cluster serving.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
cid=$(field 1 .clusterId)
ids=()
for i in 1 2 3; do
  make_text "$T/f$i.txt" $((10000 * i))
  body=$(upload "$i" "$T/f$i.txt") || fail "upload $i: HTTP $(upload_code)"
  ids+=("$(echo "$body" | jq -r .id)=$(ref_words "$T/f$i.txt")")
done
declare -A nid
for i in 1 2 3; do nid[$i]=$(node_id "$i"); done
log "stopping all nodes with SIGTERM"
for i in 1 2 3; do stop_node "$i"; done
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3 after full restart" cluster_formed 3
for i in 1 2 3; do
  [ "$(field "$i" .clusterId)" = "$cid" ] || fail "node $i changed cluster"
  [ "$(node_id "$i")" = "${nid[$i]}" ] || fail "node $i changed id"
  for pair in "${ids[@]}"; do
    id=${pair%%=*}; w=${pair##*=}
    wait_until 10 "job $id on node $i" api "$i" "/api/jobs/$id"
    [ "$(api "$i" "/api/jobs/$id" | jq .words)" = "$w" ] || fail "job $id lost or changed on node $i"
  done
done
log "SIGTERM of the leader hands leadership over first"
leader=$(agreed_leader 3); li=$(index_of_id "$leader")
stop_node "$li"
grep -q "shutdown: transferring leadership" "$T/n$li.log" || fail "the stopping leader did not transfer leadership"
others=(); for i in 1 2 3; do [ "$i" = "$li" ] || others+=("$i"); done
handed() { local a b; a=$(leader_of "${others[0]}"); b=$(leader_of "${others[1]}"); [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$leader" ]; }
wait_until 5 "the survivors agree on the new leader" handed
start_node "$li"
wait_until 30 "cluster of 3 again" cluster_formed 3

log "rolling restart"
for i in 1 2 3; do
  stop_node "$i"
  start_node "$i"
  wait_until 30 "cluster of 3 after restarting node $i" cluster_formed 3
  body=$(upload "$i" "$T/f1.txt") || fail "upload after rolling restart of $i: HTTP $(upload_code)"
done
echo "PASS it_restart"
