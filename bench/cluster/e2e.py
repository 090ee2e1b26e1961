#!/usr/bin/env python3
"""End-to-end jobs: wall time of POST /api/count from the client's view (curl, upload + fsync'd replication
to 3 nodes + counting, pipelined with storing + result commit) for text files of the given sizes, against
`LC_ALL=C.UTF-8 wc -w FILE` and against the local counting kernel (cluster_kernel_ref, single thread,
normalized mode like the nodes; skipped if not built) on the same file in the same run.
Also: per-phase timings of each job (GET /api/jobs/{id} polled every 50 ms, and the result's timings: the
answer's latency after the last chunk committed), time per MiB across sizes, and each node's peak RSS
(VmHWM from /proc/PID/status, read after each file's jobs; the nodes run through all jobs).
With --stop-member, each size also runs with a member SIGSTOP'd a third of the way into the job (a
follower that does not coordinate; it gets SIGCONT after the answer): the job's time against the normal one.

  e2e.py [--sizes 10,100] [--reps 3] [--text dense|english] [--dir /var/tmp] [--data-dir DIR]
         [--stop-member] [--raftwc PATH] [--kernel PATH] [--json OUT]

--text dense: issue 14's word-dense text (Zipf over 50,000 tokens of 1-7 letters); english: English-like.
--data-dir: where the nodes' data directories go (default: under --dir); /dev/shm for the tmpfs variant
(what the software costs without the disk).
"""
import argparse
import glob
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlib as cl  # noqa: E402


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_timed(cmd, env=None):
    """(wall seconds, CPU seconds, stdout) of a command that must succeed."""
    c0 = children_cpu()
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd), p.stderr.decode(errors="replace")))
    return wall, children_cpu() - c0, p.stdout.decode()


def find_kernel(explicit):
    cands = [explicit] if explicit else []
    cands += sorted(glob.glob(os.path.join(cl.REPO, "build*", "bench", "cluster", "cluster_kernel_ref")))
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,100", help="file sizes in MiB, comma-separated")
    ap.add_argument("--text", choices=("dense", "english"), default="dense")
    ap.add_argument("--data-dir", help="parent of the nodes' data dirs (default: --dir); /dev/shm: tmpfs")
    ap.add_argument("--stop-member", action="store_true", help="also run each job with a member SIGSTOP'd")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp", help="parent of the files and the nodes' data dirs")
    ap.add_argument("--raftwc")
    ap.add_argument("--kernel", help="cluster_kernel_ref binary (default: build*/bench/cluster/)")
    ap.add_argument("--json")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",") if x]
    if not sizes or any(not 1 <= s <= 1024 for s in sizes) or not 1 <= a.reps <= 20:
        sys.exit("--sizes: 1..1024 MiB each; --reps: 1..20")
    cl.ensure_netns()
    raftwc = cl.find_raftwc(a.raftwc)
    kernel = find_kernel(a.kernel)
    work = tempfile.mkdtemp(prefix="raftwc-e2e-", dir=a.dir)
    env_wc = dict(os.environ, LC_ALL="C.UTF-8")
    results = []
    c = None
    try:
        files = {}
        for mib in sizes:
            files[mib] = os.path.join(work, "text-%dmib.txt" % mib)
            (cl.make_dense_text if a.text == "dense" else cl.make_text)(files[mib], mib << 20)
        # --max-upload: room for the largest file
        c = cl.Cluster(raftwc, 3, "1000-2000", 100, a.data_dir or work,
                       extra=["--max-upload", "%dM" % (max(sizes) + 1)])
        c.start_all()
        leader = c.wait_formed(3)
        li = c.index_of_id(leader)
        cl.log("cluster of 3 formed, leader node %d; %s text; node data on %s (%s); kernel reference: %s; %s"
               % (li, a.text, c.root, cl.fs_type(c.root), kernel or "not built (skipped)", cl.load_note()))
        for mib in sizes:
            path = files[mib]
            size = os.path.getsize(path)
            with open(path, "rb") as f:  # page cache warm for every contender
                while f.read(1 << 24):
                    pass
            wc, kr, job = [], [], []
            for rep in range(a.reps):
                w_wall, w_cpu, out = run_timed(["wc", "-w", path], env=env_wc)
                wc_words = int(out.split()[0])
                wc.append((w_wall, w_cpu))
                if kernel:
                    k_wall, k_cpu, out = run_timed([kernel, path, "--mode", "normalized"])
                    kj = json.loads(out)
                    kr.append((kj["seconds"], k_wall, k_cpu))
                pw = cl.ProcWatch(c).start()
                w = cl.upload_and_watch(c, c.port(li), path, "e2e-%d-%d-%d" % (os.getpid(), mib, rep), 0.05)
                pw.stop()
                cpu = sum(v[0] for v in pw.d.values())
                waited = sum(v[2] for v in pw.d.values())
                res = w["result"]
                if res["words"] != wc_words:
                    cl.log("NOTE: cluster counted %d words, wc -w %d" % (res["words"], wc_words))
                up = w["body_received_s"]
                st = w["storing_ms_high"] / 1000.0 if w["storing_ms_high"] is not None else None
                el = res["elapsedMs"] / 1000.0
                shard_ms = max(s["ms"] for s in res["shards"])
                t = res.get("timings", {})
                # The answer's latency after the last chunk committed: the client's wall time less the
                # coordinator's time to that commit (the coordinator's clock starts as the request arrives).
                after_stored = w["wall_s"] - t["storedMs"] / 1000.0 if t.get("storedMs", -1) >= 0 else None
                job.append({"wall": w["wall_s"], "upload": up, "storing": st, "elapsed": el,
                            "after_storing": (el - st) if st is not None else None, "max_shard_ms": shard_ms,
                            "shards": len(res["shards"]), "nodes_cpu": cpu, "after_stored": after_stored,
                            "timings": t, "nodes_waited": waited, "words": res["words"],
                            "nodes": pw.as_dict()})
                cl.log("%d MiB rep %d: wc -w %.2f s (cpu %.2f); kernel %s; cluster job %.2f s: all chunks "
                       "committed at %s s, manifest applied %s s, counted %s s, answer %s ms after the last chunk "
                       "(largest piece %d ms, %d pieces), nodes: CPU %.2f s, waited for a CPU %.2f s; %s"
                       % (mib, rep + 1, w_wall, w_cpu, "%.2f s" % kr[-1][0] if kernel else "-", w["wall_s"],
                          t.get("storedMs", 0) / 1000, t.get("manifestMs", 0) / 1000,
                          t.get("countedMs", 0) / 1000,
                          "%.0f" % (after_stored * 1000) if after_stored is not None else "?",
                          shard_ms, len(res["shards"]), cpu, waited, cl.load_note()))
            stopped = []
            if a.stop_member:
                victim = next(i for i in c.running() if i != li)  # a follower; the leader coordinates
                normal = statistics.median([x["wall"] for x in job])
                for rep in range(a.reps):
                    timer = threading.Timer(normal / 3, lambda: os.kill(c.pid(victim), signal.SIGSTOP))
                    timer.start()
                    try:
                        w = cl.upload_and_watch(c, c.port(li), path,
                                                "e2e-stop-%d-%d-%d" % (os.getpid(), mib, rep), 0.05)
                    finally:
                        timer.cancel()
                        os.kill(c.pid(victim), signal.SIGCONT)
                    res = w["result"]
                    stopped.append({"wall": w["wall_s"], "words": res["words"],
                                    "shards": [(s["node"], s["ms"]) for s in res["shards"]]})
                    cl.log("%d MiB, node %d SIGSTOP'd after %.2f s: job %.2f s (normal %.2f s: %.2fx), %d words%s"
                           % (mib, victim, normal / 3, w["wall_s"], normal, w["wall_s"] / normal, res["words"],
                              "" if res["words"] == wc_words else " DIFFERENT from wc -w"))
                    time.sleep(3)  # the member catches up before the next job

            rss = {i: c.vmhwm_kib(i) for i in c.running()}
            med = lambda xs: statistics.median(xs)  # noqa: E731
            r = {"mib": mib, "bytes": size, "words": job[-1]["words"], "wc_words": wc_words,
                 "wc_wall": med([x[0] for x in wc]), "wc_cpu": med([x[1] for x in wc]),
                 "kernel_s": med([x[0] for x in kr]) if kr else None,
                 "job_wall": med([x["wall"] for x in job]), "jobs": job, "rss_kib": rss,
                 "stopped_wall": med([x["wall"] for x in stopped]) if stopped else None, "stopped": stopped,
                 "after_stored": med([x["after_stored"] for x in job if x["after_stored"] is not None] or [0]),
                 "wc_all": wc, "kernel_all": kr}
            results.append(r)
        data_fs = cl.fs_type(c.root)
    finally:
        if c:
            c.close()
        shutil.rmtree(work, ignore_errors=True)
    print("%-8s %10s %10s %12s %8s %9s %10s %13s %12s %20s" % (
        "file", "job wall", "wc -w", "kernel(1T)", "job/wc", "ms/MiB", "after last", "member STOP'd",
        "stop/normal", "node peak RSS MiB"))
    for r in results:
        print("%-8s %9.2fs %9.2fs %11s %8.2f %9.1f %8.0fms %13s %12s %20s"
              % ("%d MiB" % r["mib"], r["job_wall"], r["wc_wall"],
                 "%.3fs" % r["kernel_s"] if r["kernel_s"] else "-", r["job_wall"] / r["wc_wall"],
                 r["job_wall"] * 1000 / r["mib"], r["after_stored"] * 1000,
                 "%.2fs" % r["stopped_wall"] if r["stopped_wall"] else "-",
                 "%.2f" % (r["stopped_wall"] / r["job_wall"]) if r["stopped_wall"] else "-",
                 " ".join("%.0f" % (v / 1024) for v in r["rss_kib"].values())))
    per_mib = [r["job_wall"] / r["mib"] for r in results]
    if len(results) > 1:
        print("TIME PER MiB across %s MiB: %s ms; spread max/min = %.2f (goal <= 1.25)"
              % (",".join(str(r["mib"]) for r in results), " ".join("%.1f" % (x * 1000) for x in per_mib),
                 max(per_mib) / min(per_mib)))
    big = max(results, key=lambda r: r["mib"])
    print("E2E %d MiB %s text, data on %s: cluster job %.2f s vs LC_ALL=C.UTF-8 wc -w %.2f s (median of %d): "
          "job/wc = %.2f (goal <= 2.0: %s); answer %.0f ms after the last chunk committed (goal <= 300); "
          "words cluster %d, wc %d (%s)"
          % (big["mib"], a.text, data_fs, big["job_wall"], big["wc_wall"], a.reps, big["job_wall"] / big["wc_wall"],
             "MET" if big["job_wall"] <= 2 * big["wc_wall"] else "MISSED", big["after_stored"] * 1000,
             big["words"], big["wc_words"], "equal" if big["words"] == big["wc_words"] else "DIFFERENT"),
          flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "loadavg": os.getloadavg()}, f, indent=1)


if __name__ == "__main__":
    main()
