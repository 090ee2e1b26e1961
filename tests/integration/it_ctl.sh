#!/usr/bin/env bash
# raftwc ctl against a real 3-node cluster: status and members (human and --json), count (like wc), jobs,
# transfer (the leader changes), remove (a killed member leaves the configuration); refusals exit 1 with
# the node's message, an unreachable node exits 3, bad usage 2.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
ctl() { "$RAFTWC" ctl --node 127.0.0.1:3001 "$@"; }

ctl status | grep -q '^leader    [0-9a-f]\{16\} at ' || fail "ctl status shows no leader"
[ "$(ctl members --json | jq length)" = 3 ] || fail "ctl members --json: not 3 members"
[ "$(ctl members | tail -n +2 | wc -l)" = 3 ] || fail "ctl members: not 3 rows"

make_text "$T/a.txt" 400000
read -r lines words chars bytes _ <<<"$(ctl count "$T/a.txt")" || fail "ctl count failed"
read -r wl ww wm wc_ _ <<<"$(LC_ALL=C.UTF-8 wc -l -w -m -c "$T/a.txt")"
[ "$lines $words $chars $bytes" = "$wl $ww $wm $wc_" ] ||
  fail "ctl count '$lines $words $chars $bytes' differs from wc '$wl $ww $wm $wc_'"
ctl jobs | grep -q 'a.txt' || fail "ctl jobs does not list the job"

leader=$(agreed_leader 3)
ctl transfer >/dev/null 2>&1 && fail "transfer without the admin token was accepted"
rc=0; ctl transfer >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a refused transfer exits $rc, not 1"
ctl --admin-token-file "$ADMIN" transfer | grep -q 'transfer started' || fail "ctl transfer failed"
new_leader() { l=$(agreed_leader 3) && [ -n "$l" ] && [ "$l" != "$leader" ]; }
wait_until 15 "leadership moved away from $leader" new_leader

# The victim: a follower (killing the new leader would leave the removal without a leader to ask).
now_leader=$(agreed_leader 3)
vi=3; [ "$(node_id 3)" = "$now_leader" ] && vi=2
victim=$(node_id "$vi")
kill_node "$vi"
ctl --admin-token-file "$ADMIN" remove "$victim" | grep -q "removed $victim" || fail "ctl remove failed"
gone() { [ "$(ctl members --json | jq length)" = 2 ]; }
wait_until 10 "the removed member gone from the configuration" gone

rc=0; "$RAFTWC" ctl --node 127.0.0.1:3999 status >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "an unreachable node exits $rc, not 3"
rc=0; ctl frobnicate >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "an unknown command exits $rc, not 2"
echo "PASS it_ctl"
