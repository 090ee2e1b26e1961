#!/usr/bin/env bash
# bin/demo says clearly when its port is taken, before it starts anything (runs in a private namespace).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
python3 -m http.server --bind 127.0.0.1 3000 >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -n "$(ss -Hltn 'sport = :3000')" ] && break
  sleep 0.05
done
[ -n "$(ss -Hltn 'sport = :3000')" ] || { echo "FAIL: the stand-in server did not listen"; exit 1; }
rc=0
RAFTWC_DEMO_NAME=rwcport "$here/bin/demo" --no-build >/tmp/demo_port.out 2>&1 || rc=$?
cat /tmp/demo_port.out
[ "$rc" = 1 ] || { echo "FAIL: demo exited $rc with port 3000 taken"; exit 1; }
grep -q "port 3000 on this machine is already in use (by python3" /tmp/demo_port.out ||
  { echo "FAIL: the message does not name the port and its user"; exit 1; }
grep -q "bin/demo --port 3001" /tmp/demo_port.out || { echo "FAIL: no way out suggested"; exit 1; }
! ip netns list | grep -q rwcport || { echo "FAIL: namespaces were created"; exit 1; }
echo "PASS demo_port_taken"
