#!/usr/bin/env bash
# Defect found by the chaos run (seed 1501, job chaos-1501-2-69): a file whose words are longer than about
# 4 MiB is never counted. The cluster counts it, but the result entry carries the top words in full
# ("top" in the result JSON is not bounded; only the stored table is, by kMaxStoredTableBytes), so the
# entry exceeds kMaxEntryBytes (4 MiB) and the upload is answered 503 commit_failed "entry of N bytes
# exceeds the 4194304-byte limit" — with Retry-After, although every retry fails the same way.
# Expected: 200 with words = 1 (docs/WORDS.md: any word length is counted). A single node suffices.
# Runs like the integration scenarios: tests/tools/in-netns.sh bash tests/chaos/repro_long_word.sh
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
EXPECT=1
start_node 1
wait_until 30 "one-node cluster" cluster_formed 1
python3 -c 'import sys; sys.stdout.buffer.write(b"ab" * (5 << 19))' >"$T/one-word.txt"   # one 5 MiB word
body=$(upload 1 "$T/one-word.txt") || fail "a file of one 5 MiB word: HTTP $(upload_code) $body"
[ "$(echo "$body" | jq .words)" = 1 ] || fail "expected 1 word: $body"
echo "PASS repro_long_word"
