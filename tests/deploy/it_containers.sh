#!/usr/bin/env bash
# The container path with a real engine (podman), end to end, as docs/DEPLOY.md tells users to run it:
# the base image (mmdebstrap, cached), the image (short form: from the build tree's binary; RAFTWC_IMAGE_FROM=
# source builds it from the sources, the long form), then INSIDE a private network namespace this test
# creates: bin/dockerrun.sh 3, an upload through http://127.0.0.1:3000 compared with wc, the leader's
# container stopped (leadership moved off node 1 first, so 127.0.0.1:3000 stays up), another upload, and
# bin/dockerrun.sh down, after which no container, volume or network of the cluster is left.
#   tests/deploy/it_containers.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: it_containers.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "[$(date +%T)] $*"; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (rootful podman in a private network namespace)"; exit 77; }
command -v podman >/dev/null || { echo "SKIP: podman is not installed (bin/setup installs it)"; exit 77; }
command -v runc >/dev/null || { echo "SKIP: runc is not installed (bin/setup installs it)"; exit 77; }
export RAFTWC_ENGINE=podman RAFTWC_PROJECT=rwcit RAFTWC_IMAGE=raftwc:it
export CONTAINERS_CONF="$here/packaging/podman/containers.conf"

t0=$(date +%s)
log "base image"
"$here/bin/dockerrun.sh" make-base
log "image"
if [ "${RAFTWC_IMAGE_FROM:-prebuilt}" = source ]; then
  "$here/bin/dockerrun.sh" build
else
  "$here/bin/dockerrun.sh" build --prebuilt "$build/src/headless/raftwc"
fi
t1=$(date +%s)
podman image inspect --format '{{.Config.User}} {{index .Config.Labels "org.opencontainers.image.title"}}' raftwc:it |
  grep -qx 'raftwc raftwc' || { echo "FAIL: the image runs as root or lacks its OCI labels"; exit 1; }

# Everything with cluster traffic happens in a namespace of its own: its only interface is lo (and the
# bridge podman makes in it).
unshare -n -- bash "$here/tests/deploy/containers_cluster.sh" "$here"
t2=$(date +%s)
echo "PASS it_containers (images $((t1 - t0)) s, cluster $((t2 - t1)) s)"
