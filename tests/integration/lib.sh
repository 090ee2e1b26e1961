#!/usr/bin/env bash
# Helpers for integration scenarios: real raftwc processes on loopback inside the private network
# namespace the test runs in (tests/tools/in-netns.sh; CTest starts every scenario that way).
# Node i: HTTP 127.0.0.1:(3000+i), RPC 127.0.0.1:(7000+i), multicast 239.0.0.1:10000 on lo.
set -euo pipefail

RAFTWC=${RAFTWC:?set RAFTWC to the raftwc binary}
T=$(mktemp -d /tmp/raftwc-it.XXXXXX)
declare -A PID=()
KEY="$T/cluster.key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$KEY"
ADMIN="$T/admin.token"  # the administration routes' bearer token (never the cluster key)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$ADMIN"
ELECTION=${ELECTION:-300-600}
HEARTBEAT=${HEARTBEAT:-50}
EXPECT=${EXPECT:-1}

# shellcheck source=tests/integration/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

cleanup() {
  for i in "${!PID[@]}"; do kill -9 "${PID[$i]}" 2>/dev/null || true; done
  { wait; } 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT

# start_node I [extra raftwc args...]
start_node() {
  local i=$1; shift
  mkdir -p "$T/n$i"
  "$RAFTWC" --data-dir "$T/n$i" --interface lo --advertise 127.0.0.1 \
    --http "127.0.0.1:$((3000 + i))" --rpc "127.0.0.1:$((7000 + i))" --cluster-key-file "$KEY" \
    --admin-token-file "$ADMIN" \
    --election-timeout "$ELECTION" --heartbeat "$HEARTBEAT" --discovery 1500 --bootstrap-expect "$EXPECT" \
    "$@" >>"$T/n$i.log" 2>&1 &
  PID[$i]=$!
}
kill_node() { kill -9 "${PID[$1]}" 2>/dev/null || true; { wait "${PID[$1]}"; } 2>/dev/null || true; unset "PID[$1]"; }
stop_node() {  # graceful: SIGTERM, must exit 0
  kill -TERM "${PID[$1]}"
  local rc=0
  wait "${PID[$1]}" || rc=$?
  unset "PID[$1]"
  [ "$rc" = 0 ] || fail "node $1 exited $rc after SIGTERM"
}

api() { curl -fsS --max-time 5 "http://127.0.0.1:$((3000 + $1))$2"; }
cluster() { api "$1" /api/cluster 2>/dev/null || echo '{}'; }
field() { cluster "$1" | jq -r "$2"; }

# The leader as seen by node I ("" if none).
leader_of() { field "$1" '.leader.id // empty'; }
node_id() { field "$1" '.id'; }
index_of_id() {  # node index whose id is $1 among the running nodes
  for i in "${!PID[@]}"; do [ "$(node_id "$i")" = "$1" ] && { echo "$i"; return; }; done
}

# All running nodes agree on one leader, and it has N live members: prints the leader id.
agreed_leader() {
  local n=$1 l="" li
  for i in "${!PID[@]}"; do
    li=$(leader_of "$i")
    [ -n "$li" ] || return 1
    if [ -z "$l" ]; then l=$li; elif [ "$l" != "$li" ]; then return 1; fi
  done
  local lidx; lidx=$(index_of_id "$l")
  [ -n "$lidx" ] || return 1
  [ "$(field "$lidx" '[.members[] | select(.alive and .voter)] | length')" = "$n" ] || return 1
  echo "$l"
}
cluster_formed() { agreed_leader "$1" >/dev/null; }

# upload I FILE [query] → prints the HTTP body, returns non-zero unless 200
upload() {
  local i=$1 file=$2 q=${3:-}
  curl -sS --max-time 60 -H 'Expect:' -H "X-Filename: $(basename "$file")" --data-binary @"$file" \
    -o "$T/upload.out" -w '%{http_code}' "http://127.0.0.1:$((3000 + i))/api/count$q" >"$T/upload.code" || true
  cat "$T/upload.out"
  [ "$(cat "$T/upload.code")" = 200 ]
}
upload_code() { cat "$T/upload.code"; }

# Reference word count (wc -w in a UTF-8 locale; tests use text where wc and our rule agree).
ref_words() { LC_ALL=C.UTF-8 wc -w <"$1" | tr -d ' '; }

# make_text FILE BYTES — English-like text with some UTF-8, deterministic for a given size. Files over 4 MB
# repeat a 4 MB block of distinct text (fast to generate; the cluster does not care).
make_text() {
  python3 - "$1" "$2" <<'PY'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
rng = random.Random(size)
words = "the of and to in a is that for it as was with be by on not he i this are or his from at which but have an they you were her she there had been one all we their has would when if so no more out up said what its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people mr how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three café naïve über straße".split()
words = words * 25 + ["w%d" % i for i in range(5000)]  # mostly common words, a long tail
seps = [" ", " ", " ", "\n", "  ", "\t", ", ", ". "]
block = min(size, 4 << 20)
n = block // 6 + 16
text = "".join(w + s for w, s in zip(rng.choices(words, k=n), rng.choices(seps, k=n))).encode()
while len(text) < block:
    text += text
text = text[:block]
def trim(b):  # do not end inside a multi-byte character
    while b and (b[-1] & 0xC0) == 0x80: b = b[:-1]
    if b and b[-1] >= 0xC0: b = b[:-1]
    return b
with open(path, "wb") as f:
    left = size
    while left > 0:
        part = text[:left] if left < len(text) else text
        part = trim(part) if left <= len(text) else part
        f.write(part)
        if left <= len(text): break
        left -= len(part)
PY
}

# Every running node agrees on a leader that is itself running.
agreed_leader_of_survivors() {
  local l="" li
  for i in "${!PID[@]}"; do
    li=$(leader_of "$i"); [ -n "$li" ] || return 1
    if [ -z "$l" ]; then l=$li; elif [ "$l" != "$li" ]; then return 1; fi
  done
  [ -n "$(index_of_id "$l")" ]
}

# Exact reference for the word rule of docs/WORDS.md on any bytes (a separate, regex-based implementation).
ref_words_exact() {
  python3 - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
sep = rb'(?:[\x09-\x0d\x20]|\xc2\xa0|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81[\x9f\xa0]|\xe3\x80\x80)+'
print(sum(1 for w in re.split(sep, data) if w))
PY
}
# job_field I JOBID JQ — a field of a job (running or done) on node I
job_field() { api "$1" "/api/jobs/$2" 2>/dev/null | jq -r "$3"; }
