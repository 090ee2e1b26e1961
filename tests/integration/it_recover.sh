#!/usr/bin/env bash
# The documented recovery from a PERMANENT loss of quorum (docs/OPERATIONS.md): two of three nodes are lost
# with their disks; the survivor cannot commit; its data directory is backed up and restored; `raftwc recover` refuses while it runs, plans without
# changing anything, then rewrites its stopped data directory; restarted, it leads alone with every earlier
# result, counts again, and two fresh nodes join it to make three voters again.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
make_text "$T/a.txt" 300000
body=$(upload 1 "$T/a.txt") || fail "upload: HTTP $(upload_code)"
job=$(echo "$body" | jq -r .id)
id2=$(node_id 2)
id3=$(node_id 3)

log "losing nodes 2 and 3 for good (killed, disks wiped)"
kill_node 2
kill_node 3
rm -rf "$T/n2" "$T/n3"
not_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:3001/readyz)" = 503 ]; }
wait_until 15 "node 1 reports not ready (no quorum)" not_ready

# While the node runs, its data directory is locked: recover refuses and changes nothing.
rc=0
"$RAFTWC" recover --data-dir "$T/n1" --yes >"$T/rec0.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "recover on a running node exited $rc: $(cat "$T/rec0.out")"
grep -q "stop it first" "$T/rec0.out" || fail "recover on a running node did not say why: $(cat "$T/rec0.out")"

stop_node 1
# Backup and restore of a stopped node's data directory, as docs/OPERATIONS.md describes: tar, wipe, untar.
tar -C "$T" -czf "$T/n1-backup.tgz" n1
rm -rf "$T/n1"
tar -C "$T" -xzf "$T/n1-backup.tgz"
# The plan alone changes nothing (a second plan shows the same commit index).
"$RAFTWC" recover --data-dir "$T/n1" >"$T/plan1.out" 2>&1 || fail "plan failed: $(cat "$T/plan1.out")"
grep -q "nothing changed" "$T/plan1.out" || fail "plan did not say it changed nothing"
"$RAFTWC" recover --data-dir "$T/n1" --dry-run --yes >"$T/plan2.out" 2>&1 || fail "dry run failed"
[ "$(grep '^commit' "$T/plan1.out")" = "$(grep '^commit' "$T/plan2.out")" ] || fail "the plan changed the data"
grep -q "remove *$id2" "$T/plan1.out" || fail "plan does not remove node 2: $(cat "$T/plan1.out")"
grep -q "remove *$id3" "$T/plan1.out" || fail "plan does not remove node 3"
"$RAFTWC" recover --data-dir "$T/n1" --yes >"$T/rec.out" 2>&1 || fail "recover failed: $(cat "$T/rec.out")"
cat "$T/rec.out"

start_node 1
wait_until 20 "node 1 leads alone" cluster_formed 1
[ "$(field 1 '.members | length')" = 1 ] || fail "old members still listed: $(field 1 '.members')"
[ "$(job_field 1 "$job" .words)" = "$(ref_words "$T/a.txt")" ] || fail "the earlier result was lost"
body=$(upload 1 "$T/a.txt") || fail "upload after recovery: HTTP $(upload_code)"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "wrong count after recovery"

log "two fresh nodes join the recovered cluster"
EXPECT=1 start_node 4
wait_until 30 "node 4 joined (2 voters)" cluster_formed 2
EXPECT=1 start_node 5
wait_until 30 "node 5 joined (3 voters)" cluster_formed 3
[ "$(field 5 .clusterId)" = "$(field 1 .clusterId)" ] || fail "node 5 joined another cluster"
body=$(upload 5 "$T/a.txt") || fail "upload via node 5: HTTP $(upload_code)"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "node 5 coordinated a wrong count"
[ "$(job_field 4 "$job" .words)" = "$(ref_words "$T/a.txt")" ] || fail "node 4 lacks the pre-loss result"
# Quorum is real again: with node 1 gone, nodes 4 and 5 elect a leader and count.
kill_node 1
wait_until 20 "nodes 4 and 5 agree on a leader" agreed_leader_of_survivors
body=$(upload 4 "$T/a.txt") || fail "upload without node 1: HTTP $(upload_code)"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "wrong count without node 1"
echo "PASS it_recover"
