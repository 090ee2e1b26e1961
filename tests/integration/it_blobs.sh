#!/usr/bin/env bash
# Stored files become content-addressed blobs (DIR/blobs/<sha256>) on every node: byte-identical to the
# upload, one blob for a file uploaded twice, counted from again exactly, no *.tmp left behind, and a blob
# lost while its node was down is written again from the log when it restarts.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3

make_text "$T/a.txt" 3000000
make_text "$T/b.txt" 1234567
sha_a=$(sha256sum "$T/a.txt" | cut -d' ' -f1)
sha_b=$(sha256sum "$T/b.txt" | cut -d' ' -f1)
blob_ok() { [ -f "$T/n$1/blobs/$2" ] && cmp -s "$T/n$1/blobs/$2" "$3"; }
blob_count() { find "$T/n$1/blobs" -maxdepth 1 -type f | wc -l; }

log "1. an upload becomes a blob on every node, identical to the file"
body=$(upload 1 "$T/a.txt") || fail "upload: HTTP $(upload_code) $body"
[ "$(echo "$body" | jq -r .sha256)" = "$sha_a" ] || fail "sha256 differs"
for i in 1 2 3; do wait_until 20 "blob of a.txt on node $i" blob_ok "$i" "$sha_a" "$T/a.txt"; done

log "2. the same content uploaded again is stored once; another file is another blob"
body=$(upload 2 "$T/a.txt") || fail "second upload: HTTP $(upload_code) $body"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "second job of a.txt not exact"
body=$(upload 3 "$T/b.txt") || fail "upload b: HTTP $(upload_code) $body"
for i in 1 2 3; do wait_until 20 "blob of b.txt on node $i" blob_ok "$i" "$sha_b" "$T/b.txt"; done
for i in 1 2 3; do
  [ "$(blob_count "$i")" = 2 ] || fail "node $i holds $(blob_count "$i") blob files, expected 2: $(ls "$T/n$i/blobs")"
  grep -q "stored file $sha_a" "$T/n$i.log" || fail "node $i did not log its blob"
done

log "3. once its blob exists, another job of a.txt is still exact"
body=$(upload 3 "$T/a.txt") || fail "third upload: HTTP $(upload_code) $body"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "third job of a.txt not exact"

log "3b. every finished job's table is copied out of the log into DIR/tables; /words pages match the result"
tables() { find "$T/n$1/tables" -maxdepth 1 -type f ! -name '*.tmp' | wc -l; }
for i in 1 2 3; do
  four_tables() { [ "$(tables "$1")" = 4 ]; }
  wait_until 20 "4 table files on node $i" four_tables "$i"
done
job3=$(echo "$body" | jq -r .id)
top=$(api 1 "/api/jobs/$job3" | jq -c '[.top[] | [.word, .count]]')
page=$(api 2 "/api/jobs/$job3/words?limit=20")
[ "$(echo "$page" | jq -c '[.words[] | [.word, .count]]')" = "$top" ] || fail "the stored table's first page differs from the result's top 20"
[ "$(echo "$page" | jq '.complete and .stored == .total')" = true ] || fail "stored table incomplete: $page"

log "4. a blob lost while its node was down is written again from the log at restart"
stop_node 2
rm -f "$T/n2/blobs/$sha_b"
start_node 2
wait_until 30 "cluster of 3 again" cluster_formed 3
wait_until 20 "blob of b.txt rewritten on node 2" blob_ok 2 "$sha_b" "$T/b.txt"
for i in 1 2 3; do
  [ -z "$(find "$T/n$i/blobs" -name '*.tmp')" ] || fail "node $i left a *.tmp blob"
done
log "5. DELETE a job (admin token): its result and file go on every node; the blob goes with the last file"
job1=$(upload 1 "$T/b.txt" | jq -r .id) || fail "upload b again"
code() { curl -s -o "$T/del.out" -w '%{http_code}' -X DELETE "$@"; }
[ "$(code "http://127.0.0.1:3001/api/jobs/$job1")" = 401 ] || fail "DELETE without a token: $(cat "$T/del.out")"
bearer="Authorization: Bearer $(cat "$ADMIN")"
[ "$(code -H "$bearer" "http://127.0.0.1:3002/api/jobs/$job1")" = 200 ] || fail "DELETE job: $(cat "$T/del.out")"
for i in 1 2 3; do
  gone() { ! api "$1" "/api/jobs/$job1" >/dev/null 2>&1; }
  wait_until 10 "job $job1 gone on node $i" gone "$i"
done
# b.txt was uploaded twice (section 2 and here): one file with its content is left, so is its blob
for i in 1 2 3; do blob_ok "$i" "$sha_b" "$T/b.txt" || fail "node $i dropped a blob still in use"; done
for i in 1 2 3; do
  four_tables() { [ "$(tables "$1")" = 4 ]; }  # 5 jobs, one deleted: its table went with it
  wait_until 10 "node $i dropped the deleted job's table" four_tables "$i"
done
[ "$(code -H "$bearer" "http://127.0.0.1:3002/api/jobs/$job1")" = 404 ] || fail "second DELETE: $(cat "$T/del.out")"

log "6. DELETE a file by its SHA-256: every file with that content and its blob go; its jobs' results stay"
[ "$(code -H "$bearer" "http://127.0.0.1:3003/api/files/$sha_b")" = 200 ] || fail "DELETE file: $(cat "$T/del.out")"
for i in 1 2 3; do
  no_blob() { [ ! -e "$T/n$1/blobs/$2" ]; }
  wait_until 10 "blob of b.txt deleted on node $i" no_blob "$i" "$sha_b"
  blob_ok "$i" "$sha_a" "$T/a.txt" || fail "node $i lost the blob of a.txt"
done
[ "$(code -H "$bearer" "http://127.0.0.1:3001/api/files/$sha_b")" = 404 ] || fail "DELETE of a deleted file: $(cat "$T/del.out")"
[ "$(code -H "$bearer" "http://127.0.0.1:3001/api/files/xyz")" = 400 ] || fail "DELETE of a bad name: $(cat "$T/del.out")"
[ "$(api 1 "/api/jobs?limit=1000" | jq '.jobs | length')" = 4 ] || fail "the results of the deleted file's jobs went too"
echo "PASS it_blobs"
