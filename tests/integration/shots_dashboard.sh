#!/usr/bin/env bash
# Screenshots of the dashboard (observer) on a real 3-node cluster, under Xvfb: during an election (the
# leader is SIGKILLed while the window watches) and during a job (a large upload being counted).
#   tests/tools/in-netns.sh xvfb-run -a bash tests/integration/shots_dashboard.sh docs/screenshots
# RAFTWC / DASHBOARD default to build/.
# shellcheck source=tests/integration/lib.sh
root=$(cd "$(dirname "$0")/../.." && pwd)
export RAFTWC=${RAFTWC:-$root/build/src/headless/raftwc}
DASHBOARD=${DASHBOARD:-$root/build/src/gui/raftwc-dashboard}
source "$(dirname "$0")/lib.sh"
out=$(cd "${1:?usage: shots_dashboard.sh OUTDIR}" && pwd)
[ -n "${DISPLAY:-}" ] || fail "no DISPLAY: run under xvfb-run"
export HOME="$T/home" XDG_CONFIG_HOME="$T/config"
mkdir -p "$HOME"
EXPECT=3
for i in 1 2 3; do start_node "$i"; done
wait_until 30 "cluster of 3" cluster_formed 3
# A few jobs first, so the history has something.
for n in 1 2; do
  make_text "$T/warmup$n.txt" $((n * 300000))
  upload 1 "$T/warmup$n.txt" >/dev/null || fail "warm-up upload"
done

# 1. An election: the window opens on the timeline, the leader dies 2 s later, the shot is at 5 s.
leader=$(agreed_leader 3)
li=$(index_of_id "$leader")
peer=$(( li == 1 ? 2 : 1 ))
"$DASHBOARD" --observe --peers "127.0.0.1:$((3000 + peer))" --tab elections --screenshot "$out/dashboard-election.png" \
  --screenshot-delay 5000 >>"$T/dashboard.log" 2>&1 &
shot=$!
sleep 2
kill_node "$li"
wait "$shot" || fail "election screenshot"
start_node "$li"
wait_until 30 "3 members again" cluster_formed 3

# 2. A job: a large word-dense file; the shot is taken while it is being counted.
python3 -c "
import random
r = random.Random(7); words = [('w%d' % i) for i in range(50000)]
with open('$T/big.txt', 'w') as f:
    for _ in range(12): f.write(' '.join(r.choices(words, k=1000000)) + '\n')
"
"$DASHBOARD" --observe --peers 127.0.0.1:3001 --tab jobs --screenshot "$out/dashboard-job.png" \
  --screenshot-delay "${JOB_SHOT_MS:-4500}" >>"$T/dashboard.log" 2>&1 &
shot=$!
sleep 1
upload 2 "$T/big.txt" >/dev/null &
wait "$shot" || fail "job screenshot"
wait
echo "screenshots: $out/dashboard-election.png $out/dashboard-job.png"
