#!/usr/bin/env bash
# The word-count job end to end on a 3-node cluster: exact and identical through every node, bad input
# answered clearly, concurrent uploads all right, a node stalled mid-job has its shards reassigned, and the
# leader killed mid-upload gives 503 or an exact answer, never a wrong count.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
for i in 1 2 3; do start_node "$i" --max-upload 64M; done
wait_until 30 "cluster of 3" cluster_formed 3

log "1. the same file through every node: identical, exact answers"
make_text "$T/big.txt" 6000000
expected=$(ref_words "$T/big.txt"); lines=$(wc -l <"$T/big.txt")
first=""
for i in 1 2 3; do
  body=$(upload "$i" "$T/big.txt") || fail "upload via $i: HTTP $(upload_code) $body"
  [ "$(echo "$body" | jq .words)" = "$expected" ] || fail "node $i: $(echo "$body" | jq .words) words, expected $expected"
  [ "$(echo "$body" | jq .lines)" = "$lines" ] || fail "node $i: lines differ"
  [ "$(echo "$body" | jq -r .sha256)" = "$(sha256sum "$T/big.txt" | cut -d' ' -f1)" ] || fail "sha256 differs"
  sig=$(echo "$body" | jq -c '[.words, .lines, .bytes, .uniqueWords, .top]')
  if [ -z "$first" ]; then first=$sig; else [ "$sig" = "$first" ] || fail "node $i answered differently"; fi
  [ "$(echo "$body" | jq '[.shards[].node] | unique | length')" = 3 ] || fail "not every member counted a shard"
done
job=$(echo "$body" | jq -r .id)
[ "$(api 2 "/api/jobs/$job/words?limit=5&offset=0" | jq '.words | length')" = 5 ] || fail "words paging"
[ "$(api 3 "/api/jobs/$job/words?limit=10000&offset=0" | jq '[.words[].count] | add')" -gt 0 ] || fail "full table"

log "2. bad input: empty, binary, multipart, oversized, malformed"
: >"$T/empty.txt"
body=$(upload 1 "$T/empty.txt") || fail "empty upload: HTTP $(upload_code)"
[ "$(echo "$body" | jq -c '[.words, .lines, .bytes]')" = "[0,0,0]" ] || fail "empty file not zeros: $body"
head -c 3000000 /dev/urandom >"$T/bin.dat"
body=$(upload 2 "$T/bin.dat") || fail "binary upload: HTTP $(upload_code)"
[ "$(echo "$body" | jq .words)" = "$(ref_words_exact "$T/bin.dat")" ] || fail "binary count differs from the reference rule"
mp=$(curl -sS -H 'Expect:' -F "file=@$T/big.txt" http://127.0.0.1:3003/api/count | jq .words)
[ "$mp" = "$expected" ] || fail "multipart upload counted $mp"
head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/huge.txt"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary @"$T/huge.txt" http://127.0.0.1:3001/api/count || true)
[ "$code" = 413 ] || fail "oversized upload answered $code, expected 413"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' -H 'Content-Type: multipart/form-data; boundary=XYZ' \
       --data-binary 'not a multipart body' http://127.0.0.1:3001/api/count || true)
[ "$code" = 400 ] || fail "malformed multipart answered $code, expected 400"

log "3. 12 concurrent uploads of different files through all nodes"
pids=()
for k in $(seq 1 12); do
  make_text "$T/c$k.txt" $((20000 + k * 7919))
  (curl -sS -H 'Expect:' -H "X-Filename: c$k.txt" --data-binary @"$T/c$k.txt" \
        "http://127.0.0.1:$((3001 + k % 3))/api/count" >"$T/c$k.out") &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for k in $(seq 1 12); do
  [ "$(jq .words "$T/c$k.out")" = "$(ref_words "$T/c$k.txt")" ] || fail "concurrent upload $k wrong: $(head -c 300 "$T/c$k.out")"
done

log "4. a member stalls (SIGSTOP) while a job is being stored: its shards are reassigned, the answer is exact"
leader=$(agreed_leader 3); li=$(index_of_id "$leader")
co=$(( li % 3 + 1 )); victim=$(( co % 3 + 1 ))          # coordinator and victim: two distinct followers
make_text "$T/mid.txt" 40000000
jid="stall-$RANDOM-$RANDOM"
(curl -sS -H 'Expect:' -H "X-Job-Id: $jid" -H 'X-Filename: mid.txt' --data-binary @"$T/mid.txt" \
      "http://127.0.0.1:$((3000 + co))/api/count" >"$T/mid.out") &
up=$!
storing() { [ "$(job_field "$co" "$jid" .state)" = storing ]; }
wait_until 30 "job $jid storing" storing
kill -STOP "${PID[$victim]}"
wait "$up" || true
kill -9 "${PID[$victim]}"; unset "PID[$victim]"
[ "$(jq .words "$T/mid.out")" = "$(ref_words "$T/mid.txt")" ] || fail "stalled member: wrong or no answer: $(head -c 300 "$T/mid.out")"
log "   answer exact; shards counted by: $(jq -c '[.shards[].node] | unique' "$T/mid.out")"
start_node "$victim" --max-upload 64M
wait_until 30 "victim back" cluster_formed 3

log "5. the leader is killed mid-upload: 503 or an exact answer"
leader=$(agreed_leader 3); li=$(index_of_id "$leader"); co=$(( li % 3 + 1 ))
jid="kill-$RANDOM-$RANDOM"
(curl -sS -H 'Expect:' -H "X-Job-Id: $jid" -H 'X-Filename: mid.txt' --data-binary @"$T/mid.txt" \
      -o "$T/kill.out" -w '%{http_code}' "http://127.0.0.1:$((3000 + co))/api/count" >"$T/kill.code") &
up=$!
storing5() { [ "$(job_field "$co" "$jid" .storedBytes)" -gt 0 ] 2>/dev/null; }
wait_until 30 "job $jid storing" storing5
kill_node "$li"
wait "$up" || true
code=$(cat "$T/kill.code")
case "$code" in
  200) [ "$(jq .words "$T/kill.out")" = "$(ref_words "$T/mid.txt")" ] || fail "leader killed: WRONG count $(head -c 300 "$T/kill.out")"
       log "   leader killed mid-upload: exact answer after failover" ;;
  503) log "   leader killed mid-upload: 503 ($(jq -r .message "$T/kill.out"))" ;;
  *) fail "leader killed mid-upload: HTTP $code $(head -c 300 "$T/kill.out")" ;;
esac
# and the cluster serves the next upload
wait_until 20 "new leader" agreed_leader_of_survivors
body=$(upload "$co" "$T/c1.txt") || fail "upload after leader kill: HTTP $(upload_code)"

log "6. the job history pages (newest first, limit, next, after) and every page joins up"
all=$(api "$co" "/api/jobs?limit=1000" | jq -r '.jobs[].id')
[ "$(echo "$all" | wc -l)" -ge 5 ] || fail "expected at least 5 finished jobs, got: $all"
paged="" after=""
while :; do
  page=$(api "$co" "/api/jobs?limit=2${after:+&after=$after}") || fail "paging after '$after'"
  [ "$(echo "$page" | jq '.jobs | length')" -le 2 ] || fail "a page holds more than its limit"
  paged+=$(echo "$page" | jq -r '.jobs[].id')$'\n'
  after=$(echo "$page" | jq -r '.next // empty')
  [ -n "$after" ] || break
done
[ "$(echo "$paged" | sed '/^$/d')" = "$all" ] || fail "pages of 2 differ from the whole list"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$((3000 + co))/api/jobs?after=no-such-job")
[ "$code" = 404 ] || fail "an unknown cursor answered $code"
echo "PASS it_wordcount"
