#!/usr/bin/env bash
# A full disk loses nothing. Node 3's data dir is a 48 MiB tmpfs (mounted in this test's own mount
# namespace). An upload through node 3 that would not fit is refused up front (507). A larger file uploaded
# through node 1 fills node 3's disk while it is replicated: node 3 stops with a clear error (exit 3), the
# two others still commit and answer exactly. With more space node 3 restarts from its intact log and
# catches up with everything.
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a tmpfs"; exit 77; }
if [ -z "${RAFTWC_IN_MOUNTNS:-}" ]; then
  RAFTWC_IN_MOUNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
EXPECT=3
mkdir -p "$T/n3"
mount -t tmpfs -o size=48m raftwc-small "$T/n3"
trap 'cleanup_mount' EXIT
cleanup_mount() { for i in "${!PID[@]}"; do kill -9 "${PID[$i]}" 2>/dev/null || true; done; { wait; } 2>/dev/null || true; umount -l "$T/n3"; cleanup; }
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3

make_text "$T/big.txt" 60000000
code=$(curl -sS -o "$T/507.out" -w '%{http_code}' -H 'Expect:' --data-binary @"$T/big.txt" http://127.0.0.1:3003/api/count || true)
[ "$code" = 507 ] || fail "upload larger than node 3's free space answered $code, expected 507: $(cat "$T/507.out")"
log "node 3 refused a file that does not fit: $(jq -r .message "$T/507.out")"

leader=$(agreed_leader 3); [ "$(index_of_id "$leader")" != 3 ] || {
  # keep node 3 a follower: hand leadership away
  curl -sS -X POST -H "Authorization: Bearer $(cat "$ADMIN")" http://127.0.0.1:3003/api/leader/transfer >/dev/null
  notthree() { l=$(agreed_leader 3) && [ "$(index_of_id "$l")" != 3 ]; }
  wait_until 10 "leadership away from node 3" notthree
}
body=$(upload 1 "$T/big.txt") || fail "upload while node 3's disk fills: HTTP $(upload_code) $body"
[ "$(echo "$body" | jq .words)" = "$(ref_words "$T/big.txt")" ] || fail "wrong count with a full follower"
rc=0; wait "${PID[3]}" || rc=$?
unset "PID[3]"
[ "$rc" = 3 ] || fail "node 3 exited $rc, expected 3 (storage failure)"
grep -q "cannot persist the log" "$T/n3.log" || fail "node 3 did not say why it stopped"
log "node 3 stopped with: $(grep -m1 'FATAL' "$T/n3.log")"
job=$(echo "$body" | jq -r .id)

mount -o remount,size=256m "$T/n3"
start_node 3
wait_until 30 "node 3 back, caught up, serving the job" api 3 "/api/jobs/$job"
wait_until 20 "3 live voters" cluster_formed 3
echo "PASS it_disk_full"
