#!/usr/bin/env python3
"""A busy cluster stays available: one job over a file of ~50 MB with ~5 M distinct tokens on 3 nodes,
while every node's /healthz is polled every 20 ms; then the same with the disk slowed by a concurrent
fdatasync'd writer. Reported per binary: elections (term changes) and members declared dead during the
job, p99/max /healthz latency on each node, job wall time and each node's peak RSS. With --baseline, the
same runs on an older binary in the same session give the reference (the issue-9 "today's" node).

  busy.py [--mb 50] [--distinct 5000000] [--dir /var/tmp] [--raftwc PATH] [--baseline PATH] [--json OUT]

Every node runs on loopback inside a private network namespace the script creates (ensure_netns).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlib as cl  # noqa: E402

HEALTH_TIMEOUT_S = 5.0


def make_distinct(path, mb, distinct, seed=9):
    """`distinct` different tokens (each once or a few times) mixed with common words, about `mb` MB."""
    rnd = random.Random(seed)
    target = mb * 1_000_000
    common = cl.WORDS
    with open(path, "w", encoding="utf-8") as f:
        written = 0
        i = 0
        buf = []
        while written < target:
            if i < distinct:
                tok = "q%07x" % i
                i += 1
            else:
                tok = rnd.choice(common)
            s = tok + rnd.choice(cl.SEPS)
            buf.append(s)
            written += len(s.encode())
            if len(buf) >= 65536:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))
    return i


class Poller:
    """A background thread that calls poll_once() until stopped."""

    def __init__(self):
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.poll_once(self._stop)

    def start(self):
        self._t.start()
        return self

    def stop(self):
        self._stop.set()
        self._t.join()
        return self


class HealthPoller(Poller):
    """GET /healthz on one port every `period` s: each latency (a timeout counts as the timeout) and the
    requests that got no answer."""

    def __init__(self, port, period=0.02):
        super().__init__()
        self.port, self.period = port, period
        self.lat, self.failures = [], 0
        self.pool = cl.HttpPool(timeout=HEALTH_TIMEOUT_S)

    def poll_once(self, stop):
        t0 = time.monotonic()
        status, _ = self.pool.request(self.port, "GET", "/healthz", timeout=HEALTH_TIMEOUT_S)
        if status is None:
            self.failures += 1
        self.lat.append(time.monotonic() - t0)
        rest = self.period - (time.monotonic() - t0)
        if rest > 0:
            stop.wait(rest)


class MemberWatch(Poller):
    """/api/cluster on every node every 100 ms: the terms seen, and every member any node showed as not
    alive."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.terms, self.dead = set(), set()
        self.pool = cl.HttpPool(timeout=2.0)

    def poll_once(self, stop):
        for i in self.c.running():
            j = self.pool.get_json(self.c.port(i), "/api/cluster", timeout=2.0)
            if not j:
                continue
            self.terms.add(j.get("term"))
            for m in j.get("members") or []:
                if not m.get("alive"):
                    self.dead.add(m.get("id"))
        stop.wait(0.1)


def slow_disk_writer(directory, stop, block=1 << 20):
    """write(1 MiB) + fdatasync in a loop on the nodes' filesystem until `stop` is set (bounded file)."""
    path = os.path.join(directory, "slow-disk.dat")
    data = os.urandom(block)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n = 0
    try:
        while not stop.is_set():
            os.write(fd, data)
            os.fdatasync(fd)
            n += 1
            if n % 256 == 0:  # keep the file at most 256 MiB
                os.lseek(fd, 0, os.SEEK_SET)
    finally:
        os.close(fd)
        os.unlink(path)
    return n


def run_one(binary, path, args, slow_disk):
    c = cl.Cluster(binary, n=3, data_root=args.dir)
    try:
        c.start_all()
        c.wait_formed(3)
        terms0 = {c.cluster(i).get("term") for i in c.running()}
        polls = [HealthPoller(c.port(i)).start() for i in c.running()]
        watch = MemberWatch(c).start()
        stop = threading.Event()
        writer = None
        if slow_disk:
            writer = threading.Thread(target=slow_disk_writer, args=(c.root, stop), daemon=True)
            writer.start()
        t0 = time.monotonic()
        job = cl.upload_and_watch(c, c.port(1), path, "busy-%d" % int(time.time() * 1000))
        wall = time.monotonic() - t0
        time.sleep(1.0)  # let the pollers see the state right after the job
        stop.set()
        if writer:
            writer.join()
        watch.stop()
        for p in polls:
            p.stop()
        res = job["result"]
        terms = sorted(t for t in (watch.terms | terms0) if t is not None)
        out = {
            "binary": binary,
            "slow_disk": slow_disk,
            "wall_s": wall,
            "words": res.get("words"),
            "distinct": res.get("distinct") or res.get("uniqueWords"),
            "terms": terms,
            "elections": (max(terms) - min(terms)) if terms else None,
            "declared_dead": sorted(watch.dead),
            "rss_mib": {str(i): c.vmhwm_kib(i) / 1024.0 for i in c.running()},
            "healthz": {},
        }
        for i, p in zip(c.running(), polls):
            lat_ms = [x * 1000.0 for x in p.lat]
            out["healthz"][str(i)] = {"n": len(lat_ms), "p99_ms": cl.percentile(lat_ms, 99),
                                      "max_ms": max(lat_ms), "failures": p.failures}
        return out
    finally:
        c.close()


def line(tag, r):
    hz = r["healthz"]
    worst_p99 = max(v["p99_ms"] for v in hz.values())
    worst_max = max(v["max_ms"] for v in hz.values())
    fails = sum(v["failures"] for v in hz.values())
    return ("BUSY %-9s %s: wall %.1f s, elections %s (terms %s), declared dead %s, /healthz p99 %.0f ms "
            "(worst node; max %.0f ms, %d failed), peak RSS %s MiB"
            % (tag, "slow disk" if r["slow_disk"] else "idle disk", r["wall_s"], r["elections"], r["terms"],
               r["declared_dead"] or "none", worst_p99, worst_max, fails,
               "/".join("%.0f" % v for _, v in sorted(r["rss_mib"].items()))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--distinct", type=int, default=5_000_000)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--raftwc")
    ap.add_argument("--baseline", help="an older raftwc binary, run the same way as the reference")
    ap.add_argument("--json")
    a = ap.parse_args()
    cl.ensure_netns()
    binary = cl.find_raftwc(a.raftwc)
    work = os.path.join(a.dir, "raftwc-busy-%d" % os.getpid())
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "distinct.txt")
    try:
        n = make_distinct(path, a.mb, a.distinct)
        cl.log("file: %s, %.1f MB, %d distinct tokens plus common words; %s"
               % (path, os.path.getsize(path) / 1e6, n, cl.load_note()))
        results = []
        for tag, b in (("current", binary),) + ((("baseline", a.baseline),) if a.baseline else ()):
            for slow in (False, True):
                cl.log("%s (%s), %s" % (tag, b, "slow disk" if slow else "idle disk"))
                r = run_one(b, path, a, slow)
                r["tag"] = tag
                results.append(r)
                print(line(tag, r), flush=True)
        if a.baseline:
            cur = {r["slow_disk"]: r for r in results if r["tag"] == "current"}
            base = {r["slow_disk"]: r for r in results if r["tag"] == "baseline"}
            for slow in (False, True):
                c, b = cur[slow], base[slow]
                # A poller waits for each answer, so a stalled event loop yields one slow sample, not many:
                # the max says more than the p99 about a stall.
                print("BUSY ratio    %s: wall current/baseline %.2f, peak RSS (max node) %.2f, /healthz max "
                      "(worst node) %.3f, p99 %.2f; %s"
                      % ("slow disk" if slow else "idle disk", c["wall_s"] / b["wall_s"],
                         max(c["rss_mib"].values()) / max(b["rss_mib"].values()),
                         max(v["max_ms"] for v in c["healthz"].values())
                         / max(v["max_ms"] for v in b["healthz"].values()),
                         max(v["p99_ms"] for v in c["healthz"].values())
                         / max(v["p99_ms"] for v in b["healthz"].values()), cl.load_note()))
        for r in results:
            if r["tag"] != "current":
                continue
            ok = (r["elections"] == 0 and not r["declared_dead"]
                  and all(v["p99_ms"] <= 100 and v["failures"] == 0 for v in r["healthz"].values()))
            print("BUSY goal     %s: 0 elections, no member declared dead, /healthz p99 <= 100 ms on every node: %s"
                  % ("slow disk" if r["slow_disk"] else "idle disk", "met" if ok else "MISSED"))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
