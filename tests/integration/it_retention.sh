#!/usr/bin/env bash
# Retention through the log: with --retain-files 2 --retain-bytes 3M the leader deletes the oldest finished
# jobs and their files on every node; every node lists the same newest jobs, and no node keeps more blobs
# (nor more blob bytes) than the limits allow.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i" --retain-files 2 --retain-bytes 3M; done
wait_until 30 "cluster of 3" cluster_formed 3

ids=()
for k in 1 2 3 4; do
  make_text "$T/f$k.txt" $((900000 + k * 1000))
  body=$(upload $(((k % 3) + 1)) "$T/f$k.txt") || fail "upload $k: HTTP $(upload_code) $body"
  ids+=("$(echo "$body" | jq -r .id)")
done
listed() { api "$1" "/api/jobs?limit=100" | jq -r '[.jobs[].id] | join(" ")'; }
blobs() { find "$T/n$1/blobs" -maxdepth 1 -type f ! -name '*.tmp' | wc -l; }
blob_bytes() { find "$T/n$1/blobs" -maxdepth 1 -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
newest2="${ids[3]} ${ids[2]}"
for i in 1 2 3; do
  kept() { [ "$(listed "$1")" = "$newest2" ] && [ "$(blobs "$1")" -le 2 ]; }
  wait_until 15 "node $i keeps only the 2 newest jobs and their blobs" kept "$i"
  for old in "${ids[0]}" "${ids[1]}"; do
    ! api "$i" "/api/jobs/$old" >/dev/null 2>&1 || fail "node $i still serves retired job $old"
  done
done
grep -q "retention: deleting job ${ids[0]}" "$T"/n*.log || fail "no node logged the retention of ${ids[0]}"

log "a file bigger than the byte limit's room pushes the older jobs out; the newest always stays"
make_text "$T/big.txt" 2600000
big=$(upload 1 "$T/big.txt" | jq -r .id) || fail "upload big"
for i in 1 2 3; do
  only_big() { [ "$(listed "$1")" = "$big" ] && [ "$(blobs "$1")" = 1 ] && [ "$(blob_bytes "$1")" -le $((3 << 20)) ]; }
  wait_until 15 "node $i keeps only the newest job" only_big "$i"
done
echo "PASS it_retention"
