#!/usr/bin/env bash
# Part of it_containers.sh, run inside the private network namespace it creates (unshare -n): the cluster
# of 3 containers, two counts through 127.0.0.1:3000 with the leader's container stopped between them, down.
set -euo pipefail
here=${1:?}
state=/run/raftwc-rwcit
T=$(mktemp -d)
fail() {
  echo "FAIL: $*" >&2
  for c in rwcit-1 rwcit-2 rwcit-3; do podman logs --tail 20 "$c" 2>&1 | sed "s/^/[$c] /" || true; done
  "$here/bin/dockerrun.sh" down >/dev/null 2>&1 || true
  rm -rf "$T"
  exit 1
}
ip link set lo up
"$here/bin/dockerrun.sh" up 3 --no-build || fail "dockerrun up"

python3 - "$T/a.txt" <<'PY'
import random, sys
r = random.Random(5)
w = "alpha beta gamma delta epsilon zeta eta theta café naïve".split()
open(sys.argv[1], "w").write("".join(r.choice(w) + r.choice([" ", "\n", "  "]) for _ in range(200000)))
PY
ref=$(LC_ALL=C.UTF-8 wc -w <"$T/a.txt" | tr -d ' ')
count() {
  curl -sS --max-time 60 -H 'X-Filename: a.txt' --data-binary @"$T/a.txt" http://127.0.0.1:3000/api/count |
    jq -r .words
}
ip_of() { podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
leader_ip() { curl -fsS --max-time 2 http://127.0.0.1:3000/api/cluster | jq -r '.leader.http // empty' | cut -d: -f1; }

got=$(count)
[ "$got" = "$ref" ] || fail "count through 127.0.0.1:3000: $got, wc says $ref"
echo "count 1: $got words (wc: $ref)"
# The image's HEALTHCHECK (curl /livez inside the container) passes. Podman runs it on demand here; without
# systemd on the host it cannot schedule it (it logs that), docker runs it itself.
podman healthcheck run rwcit-1 >/dev/null 2>&1 || fail "the image's health check fails"

# The leader's container is stopped; node 1 (published on :3000) hands leadership over first if it leads.
ip1=$(ip_of rwcit-1)
if [ "$(leader_ip)" = "$ip1" ]; then
  curl -fsS --max-time 5 -X POST -H "Authorization: Bearer $(cat "$state/admin.token")" \
    http://127.0.0.1:3000/api/leader/transfer >/dev/null || fail "leadership transfer"
  for _ in $(seq 1 50); do
    l=$(leader_ip || true)
    [ -n "$l" ] && [ "$l" != "$ip1" ] && break
    sleep 0.2
  done
fi
lip=$(leader_ip)
{ [ -n "$lip" ] && [ "$lip" != "$ip1" ]; } || fail "no leader off node 1"
victim=""
for c in rwcit-2 rwcit-3; do [ "$(ip_of "$c")" = "$lip" ] && victim=$c; done
[ -n "$victim" ] || fail "the leader $lip is none of the containers"
echo "stopping the leader's container $victim ($lip)"
podman stop -t 30 "$victim" >/dev/null
for _ in $(seq 1 100); do
  l=$(leader_ip || true)
  [ -n "$l" ] && [ "$l" != "$lip" ] && break
  sleep 0.2
done
got=""
for _ in $(seq 1 20); do  # the first answers may be 503 while the new leader settles
  got=$(count || true)
  [ "$got" = "$ref" ] && break
  sleep 0.5
done
[ "$got" = "$ref" ] || fail "count after the leader stopped: $got, wc says $ref"
echo "count 2 (leader stopped): $got words"

"$here/bin/dockerrun.sh" down || fail "dockerrun down"
[ -z "$(podman ps -a -q --filter label=org.raftwc.project=rwcit)" ] || fail "containers left"
[ -z "$(podman volume ls -q --filter label=org.raftwc.project=rwcit)" ] || fail "volumes left"
! podman network exists rwcit-net || fail "network left"
[ ! -e "$state" ] || fail "keys left"
rm -rf "$T"
