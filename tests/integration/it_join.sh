#!/usr/bin/env bash
# A node started later joins the running cluster (learner → voter), catches up with the log (it serves a
# job committed before it existed), and takes part in counting. Removing it is an explicit operation.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
make_text "$T/a.txt" 400000
body=$(upload 1 "$T/a.txt") || fail "upload: HTTP $(upload_code)"
job=$(echo "$body" | jq -r .id)
EXPECT=1 start_node 4
wait_until 30 "node 4 joined as a voter (4 live voters)" cluster_formed 4
wait_until 10 "node 4 serves the earlier job" api 4 "/api/jobs/$job"
[ "$(api 4 "/api/jobs/$job" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "node 4 has a different result"
[ "$(field 4 .clusterId)" = "$(field 1 .clusterId)" ] || fail "node 4 joined another cluster"
body=$(upload 4 "$T/a.txt") || fail "upload via node 4: HTTP $(upload_code)"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "node 4 coordinated a wrong count"

# Removing a member is explicit: node 4 dies; it stays a (dead) member until an operator removes it.
id4=$(node_id 4)
kill_node 4
dead() { [ "$(field 1 ".members[] | select(.id == \"$id4\") | .alive")" = false ]; }
wait_until 10 "node 4 seen dead" dead
[ "$(field 1 '.members | length')" = 4 ] || fail "a dead member was removed automatically"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:3002/api/members/$id4")
[ "$code" = 401 ] || fail "removal without the admin token answered $code, expected 401"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $(cat "$KEY")" \
       "http://127.0.0.1:3002/api/members/$id4")
[ "$code" = 401 ] || fail "removal with the cluster key (never accepted over HTTP) answered $code, expected 401"
code=$(curl -sS -o "$T/rm.out" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $(cat "$ADMIN")" \
       "http://127.0.0.1:3002/api/members/$id4")
[ "$code" = 200 ] || fail "removal answered $code: $(cat "$T/rm.out")"
three() { [ "$(field 1 '.members | length')" = 3 ] && [ "$(field 3 '.members | length')" = 3 ]; }
wait_until 10 "3 members after removal" three
# Leadership transfer through the API.
leader=$(agreed_leader 3)
code=$(curl -sS -o "$T/tr.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$ADMIN")" \
       "http://127.0.0.1:3001/api/leader/transfer")
[ "$code" = 202 ] || fail "transfer answered $code: $(cat "$T/tr.out")"
moved() { local l; l=$(agreed_leader 3) && [ "$l" != "$leader" ]; }
wait_until 10 "leadership moved to another voter" moved

# A node whose data belongs to ANOTHER cluster refuses to join this one. Make such data: node 5 first
# bootstraps its own single-node cluster on another multicast port, then restarts on the shared group.
EXPECT=1 start_node 5 --group 239.0.0.1:10099
own() { [ -n "$(leader_of 5)" ] && [ "$(field 5 .clusterId)" != "$(field 1 .clusterId)" ]; }
wait_until 20 "node 5 leads its own cluster" own
cid5=$(field 5 .clusterId)
stop_node 5
EXPECT=1 start_node 5
refused() { grep -q "refusing to join another cluster" "$T/n5.log"; }
wait_until 15 "node 5 refuses the other cluster's leader" refused
[ "$(field 5 .clusterId)" = "$cid5" ] || fail "node 5 changed cluster"
[ "$(field 1 '.members | length')" = 3 ] || fail "node 5 was added to cluster 1"
echo "PASS it_join"
