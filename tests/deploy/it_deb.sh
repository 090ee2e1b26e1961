#!/usr/bin/env bash
# The Debian package, end to end: build it with CPack from the build tree, lint it (lintian: no error or
# warning; the one override ships with a reason), check its control data and contents, then install it
# into a throwaway root — an overlayfs over / in a private mount and network namespace, entered with
# chroot — where the maintainer scripts create the user and private directories, the installed unit is
# checked (systemd-analyze security ≤ 2.5), and the installed node starts as the service would run it
# (the raftwc user, options from /etc/default/raftwc, keys as credentials) and counts a file; finally
# `dpkg --purge` cleans up. The real system is checked untouched.
#   tests/deploy/it_deb.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: it_deb.sh BUILD_DIR}
fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] $*"; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount and network namespaces, chroot)"; exit 77; }
for t in cpack dpkg-deb lintian unshare chroot; do
  command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (bin/setup installs it)"; exit 77; }
done
T=$(mktemp -d /tmp/raftwc-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT

log "building the package"
(cd "$build" && cmake --build . --target raftwc raftwc_package_files >/dev/null && cpack -G DEB -B "$T/out" >/dev/null)
deb=$(ls "$T"/out/raftwc_*_amd64.deb)
log "lintian $(basename "$deb")"
lintian --fail-on error,warning "$deb" || fail "lintian reports errors or warnings"

info=$(dpkg-deb -I "$deb")
for dep in "libqt6core6 (>= 6.4) | libqt6core6t64 (>= 6.4)" "libqt6network6 (>= 6.4) | libqt6network6t64 (>= 6.4)" \
           "libssl3 (>= 3.0) | libssl3t64 (>= 3.0)" "adduser"; do
  grep -qF "$dep" <<<"$info" || fail "Depends lacks '$dep'"
done
[ "$(dpkg-deb -f "$deb" Package)" = raftwc ] || fail "package name"
dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -qx './conffiles' || fail "no conffiles"
dpkg-deb -e "$deb" "$T/ctrl"
grep -qx /etc/default/raftwc "$T/ctrl/conffiles" || fail "/etc/default/raftwc is not a conffile"
for s in postinst prerm postrm; do [ "$(stat -c %a "$T/ctrl/$s")" = 755 ] || fail "$s is not 0755"; done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/raftwc ./usr/lib/systemd/system/raftwc.service ./etc/default/raftwc \
         ./usr/share/doc/raftwc/copyright ./usr/share/man/man1/raftwc.1.gz; do
  grep -q " $f\$" <<<"$contents" || fail "$f missing from the package"
done
grep -q -- '-rwxr-xr-x root/root .* ./usr/bin/raftwc$' <<<"$contents" || fail "raftwc binary mode/owner"
! grep -E ' \./(var|tmp|home)/' <<<"$contents" || fail "the package ships files outside /usr and /etc"

host_user=$(getent passwd raftwc || true)
host_bin=$([ -e /usr/bin/raftwc ] && echo yes || echo no)

# The throwaway root needs an overlayfs over / (not possible on every kernel or inside every container).
if ! unshare -m --propagation private -- sh -c "mkdir -p '$T/probe' && mount -t tmpfs tmpfs '$T/probe' &&
     mkdir '$T/probe/u' '$T/probe/w' '$T/probe/m' &&
     mount -t overlay overlay -o 'lowerdir=/,upperdir=$T/probe/u,workdir=$T/probe/w' '$T/probe/m'" 2>"$T/probe.err"; then
  echo "SKIP: cannot mount an overlayfs over / here ($(cat "$T/probe.err")); the package was built and linted"
  exit 77
fi
log "installing into a throwaway root"
cp "$deb" "$T/raftwc.deb"
cat >"$T/inside.sh" <<'INSIDE'
#!/bin/bash
# Runs in the chroot (private mount + network namespace): install, check, run, purge.
set -euo pipefail
fail() { echo "FAIL (in the throwaway root): $*" >&2; exit 1; }
dpkg -i /root/raftwc.deb >/root/dpkg.log 2>&1 || { cat /root/dpkg.log; fail "dpkg -i"; }
cat /root/dpkg.log
getent passwd raftwc | grep -q ':/var/lib/raftwc:' || fail "no raftwc system user"
[ "$(getent passwd raftwc | cut -d: -f3)" -lt 1000 ] || fail "raftwc is not a system user"
[ "$(stat -c '%a %U %G' /var/lib/raftwc)" = "700 raftwc raftwc" ] || fail "/var/lib/raftwc: $(stat -c '%a %U %G' /var/lib/raftwc)"
[ "$(stat -c '%a %U' /etc/raftwc)" = "700 root" ] || fail "/etc/raftwc: $(stat -c '%a %U' /etc/raftwc)"
[ "$(stat -c '%a %U' /etc/raftwc/admin.token)" = "600 root" ] || fail "admin token not generated 0600"
[ ! -e /etc/raftwc/cluster.key ] || fail "a cluster key was invented"
grep -q 'no cluster key yet' /root/dpkg.log || fail "postinst did not say what to do without a key"
unit=/usr/lib/systemd/system/raftwc.service
if command -v systemd-analyze >/dev/null; then
  score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
          sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\) .*/\1/p')
  echo "systemd-analyze security: ${score:-unreadable}"
  [[ "$score" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "no exposure score from systemd-analyze"
  awk -v s="$score" 'BEGIN { exit !(s + 0 <= 2.5) }' || fail "exposure $score > 2.5"
fi

# The operator's part (docs/DEPLOY.md): the key, the options.
(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >/etc/raftwc/cluster.key)
cat >>/etc/default/raftwc <<'OPTS'
RAFTWC_SINGLE=1
RAFTWC_INTERFACE=lo
RAFTWC_ADVERTISE=127.0.0.1
RAFTWC_HTTP=127.0.0.1:3000
RAFTWC_RPC=127.0.0.1:7000
OPTS
# What systemd does for the unit: credentials readable by the service user only, then ExecStart as it.
cred=/run/credentials/raftwc.service
install -d -m 0700 -o raftwc -g raftwc "$cred"
install -m 0400 -o raftwc -g raftwc /etc/raftwc/cluster.key "$cred/cluster.key"
install -m 0400 -o raftwc -g raftwc /etc/raftwc/admin.token "$cred/admin.token"
ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo
(
  set -a; . /etc/default/raftwc; set +a
  export RAFTWC_DATA_DIR=/var/lib/raftwc
  exec setpriv --reuid raftwc --regid raftwc --init-groups --no-new-privs -- \
    /usr/bin/raftwc --cluster-key-file "$cred/cluster.key" --admin-token-file "$cred/admin.token"
) >/root/node.log 2>&1 &
node=$!
ready=0
for _ in $(seq 1 100); do
  if curl -fs --max-time 2 -o /dev/null http://127.0.0.1:3000/readyz; then ready=1; break; fi
  sleep 0.1
done
[ "$ready" = 1 ] || { cat /root/node.log; fail "the installed node never became ready"; }
curl -fsS --max-time 2 http://127.0.0.1:3000/livez | grep -q alive || fail "/livez"
printf 'one two three\nfour five\n' >/root/a.txt
words=$(curl -fsS --max-time 20 -H 'X-Filename: a.txt' --data-binary @/root/a.txt http://127.0.0.1:3000/api/count | jq .words)
[ "$words" = 5 ] || fail "count answered '$words'"
[ "$(stat -c %U /var/lib/raftwc/hardstate)" = raftwc ] || fail "data not written by the raftwc user"
[ "$(stat -c %a /var/lib/raftwc/hardstate)" = 600 ] || fail "data file mode $(stat -c %a /var/lib/raftwc/hardstate)"
kill -TERM "$node"; rc=0; wait "$node" || rc=$?
[ "$rc" = 0 ] || fail "the node exited $rc on SIGTERM"

dpkg --purge raftwc >/root/purge.log 2>&1 || { cat /root/purge.log; fail "dpkg --purge"; }
[ ! -e /usr/bin/raftwc ] || fail "binary left after purge"
[ ! -e /var/lib/raftwc ] || fail "state left after purge"
[ ! -e /etc/raftwc ] || fail "keys left after purge"
[ ! -e /etc/default/raftwc ] || fail "conffile left after purge"
echo "inside: installed, ran, counted, purged"
INSIDE
chmod +x "$T/inside.sh"

# shellcheck disable=SC2016  # expanded by the inner shell
unshare -m -n --propagation private -- bash -euo pipefail -c '
  T=$1
  mkdir -p "$T/ovl"
  mount -t tmpfs tmpfs "$T/ovl"
  mkdir -p "$T/ovl/upper" "$T/ovl/work" "$T/ovl/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$T/ovl/root"
  r=$T/ovl/root
  mount --rbind /dev "$r/dev"; mount -t proc proc "$r/proc"; mount -t sysfs sysfs "$r/sys"
  mount -t tmpfs tmpfs "$r/run"; mount -t tmpfs tmpfs "$r/tmp"
  cp "$T/raftwc.deb" "$T/inside.sh" "$r/root/"
  chroot "$r" /root/inside.sh
' _ "$T" || fail "the throwaway install failed"

[ "$(getent passwd raftwc || true)" = "$host_user" ] || fail "the real system's users changed"
[ "$([ -e /usr/bin/raftwc ] && echo yes || echo no)" = "$host_bin" ] || fail "the real system's /usr/bin changed"
echo "PASS it_deb"
