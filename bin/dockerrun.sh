#!/usr/bin/env bash
# bin/dockerrun.sh — an N-node raftwc cluster in containers, with docker or podman.
#
#   bin/dockerrun.sh [up] N [--prebuilt BIN] [--no-build]   build the image if the sources (or BIN) changed,
#                                                          start N containers, wait for a leader, print them
#   bin/dockerrun.sh down                                  stop them gracefully (followers first, the leader
#                                                          last: SIGTERM hands leadership over), remove the
#                                                          containers, their volumes, the network and the keys
#   bin/dockerrun.sh build [--prebuilt BIN]                only (re)build the image
#   bin/dockerrun.sh make-base                             make the Debian base image from Debian's packages
#                                                          (mmdebstrap) where no registry is reachable
#   bin/dockerrun.sh status                                the containers, their addresses, the leader
#
# Every node is on one user-defined bridge network (multicast 239.0.0.1:10000 on each container's eth0).
# Node i's port 3000 is published on 127.0.0.1:(3000+i-1): node 1 at http://127.0.0.1:3000/. The cluster
# key and the admin token are files mounted read-only into the containers (never environment variables).
# Environment: RAFTWC_ENGINE (docker|podman; default: docker if its daemon answers, else podman),
# RAFTWC_IMAGE (default raftwc:local), RAFTWC_PROJECT (name prefix, default raftwc), RAFTWC_BASE (base
# image, default debian:12.11-slim), RAFTWC_STATE (key directory, default /run/raftwc-<project> as root).
# docs/DEPLOY.md. The same topology without containers: bin/demo.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
project=${RAFTWC_PROJECT:-raftwc}
image=${RAFTWC_IMAGE:-raftwc:local}
base=${RAFTWC_BASE:-debian:12.11-slim}
net="$project-net"
label="org.raftwc.project=$project"
if [ "$(id -u)" = 0 ]; then state=${RAFTWC_STATE:-/run/raftwc-$project}; else state=${RAFTWC_STATE:-${XDG_RUNTIME_DIR:-/tmp}/raftwc-$project}; fi

die() { echo "dockerrun: $*" >&2; exit 1; }
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# --- the engine -------------------------------------------------------------------------------------------
engine=${RAFTWC_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1 && ! docker --version 2>/dev/null | grep -qi podman; then
    engine=docker
  elif command -v podman >/dev/null; then
    engine=podman
  else
    die "neither docker (with a running daemon) nor podman is installed (bin/setup installs podman)"
  fi
fi
if [ "$engine" = podman ] && [ -z "${CONTAINERS_CONF:-}" ]; then
  export CONTAINERS_CONF="$here/packaging/podman/containers.conf"  # runc, cgroupfs, no ulimits
fi
ce() { "$engine" "$@"; }

# --- the image --------------------------------------------------------------------------------------------
# What the image is made from: the tracked sources (and uncommitted changes) or the prebuilt binary.
source_hash() {
  if [ -n "${prebuilt:-}" ]; then
    sha256sum "$prebuilt" | cut -c1-16
  elif git -C "$here" rev-parse --git-dir >/dev/null 2>&1; then
    { git -C "$here" ls-files -s; git -C "$here" diff HEAD; git -C "$here" ls-files -o --exclude-standard -z |
        xargs -0 -r sha256sum; } | sha256sum | cut -c1-16
  else
    (cd "$here" && find src packaging CMakeLists.txt cmake resources -type f -print0 | sort -z |
       xargs -0 sha256sum) | sha256sum | cut -c1-16
  fi
}

make_base() {
  ce image exists "$base" 2>/dev/null && return 0
  [ "$engine" = docker ] && ce image inspect "$base" >/dev/null 2>&1 && return 0
  command -v mmdebstrap >/dev/null || die "no base image $base and no mmdebstrap to make it (apt-get install mmdebstrap)"
  local cache=${RAFTWC_BASE_CACHE:-/var/cache/raftwc}
  mkdir -p "$cache"
  if [ ! -f "$cache/bookworm-minbase.tar" ]; then
    echo "dockerrun: making the base image from Debian's packages (mmdebstrap, about 2 minutes)"
    rm -rf "$cache/bookworm-minbase.new.tar"  # mmdebstrap picks the output format from the extension
    mmdebstrap --quiet --variant=minbase bookworm "$cache/bookworm-minbase.new.tar" </dev/null
    mv "$cache/bookworm-minbase.new.tar" "$cache/bookworm-minbase.tar"
  fi
  ce import "$cache/bookworm-minbase.tar" "$base" >/dev/null
}

build_image() {
  local want have
  want=$(source_hash)
  have=$(ce image inspect --format '{{ index .Config.Labels "org.raftwc.source" }}' "$image" 2>/dev/null || true)
  if [ "$want" = "$have" ]; then
    echo "dockerrun: image $image is up to date ($want)"
    return 0
  fi
  ce image inspect "$base" >/dev/null 2>&1 || { ce pull "$base" >/dev/null 2>&1 || make_base; }
  echo "dockerrun: building $image (${prebuilt:+prebuilt }sources $want; was ${have:-none})"
  local args=(build --network=host -f "$here/packaging/Dockerfile" --build-arg "BASE=$base"
              --label "org.raftwc.source=$want" -t "$image")
  [ "$engine" = podman ] && args+=(--format docker)  # OCI images drop HEALTHCHECK
  if [ -n "${prebuilt:-}" ]; then
    local ctx; ctx=$(mktemp -d)
    strip -o "$ctx/raftwc" "$prebuilt" 2>/dev/null || cp "$prebuilt" "$ctx/raftwc"
    ce "${args[@]}" --target prebuilt "$ctx" || { rm -rf "$ctx"; die "image build failed"; }
    rm -rf "$ctx"
  else
    ce "${args[@]}" --target runtime "$here" || die "image build failed"
  fi
}

# --- the cluster ------------------------------------------------------------------------------------------
members() { ce ps -a --filter "label=$label" --format '{{.Names}}' | sort -V; }
ip_of() { ce inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
port_of() { echo $((3000 + ${1##*-} - 1)); }
cluster_json() { curl -fsS --max-time 2 "http://127.0.0.1:$(port_of "$1")/api/cluster" 2>/dev/null; }

up() {
  local n=$1
  if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 50 ]; then die "N must be 1..50"; fi
  [ -z "$(members)" ] || die "a cluster '$project' is running already: bin/dockerrun.sh down first"
  [ "${build:-1}" = 1 ] && build_image
  for i in $(seq 1 "$n"); do
    local p=$((3000 + i - 1))
    if command -v ss >/dev/null && [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
      die "port $p on this machine is taken (node $i would be published there)"
    fi
  done
  install -d -m 0700 "$state"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state/cluster.key"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state/admin.token"
  # Readable by the image's user (uid 10001) only, inside the container; read-only mounts.
  chmod 0400 "$state/cluster.key" "$state/admin.token"
  [ "$(id -u)" = 0 ] && chown 10001:10001 "$state/cluster.key" "$state/admin.token"
  ce network exists "$net" 2>/dev/null || ce network inspect "$net" >/dev/null 2>&1 ||
    ce network create --label "$label" "$net" >/dev/null
  for i in $(seq 1 "$n"); do
    ce volume create --label "$label" "$project-data-$i" >/dev/null
    ce run -d --name "$project-$i" --hostname "$project-$i" --label "$label" --network "$net" \
      -p "127.0.0.1:$((3000 + i - 1)):3000" -v "$project-data-$i:/var/lib/raftwc" \
      -v "$state/cluster.key:/run/secrets/raftwc/cluster.key:ro" \
      -v "$state/admin.token:/run/secrets/raftwc/admin.token:ro" \
      "$image" --cluster-key-file /run/secrets/raftwc/cluster.key \
      --admin-token-file /run/secrets/raftwc/admin.token --bootstrap-expect "$n" --interface eth0 >/dev/null
  done
  echo "dockerrun: $n containers on network $net ($engine); waiting for a leader"
  local ok=0 json
  for _ in $(seq 1 120); do
    if json=$(cluster_json "$project-1") && [ -n "$(jq -r '.leader.id // empty' <<<"$json")" ] &&
       [ "$(jq '[.members[] | select(.alive and .voter)] | length' <<<"$json")" = "$n" ]; then
      ok=1; break
    fi
    sleep 0.5
  done
  status
  [ "$ok" = 1 ] || die "no leader with $n live voters within 60 s (logs: $engine logs $project-1)"
  echo "dockerrun: admin token (Authorization: Bearer ...) in $state/admin.token; stop with: bin/dockerrun.sh down"
}

status() {
  local leader="" json
  json=$(cluster_json "$project-1" || true)
  [ -n "$json" ] && leader=$(jq -r '.leader.http // empty' <<<"$json")
  printf '%-12s %-16s %-24s %s\n' CONTAINER ADDRESS URL ROLE
  for c in $(members); do
    local ip role="-"
    ip=$(ip_of "$c" 2>/dev/null || true)
    [ -n "$leader" ] && [ "$leader" = "$ip:3000" ] && role=leader
    [ "$role" = "-" ] && [ "$(ce inspect --format '{{.State.Running}}' "$c")" = true ] && role=member
    [ "$(ce inspect --format '{{.State.Running}}' "$c")" = true ] || role=stopped
    printf '%-12s %-16s %-24s %s\n' "$c" "${ip:--}" "http://127.0.0.1:$(port_of "$c")/" "$role"
  done
}

down() {
  local all leader_name="" leader_ip=""
  all=$(members)
  if [ -n "$all" ]; then
    for c in $all; do  # the leader, as any running node sees it
      local json; json=$(cluster_json "$c" || true)
      leader_ip=$(jq -r '.leader.http // empty' <<<"${json:-{\}}" | cut -d: -f1)
      [ -n "$leader_ip" ] && break
    done
    for c in $all; do [ -n "$leader_ip" ] && [ "$(ip_of "$c" 2>/dev/null)" = "$leader_ip" ] && leader_name=$c; done
    for c in $all; do  # followers first, then the leader: one leadership hand-over at most
      [ "$c" = "$leader_name" ] || ce stop -t 30 "$c" >/dev/null 2>&1 || true
    done
    [ -n "$leader_name" ] && { ce stop -t 30 "$leader_name" >/dev/null 2>&1 || true; }
    for c in $all; do ce rm -f "$c" >/dev/null 2>&1 || true; done
  fi
  for v in $(ce volume ls -q --filter "label=$label"); do ce volume rm -f "$v" >/dev/null; done
  ce network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$state"
  echo "dockerrun: cluster '$project' removed (containers, volumes, network, keys)"
}

# --- arguments --------------------------------------------------------------------------------------------
cmd=up
case "${1:-}" in
  up|down|build|make-base|status) cmd=$1; shift ;;
  ''|-h|--help) usage ;;
esac
n="" prebuilt="" build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prebuilt) prebuilt=$(realpath "${2:?}"); shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) usage ;;
    *) if [ -n "$n" ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then die "unexpected argument '$1' (see --help)"; fi
       n=$1; shift ;;
  esac
done
[ -z "$prebuilt" ] || [ -x "$prebuilt" ] || die "--prebuilt $prebuilt is not an executable"
command -v jq >/dev/null || die "jq is needed (bin/setup installs it)"
case "$cmd" in
  up) up "${n:-3}" ;;
  down) down ;;
  build) build_image ;;
  make-base) make_base ;;
  status) status ;;
esac
