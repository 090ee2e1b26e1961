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

log "3. counted from the blobs: a third job of a.txt is exact"
body=$(upload 3 "$T/a.txt") || fail "third upload: HTTP $(upload_code) $body"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/a.txt")" ] || fail "third job of a.txt not exact"

log "4. a blob lost while its node was down is written again from the log at restart"
stop_node 2
rm -f "$T/n2/blobs/$sha_b"
start_node 2
wait_until 30 "cluster of 3 again" cluster_formed 3
wait_until 20 "blob of b.txt rewritten on node 2" blob_ok 2 "$sha_b" "$T/b.txt"
for i in 1 2 3; do
  [ -z "$(find "$T/n$i/blobs" -name '*.tmp')" ] || fail "node $i left a *.tmp blob"
done
echo "PASS it_blobs"
