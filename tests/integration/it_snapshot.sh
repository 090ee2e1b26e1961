#!/usr/bin/env bash
# Snapshots, compaction and InstallSnapshot on real nodes (docs/STORAGE.md, "Compaction", "InstallSnapshot"):
#  1. a stream of uploads well past the retention limits: every node compacts its log, and its data
#     directory stays within retention + the snapshot threshold + a segment (an uncompacted one holds every
#     byte ever uploaded, twice: log and blobs);
#  2. a node killed -9 10 ms after being asked to compact (right after an upload: before, during or after the
#     snapshot write) loads a snapshot at restart, old or new, replays only the tail and counts correctly;
#  3. a node added last catches up by snapshot: it fetches the retained files and tables, serves the
#     retained jobs' words, and counts its share of a new upload from its own copy;
#  4. a node killed -9 while it receives a snapshot resumes from scratch after restart and catches up.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
FILE=1500000
ARGS=(--retain-files 3 --retain-bytes 5M --snapshot-bytes 2M --segment-bytes 1M)
for i in 1 2 3; do start_node "$i" "${ARGS[@]}"; done
wait_until 30 "cluster of 3" cluster_formed 3

metric() { api "$1" /metrics | awk -v m="$2" '$1 == m {print $2}'; }
dir_bytes() { du -sb "$T/n$1" | cut -f1; }
listed() { api "$1" "/api/jobs?limit=100" | jq -r '[.jobs[].id] | join(" ")'; }
bound=$(((5 << 20) + (2 << 20) + (1 << 20) + (1 << 20)))  # retention + threshold + a segment + slack

log "1. 10 uploads of ${FILE} bytes (3 files retained, a snapshot every 2M of log)"
ids=()
for k in $(seq 1 10); do
  make_text "$T/f$k.txt" $((FILE + k))
  body=$(upload $(((k % 3) + 1)) "$T/f$k.txt") || fail "upload $k: HTTP $(upload_code) $body"
  [ "$(echo "$body" | jq -r .words)" = "$(ref_words "$T/f$k.txt")" ] || fail "upload $k: wrong count $body"
  ids+=("$(echo "$body" | jq -r .id)")
  for i in 1 2 3; do
    used=$(dir_bytes "$i")
    [ "$used" -le "$bound" ] || fail "node $i uses $used bytes after upload $k (bound $bound): $(ls -la "$T/n$i" "$T/n$i/log")"
  done
done
newest3="${ids[9]} ${ids[8]} ${ids[7]}"
for i in 1 2 3; do
  compacted() { [ "$(metric "$1" raftwc_snapshot_index)" -gt 0 ] && [ "$(listed "$1")" = "$newest3" ]; }
  wait_until 20 "node $i compacted and keeps the 3 newest jobs" compacted "$i"
  [ "$(metric "$i" raftwc_first_index)" -gt 1 ] || fail "node $i: log not compacted"
done
log "data dirs: $(for i in 1 2 3; do printf '%s ' "$(dir_bytes "$i")"; done)(bound $bound)"

log "on demand: POST /api/admin/compact"
auth=(-H "Authorization: Bearer $(cat "$ADMIN")")
code=$(curl -sS -o "$T/c.out" -w '%{http_code}' -X POST "http://127.0.0.1:3001/api/admin/compact")
[ "$code" = 401 ] || fail "compact without the admin token: HTTP $code"
out=$(curl -fsS "${auth[@]}" -X POST "http://127.0.0.1:3001/api/admin/compact") || fail "compact: $out"
at=$(echo "$out" | jq -r .snapshotIndex)
if [ "$at" -le 0 ] || [ "$(echo "$out" | jq -r .firstIndex)" != "$((at + 1))" ]; then fail "compact answered $out"; fi
ctl=$("$RAFTWC" ctl --node 127.0.0.1:3002 --admin-token-file "$ADMIN" compact) || fail "raftwc ctl compact: $ctl"
echo "$ctl" | grep -q "^snapshot at index [1-9]" || fail "raftwc ctl compact printed: $ctl"

log "2. kill -9 node 2 10 ms after asking it to compact (the kill lands before, during or after the snapshot write), restart: it loads one"
make_text "$T/s.txt" 1100001
upload 1 "$T/s.txt" >/dev/null || fail "upload before the kill: HTTP $(upload_code)"
curl -sS -o /dev/null "${auth[@]}" -X POST "http://127.0.0.1:3002/api/admin/compact" 2>/dev/null &
cpid=$!
sleep 0.01
kill_node 2
wait "$cpid" || true
start_node 2 "${ARGS[@]}"
wait_until 30 "node 2 back" cluster_formed 3
grep -q "loaded the snapshot at index" "$T/n2.log" || fail "node 2 did not load its snapshot"
same_jobs() { [ "$(listed 2)" = "$(listed 1)" ]; }
wait_until 20 "node 2 lists the same jobs as node 1" same_jobs
make_text "$T/r.txt" 700001
body=$(upload 2 "$T/r.txt") || fail "upload after restart: $body"
[ "$(echo "$body" | jq -r .words)" = "$(ref_words "$T/r.txt")" ] || fail "wrong count after restart: $body"

log "3. node 4 joins last and catches up by snapshot"
start_node 4 "${ARGS[@]}"
wait_until 40 "node 4 is a member" cluster_formed 4
caught_up() { [ "$(metric 4 raftwc_snapshots_installed_total)" -ge 1 ] && [ "$(field 4 .appliedIndex)" -ge "$(field 1 .commitIndex)" ]; }
wait_until 40 "node 4 installed a snapshot and applied everything" caught_up
grep -q "installed the leader's snapshot" "$T/n4.log" || fail "node 4 did not log the install"
jobs4=$(listed 4)
[ "$jobs4" = "$(listed 1)" ] || fail "node 4 lists [$jobs4], node 1 [$(listed 1)]"
for id in $jobs4; do
  top=$(api 4 "/api/jobs/$id/words?limit=5" | jq -r '.words | length') || fail "node 4: words of $id"
  [ "$top" -gt 0 ] || fail "node 4 serves no words for $id"
done
make_text "$T/j.txt" 8000003
body=$(upload 4 "$T/j.txt") || fail "upload through node 4: $body"
[ "$(echo "$body" | jq -r .words)" = "$(ref_words "$T/j.txt")" ] || fail "node 4: wrong count $body"
counted=$(metric 4 raftwc_shards_counted_total)
[ "${counted%.*}" -ge 1 ] || fail "node 4 counted no shard of its own"

log "4. node 5 killed -9 while it receives a snapshot, then restarted"
start_node 5 "${ARGS[@]}"
receiving() { grep -q "receiving the snapshot" "$T/n5.log"; }
deadline=$((SECONDS + 40))
until receiving; do [ $SECONDS -lt $deadline ] || fail "node 5 never received a snapshot"; sleep 0.01; done
kill_node 5
if grep -q "installed the leader's snapshot" "$T/n5.log"; then log "(the install had finished before the kill)"; fi
[ -z "$(find "$T/n5" -name '*.tmp' 2>/dev/null | head -1)" ] || log "(a half-received item was left: removed at open)"
start_node 5 "${ARGS[@]}"
caught5() { [ "$(listed 5)" = "$(listed 1)" ] && [ "$(field 5 .appliedIndex)" -ge "$(field 1 .commitIndex)" ]; }
wait_until 60 "node 5 caught up after the restart" caught5
[ -z "$(find "$T/n5" -name '*.tmp' | head -1)" ] || fail "node 5 kept a half-received item"
for id in $(listed 5); do
  api 5 "/api/jobs/$id/words?limit=1" >/dev/null || fail "node 5: no words for $id"
done
make_text "$T/k.txt" 1200007
body=$(upload 5 "$T/k.txt") || fail "upload through node 5: $body"
[ "$(echo "$body" | jq -r .words)" = "$(ref_words "$T/k.txt")" ] || fail "node 5: wrong count $body"
echo "PASS it_snapshot"
