# shellcheck shell=sh
# Sourced by run-fake.sh and run-page.sh (POSIX sh): start_fake SERVER LOG [ARGS...] starts
# tests/http/fake_api_server on a free loopback port, sets $port and $pid, stops it on exit.
start_fake() {
  _server=$1 _log=$2
  shift 2
  "$_server" --port 0 --bind 127.0.0.1 "$@" > "$_log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
  port=""
  _n=0
  while [ -z "$port" ] && [ $_n -lt 100 ]; do
    port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$_log")
    [ -n "$port" ] || { kill -0 $pid 2>/dev/null || { echo "fake_api_server died:"; cat "$_log"; exit 1; }; sleep 0.1; }
    _n=$((_n + 1))
  done
  [ -n "$port" ] || { echo "fake_api_server did not start:"; cat "$_log"; exit 1; }
}
