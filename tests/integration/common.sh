#!/usr/bin/env bash
# Helpers shared by every integration scenario (lib.sh for nodes on loopback, it_bridge.sh for the bridge
# topology). Expects $T: the scenario's temp dir, where node i logs to $T/n<i>.log.

log() { echo "[$(date +%T.%3N)] $*"; }

# fail MESSAGE — print it with the tail of every node's log, and end the scenario.
fail() {
  echo "FAIL: $*" >&2
  for f in "$T"/n*.log; do [ -f "$f" ] && { echo "--- $(basename "$f") (last 40 lines)"; tail -n 40 "$f"; }; done >&2
  exit 1
}

# wait_until TIMEOUT_S DESCRIPTION COMMAND... — polls COMMAND every 100 ms until it succeeds.
wait_until() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${timeout}s waiting for: $what"
    sleep 0.1
  done
}
