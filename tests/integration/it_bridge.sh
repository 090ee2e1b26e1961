#!/usr/bin/env bash
# The docker topology without docker: 3 nodes in 3 network namespaces whose eth0s share a bridge
# (bin/netns-cluster), multicast pinned to eth0. Scenarios:
#  1. simultaneous start forms one cluster with one leader;
#  2. a follower's link goes down for several election timeouts and comes back: it catches up and the
#     leader is not deposed (pre-vote), the term does not move;
#  3. the leader's link goes down: cut off with a minority it cannot commit (503) and steps down
#     (check-quorum); the majority elects a new leader and keeps committing; when the link returns the
#     old leader follows the new one and has every entry.
set -euo pipefail
RAFTWC=${RAFTWC:?}
here=$(cd "$(dirname "$0")/../.." && pwd)
nc="$here/bin/netns-cluster"
name="rwcit$$"
T=$(mktemp -d /tmp/raftwc-bridge.XXXXXX)
declare -A PID=()
# shellcheck source=tests/integration/common.sh
source "$(dirname "$0")/common.sh"
cleanup() {
  for i in "${!PID[@]}"; do kill -9 "${PID[$i]}" 2>/dev/null || true; done
  { wait; } 2>/dev/null || true
  "$nc" down "$name"
  rm -rf "$T"
}
trap cleanup EXIT
"$nc" up "$name" 3
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/key"
ip_of() { "$nc" ip "$name" "$1"; }
start() {
  local i=$1 ip; ip=$(ip_of "$1")
  mkdir -p "$T/n$i"
  ip netns exec "$name-$i" "$RAFTWC" --data-dir "$T/n$i" --interface eth0 --advertise "$ip" --rpc "$ip:7000" \
     --http 0.0.0.0:3000 --cluster-key-file "$T/key" --election-timeout 300-600 --heartbeat 50 \
     --discovery 1500 --bootstrap-expect 3 >>"$T/n$i.log" 2>&1 &
  PID[$i]=$!
}
# A client on each node's own host (its namespace), so it still reaches a node whose link is cut.
api() { ip netns exec "$name-$1" curl -fsS --max-time 3 "http://127.0.0.1:3000$2"; }
field() { (api "$1" /api/cluster 2>/dev/null || echo '{}') | jq -r "$2"; }
same_leader() {  # nodes given agree on a leader; prints it
  local l="" x
  for i in "$@"; do x=$(field "$i" '.leader.id // empty'); [ -n "$x" ] || return 1
    if [ -z "$l" ]; then l=$x; elif [ "$l" != "$x" ]; then return 1; fi; done
  echo "$l"
}
three_live() { [ "$(field "$1" '[.members[] | select(.alive and .voter)] | length')" = 3 ]; }
index_of() { for i in 1 2 3; do [ "$(field "$i" .id)" = "$1" ] && echo "$i" && return; done; }
upload() {  # upload I TEXT → HTTP code
  ip netns exec "$name-$1" curl -sS --max-time 20 -H 'Expect:' -H 'X-Filename: t.txt' --data-binary "$2" \
     -o "$T/out" -w '%{http_code}' "http://127.0.0.1:3000/api/count" || true
}

for i in 1 2 3; do start "$i"; done
wait_until 30 "one leader agreed by all 3" same_leader 1 2 3
leader=$(same_leader 1 2 3); li=$(index_of "$leader")
wait_until 15 "3 live voters" three_live "$li"
# and one from the hub (198.18.0.1): a client elsewhere on the docker network
ip netns exec "$name-hub" curl -fsS --max-time 3 "http://$(ip_of "$li"):3000/healthz" >/dev/null || fail "node unreachable over the bridge"
log "1. cluster formed over the bridge; leader node $li"

f=$(( li % 3 + 1 )); term=$(field "$li" .term)
log "2. cutting follower node $f's link"
"$nc" link "$name" "$f" down
[ "$(upload "$li" 'while one follower is away')" = 200 ] || fail "leader with 2 of 3 could not commit"
end=$((SECONDS + 3)); while [ $SECONDS -lt $end ]; do sleep 0.2; done   # several election timeouts away
"$nc" link "$name" "$f" up
caught() { [ "$(field "$f" .appliedIndex)" -ge "$(field "$li" .commitIndex)" ]; }
wait_until 15 "follower caught up" caught
end=$((SECONDS + 2)); while [ $SECONDS -lt $end ]; do
  [ "$(field "$li" '.leader.id')" = "$leader" ] || fail "leader deposed by the returning follower"; sleep 0.1
done
[ "$(field "$li" .term)" = "$term" ] || fail "term moved from $term to $(field "$li" .term)"
log "   follower rejoined; leader and term unchanged"

log "3. cutting the leader's link (node $li)"
"$nc" link "$name" "$li" down
others=(); for i in 1 2 3; do [ "$i" = "$li" ] || others+=("$i"); done
steps_down() { [ "$(field "$li" .role)" != leader ]; }
wait_until 10 "isolated leader steps down (check-quorum)" steps_down
code=$(upload "$li" 'no quorum here')
[ "$code" = 503 ] || fail "isolated old leader answered $code to an upload, expected 503"
new_leader() { local l; l=$(same_leader "${others[@]}") && [ "$l" != "$leader" ]; }
wait_until 15 "majority elects a new leader" new_leader
nl=$(same_leader "${others[@]}")
[ "$(upload "${others[0]}" 'the majority commits')" = 200 ] || fail "majority could not commit"
job=$(jq -r .id "$T/out")
"$nc" link "$name" "$li" up
follows() { [ "$(field "$li" '.leader.id')" = "$nl" ] && api "$li" "/api/jobs/$job"; }
wait_until 15 "old leader follows the new one and has the new job" follows
log "   old leader stepped down, new leader $nl, old leader rejoined with every entry"
echo "PASS it_bridge"
