#!/usr/bin/env bash
# bin/dockerrun.sh N [IMAGE] — runs an N-node raftwc cluster in docker containers on one user-defined
# bridge network (each container's eth0 on the bridge, multicast 239.0.0.1:10000 on it, TTL 1).
# Node 1's HTTP port 3000 is published on 127.0.0.1:3000 only. Ctrl-C removes the containers and network.
# The same topology without docker, tested in CI: bin/netns-cluster and bin/demo.
set -euo pipefail

n=${1:-3}
image=${2:-raftwc}
net=raftwc-net
if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 50 ]; then
  echo "usage: $0 N [IMAGE]   (1 <= N <= 50)" >&2
  exit 2
fi
command -v docker >/dev/null || { echo "dockerrun.sh: docker is not installed" >&2; exit 1; }

here=$(cd "$(dirname "$0")/.." && pwd)
if ! docker image inspect "$image" >/dev/null 2>&1; then
  docker build -f "$here/packaging/Dockerfile" -t "$image" "$here"
fi

keyfile=$(mktemp)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$keyfile"

cleanup() {
  for i in $(seq 1 "$n"); do docker rm -f "raftwc-$i" >/dev/null 2>&1 || true; done
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -f "$keyfile"
}
trap cleanup EXIT INT TERM

docker network create --driver bridge --internal "$net" >/dev/null 2>&1 || true
for i in $(seq 1 "$n"); do
  publish=()
  [ "$i" -eq 1 ] && publish=(-p 127.0.0.1:3000:3000)
  docker run -d --name "raftwc-$i" --hostname "raftwc-$i" --network "$net" "${publish[@]}" \
    -e RAFTWC_CLUSTER_KEY="$(cat "$keyfile")" -e RAFTWC_BOOTSTRAP_EXPECT="$n" \
    "$image" --interface eth0 >/dev/null
  echo "started raftwc-$i"
done
echo "cluster of $n up; node 1 at http://127.0.0.1:3000/ — Ctrl-C to stop"
docker logs -f raftwc-1 &
wait
