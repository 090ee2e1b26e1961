#!/usr/bin/env bash
# A follower that is frozen (SIGSTOP: it hears nothing and says nothing, like a cut link) for several
# election timeouts rejoins without deposing the leader (pre-vote); the term does not move.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
leader=$(agreed_leader 3)
li=$(index_of_id "$leader")
fi_=$(( li % 3 + 1 ))
term=$(field "$li" .term)
log "leader node $li term $term; freezing follower node $fi_ for 4 s"
kill -STOP "${PID[$fi_]}"
# while it is away the others still commit
make_text "$T/a.txt" 20000
upload "$li" "$T/a.txt" >/dev/null || fail "upload with one follower away: HTTP $(upload_code)"
sleep_s=4; end=$((SECONDS + sleep_s)); while [ $SECONDS -lt $end ]; do api "$li" /healthz >/dev/null || fail "leader unhealthy"; sleep 0.2; done
kill -CONT "${PID[$fi_]}"
caught_up() { [ "$(field "$fi_" .appliedIndex)" -ge "$(field "$li" .commitIndex)" ]; }
wait_until 10 "follower back and caught up" caught_up
# give it several election timeouts to try to disrupt
end=$((SECONDS + 2)); while [ $SECONDS -lt $end ]; do
  [ "$(leader_of "$li")" = "$leader" ] || fail "leader deposed after follower returned"
  sleep 0.1
done
[ "$(field "$li" .term)" = "$term" ] || fail "term moved from $term to $(field "$li" .term)"
echo "PASS it_partition"
