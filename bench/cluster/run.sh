#!/usr/bin/env bash
# bench/cluster/run.sh — the cluster benchmarks, each against a reference measured in the same run.
# Every node runs on loopback inside a private network namespace that the scripts create
# (tests/tools/in-netns.sh); data dirs and files go under --dir (default /var/tmp, must not be tmpfs)
# and are removed afterwards.
#
#   bench/cluster/run.sh [--quick] [--only failover|replication|e2e|snapshot|busy] [--dir DIR] [--out DIR] [--nice N]
#
#   --quick   smoke run: 5 failover trials, 64 MiB replication, 10,30 MiB e2e with 1 repetition
#   --out     where the logs and JSON results go (default: a new /tmp/raftwc-clusterbench.XXXXXX)
#   --nice N  run everything (nodes, references, client) at scheduling niceness N (negative needs root):
#             a diagnostic for a machine busy with other work; references and cluster get the same N
# Binaries: $RAFTWC (else build-clusterbench/src/headless/raftwc, build-node, build), the kernel reference
# build*/bench/cluster/cluster_kernel_ref (optional). Build them with:
#   cmake -S . -B build-clusterbench -G Ninja -DRAFTWC_WERROR=ON
#   cmake --build build-clusterbench --target raftwc cluster_kernel_ref
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
here=$(cd "$(dirname "$0")" && pwd)
quick=0 only="" dir=/var/tmp out="" nice=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only=${2:?}; shift ;;
    --dir) dir=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --nice) nice=${2:?}; shift ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
  esac
  shift
done
case "$only" in ""|failover|replication|e2e|snapshot|busy) ;; *) echo "--only: failover, replication, e2e, snapshot or busy" >&2; exit 2 ;; esac
[ -n "$out" ] || out=$(mktemp -d /tmp/raftwc-clusterbench.XXXXXX)
mkdir -p "$out"
if [ "$quick" = 1 ]; then trials=5 mib=64 sizes=10,30 reps=1 busymb=10 busydistinct=1000000 snapmib=128 snapfile=16; else trials=20 mib=256 sizes=10,100 reps=3 busymb=50 busydistinct=5000000 snapmib=1024 snapfile=128; fi

echo "== raftwc cluster benchmarks $(date -u +%FT%TZ) on $(nproc) CPUs, $(uname -r); git $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "   load average at start: $(cut -d' ' -f1-3 /proc/loadavg); niceness $nice; results in $out"
run() {  # run NAME CMD... : tee the output, keep the summary line
  local name=$1; shift
  echo; echo "== $name: $*"
  local t0=$SECONDS
  nice -n "$nice" "$@" 2>&1 | tee "$out/$name.log"
  echo "   ($name took $((SECONDS - t0)) s)"
}
if [ -z "$only" ] || [ "$only" = failover ]; then
  run failover-default python3 "$here/failover.py" --trials "$trials" --election 1000-2000 --heartbeat 100 \
    --json "$out/failover-default.json"
  run failover-fast python3 "$here/failover.py" --trials "$trials" --election 150-300 --heartbeat 30 \
    --json "$out/failover-fast.json"
fi
if [ -z "$only" ] || [ "$only" = replication ]; then
  run replication python3 "$here/replication.py" --mib "$mib" --dir "$dir" --json "$out/replication.json"
fi
if [ -z "$only" ] || [ "$only" = e2e ]; then
  run e2e python3 "$here/e2e.py" --sizes "$sizes" --reps "$reps" --dir "$dir" --stop-member --json "$out/e2e.json"
  # the same with the data dirs on tmpfs: what the software alone costs
  if [ -d /dev/shm ]; then
    run e2e-tmpfs python3 "$here/e2e.py" --sizes "$sizes" --reps "$reps" --dir "$dir" --data-dir /dev/shm \
      --json "$out/e2e-tmpfs.json"
  fi
fi
if [ -z "$only" ] || [ "$only" = snapshot ]; then
  run snapshot python3 "$here/snapshot.py" --mib "$snapmib" --file-mib "$snapfile" --retain-mib 64 --dir "$dir" \
    --json "$out/snapshot.json"
fi
if [ -z "$only" ] || [ "$only" = busy ]; then
  # The reference is an older binary when RAFTWC_BASELINE names one (docs/benchmarks/busy.md).
  run busy python3 "$here/busy.py" --mb "$busymb" --distinct "$busydistinct" --dir "$dir" \
    ${RAFTWC_BASELINE:+--baseline "$RAFTWC_BASELINE"} --json "$out/busy.json"
fi
echo; echo "== summary (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
grep -h -E '^(FAILOVER|REPLICATION|E2E|BUSY) ' "$out"/*.log || true
