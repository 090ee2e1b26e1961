#!/usr/bin/env python3
"""Failover benchmark: time from SIGKILL of the leader to a new leader known to every survivor.

3 nodes on loopback in a private network namespace. Each trial: wait for 3 live voters and one agreed
leader, SIGKILL the leader, poll every survivor's GET /api/cluster (leader.id) about every 10 ms until
each names the same new leader, which must be one of the survivors; the failover time is the moment the
last survivor learns it. Then the killed node restarts from its data dir and the next trial waits for 3
live voters again.

  failover.py [--trials 20] [--election 1000-2000] [--heartbeat 100] [--raftwc PATH] [--json OUT]
"""
import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlib as cl  # noqa: E402


def log_sizes(c):
    return {i: os.path.getsize(c.logpath(i)) if os.path.exists(c.logpath(i)) else 0 for i in range(1, c.n + 1)}


def log_since(c, i, offset, limit=60):
    with open(c.logpath(i), "rb") as f:
        f.seek(offset)
        lines = f.read().decode(errors="replace").splitlines()
    return lines[:limit]


def trial(c, poll_s, limit_s, settle_s=0.0):
    old = c.wait_formed(3, timeout=60)
    if settle_s > 0:  # let connections (and reconnect backoffs) toward the restarted node settle first
        time.sleep(settle_s)
        old = c.wait_formed(3, timeout=60)
    li = c.index_of_id(old)
    survivors = [i for i in c.running() if i != li]
    ids = {i: c.cluster(i).get("id") for i in survivors}
    if li is None or any(not v for v in ids.values()):
        c.fail("could not map the leader %s to a node" % old)
    term0 = max(c.cluster(i).get("term") or 0 for i in survivors)  # also warms the keep-alive connections
    offsets = log_sizes(c)
    proc = c.procs.pop(li)
    pw = cl.ProcWatch(c)
    pw.s0 = {i: v for i, v in pw._snap().items() if i != li}
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    c.http.drop(c.port(li))
    first_seen = {}  # survivor -> (time, leader id) of its first view naming a leader other than `old`
    polls = 0
    term1 = term0
    term_up = None  # first moment a survivor reports a term above term0: an election has begun
    while time.monotonic() - t0 < limit_s:
        for i in survivors:
            view = c.cluster(i, timeout=1.0)
            l = (view.get("leader") or {}).get("id") or ""
            term1 = max(term1, view.get("term") or 0)
            if term_up is None and term1 > term0:
                term_up = (time.monotonic() - t0) * 1000.0
            now = time.monotonic()
            if l and l != old:
                if i not in first_seen or first_seen[i][1] != l:
                    first_seen[i] = (now, l)
            elif i in first_seen:
                del first_seen[i]  # lost it again: count from its next view
        polls += 1
        if len(first_seen) == len(survivors):
            leaders = {v[1] for v in first_seen.values()}
            if len(leaders) == 1 and next(iter(leaders)) in ids.values():
                break
        time.sleep(poll_s)
    else:
        c.fail("no new leader known to every survivor %.0f s after the kill" % limit_s)
    pw.t0 = t0
    pw.stop()
    ms = (max(v[0] for v in first_seen.values()) - t0) * 1000.0
    new = next(iter(first_seen.values()))[1]
    waited = max(v[1] for v in pw.d.values())  # event-loop thread of the survivors
    if ms > c.slow_ms:  # show what the survivors logged during a slow failover
        for i in survivors:
            for line in log_since(c, i, offsets[i]):
                print("      n%d| %s" % (i, line))
    return li, old, new, ms, polls, term1 - term0, term_up, waited


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--election", default="1000-2000")
    ap.add_argument("--heartbeat", type=int, default=100)
    ap.add_argument("--poll-ms", type=float, default=10.0)
    ap.add_argument("--raftwc")
    ap.add_argument("--data-root", default=None, help="parent of the nodes' data dirs (default $TMPDIR)")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--settle-ms", type=float, default=0.0,
                    help="after 3 live voters are seen, wait this long before the kill (diagnostic)")
    ap.add_argument("--verbose", action="store_true", help="nodes log debug lines (shown for slow trials)")
    a = ap.parse_args()
    if not 1 <= a.trials <= 1000:
        sys.exit("--trials must be 1..1000")
    lo, hi = (int(x) for x in a.election.split("-"))
    cl.ensure_netns()
    c = cl.Cluster(cl.find_raftwc(a.raftwc), 3, a.election, a.heartbeat, a.data_root,
                   extra=["--verbose"] if a.verbose else [])
    c.slow_ms = hi + 200  # survivors' log lines of trials slower than this are printed
    times, term_steps, trials = [], [], []
    try:
        c.start_all()
        t_form = time.monotonic()
        c.wait_formed(3, timeout=60)
        cl.log("election %s ms, heartbeat %d ms: cluster of 3 formed in %.1f s; %d trials"
               % (a.election, a.heartbeat, time.monotonic() - t_form, a.trials))
        for t in range(1, a.trials + 1):
            li, old, new, ms, polls, terms, term_up, waited = trial(c, a.poll_ms / 1000.0, limit_s=max(20.0, 10 * hi / 1000.0),
                                                                settle_s=a.settle_ms / 1000.0)
            times.append(ms)
            cl.log("trial %2d: killed node %d (leader %s) -> new leader %s known to both survivors after "
                   "%7.1f ms (%d polls; term +%d, first seen at %s ms; a survivor's event loop waited %.0f ms for a CPU)"
                   % (t, li, old, new, ms, polls, terms, "%.0f" % term_up if term_up is not None else "?",
                      waited * 1000))
            trials.append({"ms": ms, "term_steps": terms, "term_up_ms": term_up, "runq_wait_ms": waited * 1000})
            term_steps.append(terms)
            c.start(li)  # restart from its data dir; the next trial waits for 3 live voters
        c.wait_formed(3, timeout=60)
    finally:
        c.close()
    s = cl.summary(times)
    goal = hi + 500
    print("FAILOVER election %s heartbeat %d: n=%d min %.0f ms, median %.0f ms, p99 %.0f ms, max %.0f ms; "
          "goal p99 <= max timeout + 500 = %d ms: %s (p99 / goal = %.2f)"
          % (a.election, a.heartbeat, s["n"], s["min"], s["median"], s["p99"], s["max"], goal,
             "MET" if s["p99"] <= goal else "MISSED", s["p99"] / goal), flush=True)
    print("   elections needed per failover (term steps): %s; %s"
          % (", ".join("%d x%d" % (k, term_steps.count(k)) for k in sorted(set(term_steps))), cl.load_note()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"election": a.election, "heartbeat": a.heartbeat, "times_ms": times, "summary": s,
                       "goal_ms": goal, "term_steps": term_steps, "trials": trials, "loadavg": os.getloadavg()}, f,
                      indent=1)


if __name__ == "__main__":
    main()
