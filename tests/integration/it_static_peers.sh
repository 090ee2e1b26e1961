#!/usr/bin/env bash
# Static peers (networks without multicast, e.g. cloud VPCs): with --peers, discovery and leader
# heartbeats go by unicast UDP to every listed peer. Each node binds its own UDP port (10000 + i) on
# loopback; no multicast group is joined. The cluster forms, counts, and fails over.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
peers="127.0.0.1:10001,127.0.0.1:10002,127.0.0.1:10003"
for i in 1 2 3; do start_node "$i" --group "239.0.0.1:$((10000 + i))" --peers "$peers"; done
wait_until 30 "cluster of 3 over static peers" cluster_formed 3
grep -q "static peers" "$T/n1.log" || fail "node 1 did not start in static-peers mode"
make_text "$T/a.txt" 200000
body=$(upload 3 "$T/a.txt") || fail "upload: HTTP $(upload_code)"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "wrong count"
old=$(agreed_leader 3); li=$(index_of_id "$old")
kill_node "$li"
wait_until 20 "new leader over static peers" agreed_leader_of_survivors
echo "PASS it_static_peers"
