#!/usr/bin/env bash
# A rogue process without the cluster key floods the group with garbage, forged and unauthenticated
# heartbeats (huge terms), sends forged/garbage frames to every RPC port and junk to HTTP: nothing
# changes — same leader, same term, every node alive — and the drops are counted in /metrics.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
leader=$(agreed_leader 3)
li=$(index_of_id "$leader")
term=$(field "$li" .term)
python3 "$(dirname "$0")/rogue.py" 11 7001,7002,7003 3001,3002,3003
# the cluster keeps working during and after
make_text "$T/a.txt" 30000
body=$(upload 2 "$T/a.txt") || fail "upload after rogue traffic: HTTP $(upload_code)"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "wrong count"
for i in 1 2 3; do
  [ "$(leader_of "$i")" = "$leader" ] || fail "node $i follows $(leader_of "$i") instead of $leader"
  [ "$(field "$i" .term)" = "$term" ] || fail "term moved on node $i"
  kill -0 "${PID[$i]}" || fail "node $i died"
done
for i in 1 2 3; do
  m=$(api "$i" /metrics)
  dg=$(echo "$m" | awk '/^raftwc_rejected_datagrams_total/ {s += $2} END {print s+0}')
  fr=$(echo "$m" | awk '/^raftwc_rejected_frames_total/ {s += $2} END {print s+0}')
  log "node $i rejected $dg datagrams, $fr frames"
  [ "$dg" -gt 100 ] || fail "node $i counted only $dg rejected datagrams"
  bad=$(echo "$m" | awk -F'[ {}]' '/^raftwc_rejected_datagrams_total\{reason="bad_mac"/ {print $NF}')
  [ "${bad:-0}" -gt 0 ] || fail "node $i counted no bad_mac datagrams"
done
fr1=$(api 1 /metrics | awk '/^raftwc_rejected_frames_total/ {s += $2} END {print s+0}')
[ "$fr1" -gt 0 ] || fail "node 1 counted no rejected TCP frames"
echo "PASS it_rogue"
