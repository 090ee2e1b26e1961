#!/usr/bin/env bash
# GET /api/events on a real 3-node cluster: a follower's stream shows another node's job (relayed by its
# coordinator) to the end with the exact count, its own shard work, and — after the leader is SIGKILLed —
# the new term, the campaign, the votes and the new leader; the Server-Sent Events form carries the same
# events with increasing ids.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
leader=$(agreed_leader 3)
li=$(index_of_id "$leader")
followers=()
for i in 1 2 3; do [ "$i" = "$li" ] || followers+=("$i"); done
f=${followers[0]} g=${followers[1]}
log "leader node $li; watching node $f; uploading through node $g"

events() { api "$1" "/api/events?format=json&after=${2:-0}"; }
# A live SSE stream on node f for the whole test.
curl -sN --max-time 120 "http://127.0.0.1:$((3000 + f))/api/events" >"$T/sse.txt" 2>/dev/null &
SSE=$!

# 1. A job coordinated by g, seen from f.
make_text "$T/a.txt" 3000000
expected=$(ref_words "$T/a.txt")
body=$(upload "$g" "$T/a.txt") || fail "upload via node $g: HTTP $(upload_code) $body"
job=$(echo "$body" | jq -r .id)
[ "$(echo "$body" | jq .words)" = "$expected" ] || fail "wrong count"
relayed_done() {
  events "$f" | jq -e --arg j "$job" --argjson w "$expected" \
    '[.events[] | select(.type == "job" and .relayed and .job.id == $j and .job.state == "done" and .job.words == $w)] | length == 1' >/dev/null
}
wait_until 10 "node $f reports job $job done (relayed by node $g)" relayed_done
states=$(events "$f" | jq -r --arg j "$job" '[.events[] | select(.type == "job" and .job.id == $j) | .job.state] | unique | join(",")')
log "job states seen on node $f: $states"
case ",$states," in *,counting,*) ;; *) fail "node $f never saw the job counting ($states)" ;; esac
fid=$(node_id "$f")
if echo "$body" | jq -e --arg n "$fid" '[.shards[] | select(.node == $n)] | length > 0' >/dev/null; then
  events "$f" | jq -e --arg j "$job" \
    '[.events[] | select(.type == "shard" and .job == $j and .state == "done" and .bytesDone == .length)] | length > 0' \
    >/dev/null || fail "node $f counted a shard of $job but reported no shard event"
fi

# 2. The leader dies: f's stream tells the election.
since=$(events "$f" | jq .next)
term0=$(field "$f" .term)
log "killing the leader (node $li, term $term0); events on node $f after $since"
t0=$(date +%s%3N)
kill_node "$li"
new_leader_event() {
  events "$f" "$since" | jq -e --arg old "$leader" \
    '[.events[] | select(.type == "leader" and .leader != null and .leader != $old)] | length > 0' >/dev/null
}
wait_until 15 "node $f reports a new leader" new_leader_event
ev=$(events "$f" "$since")
t1=$(echo "$ev" | jq '[.events[] | select(.type == "leader" and .leader != null)][0].time')
new=$(echo "$ev" | jq -r '[.events[] | select(.type == "leader" and .leader != null)][0].leader')
log "node $f saw leader $new $((t1 - t0)) ms after the kill"
echo "$ev" | jq -e --argjson t "$term0" '[.events[] | select(.type == "term" and .term > $t)] | length > 0' >/dev/null ||
  fail "no term event after the kill"
echo "$ev" | jq -e '[.events[] | select(.type == "leader" and .leader == null)] | length > 0' >/dev/null ||
  fail "node $f never reported losing the leader"
# The winner's own stream has its campaign and its win; f (a voter) answered a vote request.
ni=$(index_of_id "$new")
events "$ni" "0" | jq -e '[.events[] | select(.type == "elected" and .kind == "vote")] | length > 0' >/dev/null ||
  fail "the new leader (node $ni) reports no won election"
all=$(events "$f" "$since")
if [ "$ni" != "$f" ]; then
  echo "$all" | jq -e --arg n "$new" '[.events[] | select(.type == "vote" and .candidate == $n and .granted)] | length > 0' \
    >/dev/null || fail "node $f did not report granting its vote to $new"
fi

# 3. The SSE stream carried the same: status events, then ids that only grow.
sse_shows_events() { grep -q "^event: leader" "$T/sse.txt" && grep -q "^event: job" "$T/sse.txt"; }
wait_until 5 "the SSE stream shows the job and the leader change" sse_shows_events
grep -q '^event: status' "$T/sse.txt" || fail "no status event in the stream"
grep '^id: ' "$T/sse.txt" | awk '{ if (NR > 1 && $2 != prev + 1) bad = 1; prev = $2 } END { exit bad }' ||
  fail "SSE ids are not consecutive"
kill "$SSE" 2>/dev/null || true
echo "PASS it_events"
