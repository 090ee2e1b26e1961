#!/usr/bin/env bash
# The dashboard in member mode (offscreen): raftwc-dashboard with raftwc's options runs node 3 of a
# 3-node cluster with its window; it forms the cluster with two plain nodes, serves the API on its port,
# counts an upload it received, and its window's view shows the three members, the leader and the job.
# Closing it (SIGTERM) stops the member; the other two keep serving.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
DASHBOARD=${DASHBOARD:?set DASHBOARD to the raftwc-dashboard binary}
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} HOME="$T/home" XDG_CONFIG_HOME="$T/config"
mkdir -p "$HOME"
EXPECT=3
state="$T/member.json"
start_node 1
start_node 2
RAFTWC=$DASHBOARD start_node 3 --dump-state "$state"
wait_until 30 "cluster of 3 (node 3 is the dashboard)" cluster_formed 3
view_ok() {
  jq -e '(.members | length) == 3 and ([.members[] | select(.alive)] | length) == 3 and .leader != ""' "$state" >/dev/null
}
wait_until 10 "the member's window shows 3 live members and the leader" view_ok
[ "$(jq -r .leader "$state")" = "$(agreed_leader 3)" ] || fail "the window's leader differs from the cluster's"
make_text "$T/a.txt" 300000
expected=$(ref_words "$T/a.txt")
body=$(upload 3 "$T/a.txt") || fail "upload through the dashboard member: HTTP $(upload_code) $body"
[ "$(echo "$body" | jq .words)" = "$expected" ] || fail "wrong count through the dashboard member"
job=$(echo "$body" | jq -r .id)
job_shown() { jq -e --arg j "$job" '[.jobs[] | select(.id == $j and .state == "done")] | length == 1' "$state" >/dev/null; }
wait_until 10 "the member's window shows the job done" job_shown
kill -TERM "${PID[3]}"
rc=0
wait "${PID[3]}" || rc=$?
unset "PID[3]"
[ "$rc" = 0 ] || fail "the dashboard member did not stop cleanly on SIGTERM (exit $rc)"
wait_until 20 "the two plain nodes agree on a leader" agreed_leader_of_survivors
echo "PASS it_dashboard_member"
