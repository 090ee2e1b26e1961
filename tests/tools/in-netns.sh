#!/bin/sh
# in-netns.sh COMMAND [ARG...]
# Runs COMMAND in a fresh private network namespace whose only interface is loopback, with multicast
# enabled and routed to lo. Nothing sent inside can leave the machine. Root gets a plain network
# namespace; other users get one inside a new user namespace.
if [ $# -eq 0 ]; then
  echo "usage: in-netns.sh COMMAND [ARG...]" >&2
  exit 2
fi
userns=""
[ "$(id -u)" -eq 0 ] || userns="-r"
exec unshare $userns -n -- sh -c '
  ip link set lo up &&
  ip link set lo multicast on &&
  ip route add 224.0.0.0/4 dev lo src 127.0.0.1 || { echo "in-netns: could not set up loopback multicast" >&2; exit 1; }
  exec "$@"' in-netns "$@"
