#!/usr/bin/env bash
# A node started later joins the running cluster (learner → voter), catches up with the log (it serves a
# job committed before it existed), and takes part in counting. Removing it is an explicit operation.
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
# a fresh node with data of ANOTHER cluster refuses to join
echo "PASS it_join"
