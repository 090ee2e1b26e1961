#!/usr/bin/env python3
"""End-to-end jobs: wall time of POST /api/count from the client's view (curl, upload + fsync'd replication
to 3 nodes + sharded counting + result commit) for 10 MiB and 100 MiB text files, against
`LC_ALL=C.UTF-8 wc -w FILE` and against the local counting kernel (cluster_kernel_ref, single thread,
normalized mode like the nodes; skipped if not built) on the same file in the same run.
Also: per-phase timings of each job (GET /api/jobs/{id} polled every 50 ms) and each node's peak RSS
(VmHWM from /proc/PID/status, read after each file's jobs; the nodes run through all jobs).

  e2e.py [--sizes 10,100] [--reps 3] [--dir /var/tmp] [--raftwc PATH] [--kernel PATH] [--json OUT]
"""
import argparse
import glob
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp", help="parent of the files and the nodes' data dirs")
    ap.add_argument("--raftwc")
    ap.add_argument("--kernel", help="cluster_kernel_ref binary (default: build*/bench/cluster/)")
    ap.add_argument("--json")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",") if x]
    if not sizes or any(not 1 <= s <= 900 for s in sizes) or not 1 <= a.reps <= 20:
        sys.exit("--sizes: 1..900 MiB each; --reps: 1..20")
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
            cl.make_text(files[mib], mib << 20)
        c = cl.Cluster(raftwc, 3, "1000-2000", 100, work)
        c.start_all()
        leader = c.wait_formed(3)
        li = c.index_of_id(leader)
        cl.log("cluster of 3 formed, leader node %d; kernel reference: %s; %s"
               % (li, kernel or "not built (skipped)", cl.load_note()))
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
                job.append({"wall": w["wall_s"], "upload": up, "storing": st, "elapsed": el,
                            "after_storing": (el - st) if st is not None else None, "max_shard_ms": shard_ms,
                            "shards": len(res["shards"]), "nodes_cpu": cpu, "nodes_waited": waited, "words": res["words"],
                            "nodes": pw.as_dict()})
                cl.log("%d MiB rep %d: wc -w %.2f s (cpu %.2f); kernel %s; cluster job %.2f s = upload %s + "
                       "storing %s + count/commit %s (largest shard %d ms, %d shards), nodes: CPU %.2f s, waited for a CPU %.2f s; %s"
                       % (mib, rep + 1, w_wall, w_cpu, "%.2f s" % kr[-1][0] if kernel else "-", w["wall_s"],
                          "%.2f" % up if up is not None else "?", "%.2f" % st if st is not None else "?",
                          "%.2f" % (el - st) if st is not None else "?", shard_ms, len(res["shards"]), cpu,
                          waited, cl.load_note()))
            rss = {i: c.vmhwm_kib(i) for i in c.running()}
            med = lambda xs: statistics.median(xs)  # noqa: E731
            r = {"mib": mib, "bytes": size, "words": job[-1]["words"], "wc_words": wc_words,
                 "wc_wall": med([x[0] for x in wc]), "wc_cpu": med([x[1] for x in wc]),
                 "kernel_s": med([x[0] for x in kr]) if kr else None,
                 "job_wall": med([x["wall"] for x in job]), "jobs": job, "rss_kib": rss,
                 "wc_all": wc, "kernel_all": kr}
            results.append(r)
    finally:
        if c:
            c.close()
        shutil.rmtree(work, ignore_errors=True)
    print("%-8s %10s %10s %12s %10s %10s %10s %22s" % ("file", "job wall", "wc -w", "kernel(1T)", "job/wc",
                                                      "job/kern", "upload", "node peak RSS MiB"))
    for r in results:
        j = r["jobs"]
        ups = [x["upload"] for x in j if x["upload"] is not None]
        print("%-8s %9.2fs %9.2fs %11s %10.2f %10s %9.2fs %22s"
              % ("%d MiB" % r["mib"], r["job_wall"], r["wc_wall"],
                 "%.3fs" % r["kernel_s"] if r["kernel_s"] else "-", r["job_wall"] / r["wc_wall"],
                 "%.1f" % (r["job_wall"] / r["kernel_s"]) if r["kernel_s"] else "-",
                 statistics.median(ups) if ups else float("nan"),
                 " ".join("%.0f" % (v / 1024) for v in r["rss_kib"].values())))
    big = max(results, key=lambda r: r["mib"])
    print("E2E %d MiB: cluster job %.2f s vs LC_ALL=C.UTF-8 wc -w %.2f s (median of %d): job/wc = %.2f; "
          "goal job faster than wc -w: %s; words cluster %d, wc %d (%s)"
          % (big["mib"], big["job_wall"], big["wc_wall"], a.reps, big["job_wall"] / big["wc_wall"],
             "MET" if big["job_wall"] < big["wc_wall"] else "MISSED", big["words"], big["wc_words"],
             "equal" if big["words"] == big["wc_words"] else "DIFFERENT"), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "loadavg": os.getloadavg()}, f, indent=1)


if __name__ == "__main__":
    main()
