#!/usr/bin/env bash
# The dashboard in observer mode against a real 3-node cluster (offscreen): it is told only node 1's
# address, learns the others, survives node 1's death, and its election timeline shows the new term and
# its winner within 3 s of the leader being SIGKILLed; a job uploaded meanwhile appears done with its
# count. DASHBOARD=path to raftwc-dashboard; SCREENSHOT=FILE keeps a screenshot of the window.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
DASHBOARD=${DASHBOARD:?set DASHBOARD to the raftwc-dashboard binary}
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} HOME="$T/home" XDG_CONFIG_HOME="$T/config"
mkdir -p "$HOME"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
state="$T/dashboard.json"
"$DASHBOARD" --observe --peers 127.0.0.1:3001 --admin-token-file "$ADMIN" --dump-state "$state" \
  >>"$T/dashboard.log" 2>&1 &
DPID=$!
trap 'kill $DPID 2>/dev/null; cleanup' EXIT
dash() { jq -r "$1" "$state" 2>/dev/null; }
sees_all() { [ "$(dash '.connected | length')" = 3 ] && [ "$(dash '.members | length')" = 3 ]; }
wait_until 15 "the observer reads all 3 members (told only of node 1)" sees_all

leader=$(agreed_leader 3)
li=$(index_of_id "$leader")
term0=$(field "$li" .term)
make_text "$T/a.txt" 200000
expected=$(ref_words "$T/a.txt")
t0=$(date +%s%3N)
kill_node "$li"
log "killed the leader (node $li, term $term0)"
new_term_shown() {
  jq -e --argjson t "$term0" '[.terms[] | select(.term > $t and .winner != "")] | length > 0' "$state" >/dev/null
}
wait_until 15 "the observer's timeline shows a term after $term0 with its winner" new_term_shown
t1=$(date +%s%3N)
row=$(jq -c --argjson t "$term0" '[.terms[] | select(.term > $t and .winner != "")] | last' "$state")
log "observer: $row, $((t1 - t0)) ms after the kill"
[ $((t1 - t0)) -le 3000 ] || fail "the timeline took $((t1 - t0)) ms (> 3 s) to show the new leader"
winner=$(echo "$row" | jq -r .winner)
wi=$(index_of_id "$winner")
[ -n "$wi" ] || fail "the observer's winner $winner is not a running node"
[ "$(leader_of "$wi")" = "$winner" ] || fail "the observer's winner is not the leader the nodes report"
kill -0 "$DPID" || fail "the dashboard died"
if [ "$li" != 1 ]; then
  # The observer's first contact goes too; it keeps reading the survivor. Node 1 comes back (a new process:
  # its events start again from 1) and the observer reads it again.
  kill_node 1
  start_node 1
  log "restarted node 1 (the observer's first contact)"
fi
wait_until 20 "the running nodes agree on a leader" agreed_leader_of_survivors
wi=$(index_of_id "$(leader_of "$wi")")
body=$(upload "$wi" "$T/a.txt") || fail "upload: HTTP $(upload_code) $body"
job=$(echo "$body" | jq -r .id)
job_done() { jq -e --arg j "$job" --argjson w "$expected" '[.jobs[] | select(.id == $j and .state == "done" and .words == $w)] | length == 1' "$state" >/dev/null; }
wait_until 10 "the observer shows job $job done with $expected words" job_done
if [ -n "${SCREENSHOT:-}" ]; then
  "$DASHBOARD" --observe --peers "127.0.0.1:$((3000 + wi))" --screenshot "$SCREENSHOT" --screenshot-delay 2500 \
    >>"$T/dashboard.log" 2>&1 || fail "screenshot failed"
fi
echo "PASS it_dashboard"
