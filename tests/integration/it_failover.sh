#!/usr/bin/env bash
# SIGKILL of the leader: the survivors elect a new leader, proposals (uploads) resume; the killed node
# restarts from its data dir, rejoins as the member it was and catches up with what it missed.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
old=$(agreed_leader 3)
li=$(index_of_id "$old")
term0=$(field "$li" .term)
log "leader $old (node $li), term $term0; killing it"
kill_node "$li"
wait_until 20 "new leader among the 2 survivors" agreed_leader_of_survivors
new=$(leader_of "$(for i in "${!PID[@]}"; do echo "$i"; break; done)")
[ "$new" != "$old" ] || fail "leader did not change"
log "new leader $new"
make_text "$T/a.txt" 50000
expected=$(ref_words "$T/a.txt")
for i in "${!PID[@]}"; do
  body=$(upload "$i" "$T/a.txt") || fail "upload after failover via node $i: HTTP $(upload_code) $body"
  [ "$(echo "$body" | jq .words)" = "$expected" ] || fail "wrong count after failover"
done
job=$(echo "$body" | jq -r .id)
log "restarting node $li"
start_node "$li"
wait_until 30 "node $li back as a member that sees job $job" api "$li" "/api/jobs/$job"
wait_until 20 "3 live voters again" cluster_formed 3
[ "$(field "$li" .id)" = "$old" ] || fail "node $li came back with another id"
echo "PASS it_failover"
