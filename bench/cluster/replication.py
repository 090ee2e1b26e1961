#!/usr/bin/env python3
"""Replication throughput: a file uploaded to the leader of a 3-node cluster is stored as 1 MiB chunk
entries of the Raft log, each appended and fdatasync'd by all 3 nodes before it commits. Measured: the
storing phase of the job (GET /api/jobs/{id} polled every ~10 ms: state "storing" -> "counting";
elapsedMs counts from the moment the node has the whole request body), against a plain loop of 1 MiB
write(2)+fdatasync(2) on the same file system in the same run. All three replicas share this one disk,
so the fair reference writes the same bytes 3 times (one writer, and three concurrent writers).

  replication.py [--mib 256] [--dir /var/tmp] [--raftwc PATH] [--json OUT]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlib as cl  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--dir", default="/var/tmp", help="parent of data dirs and the plain loop (not tmpfs)")
    ap.add_argument("--raftwc")
    ap.add_argument("--json")
    a = ap.parse_args()
    if not 1 <= a.mib <= 900:
        sys.exit("--mib must be 1..900 (default --max-upload is 1 GiB)")
    kind = cl.fs_type(a.dir)
    if kind in ("tmpfs", "ramfs"):
        sys.exit("%s is on %s: fdatasync would be free there; use a directory on a disk" % (a.dir, kind))
    cl.ensure_netns()
    size = a.mib << 20
    raftwc = cl.find_raftwc(a.raftwc)
    work = tempfile.mkdtemp(prefix="raftwc-repl-", dir=a.dir)
    c = None
    try:
        cl.log("file system of %s: %s; generating %d MiB of text" % (a.dir, kind, a.mib))
        src = os.path.join(work, "upload.txt")
        cl.make_text(src, size)
        size = os.path.getsize(src)
        # Reference before the cluster runs.
        # Reference before the cluster runs (the 3x single-writer loop 3 times: this disk's fdatasync time
        # varies a lot from run to run), and once more after it.
        plain1 = cl.plain_write_loop(work, size, 1)
        plain3_runs = [cl.plain_write_loop(work, 3 * size, 1) for _ in range(3)]
        plain3c = cl.plain_write_loop(work, 3 * size, 3)
        cl.log("plain 1 MiB write+fdatasync: %d MiB in %.2f s; 3x bytes, one writer %s s; 3x bytes, three "
               "writers %.2f s" % (size >> 20, plain1, " / ".join("%.2f" % x for x in plain3_runs), plain3c))
        c = cl.Cluster(raftwc, 3, "1000-2000", 100, work)
        c.start_all()
        leader = c.wait_formed(3)
        li = c.index_of_id(leader)
        cl.log("cluster of 3 formed; leader node %d; uploading %d bytes to it" % (li, size))
        pw = cl.ProcWatch(c).start()
        w = cl.upload_and_watch(c, c.port(li), src, "repl-bench-%d" % os.getpid())
        pw.stop()
        load = cl.load_note()
        if w["storing_ms_high"] is None:
            c.fail("did not see the storing -> counting transition (%d polls)" % w["samples"])
        stored = {i: cl.dir_bytes(c.datadir(i)) for i in c.running()}
        rss = {i: c.vmhwm_kib(i) for i in c.running()}
        c.close()
        c = None
        plain3_runs.append(cl.plain_write_loop(work, 3 * size, 1))
        cl.log("plain loop, 3x bytes, one writer, after the cluster: %.2f s" % plain3_runs[-1])
    finally:
        if c:
            c.close()
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    res = w["result"]
    mib = size / (1 << 20)
    st_s = w["storing_ms_high"] / 1000.0
    st_lo = w["storing_ms_low"] / 1000.0
    repl_rate = mib / st_s
    plain3 = statistics.median(plain3_runs)
    ref3 = 3 * mib / plain3  # MiB/s of the disk for one writer
    print("during the job (%.1f s: upload, storing, counting), %s: %s" % (pw.wall, load, pw.text(li)))
    print("node data dirs after the job (MiB): %s; peak RSS (MiB): %s"
          % (", ".join("n%d %.0f" % (i, b / 2**20) for i, b in stored.items()),
             ", ".join("n%d %.0f" % (i, k / 1024) for i, k in rss.items())))
    print("upload (client -> leader, body received) %.2f s; storing phase %.2f s (last 'storing' poll at "
          "%.2f s, %d polls); whole job elapsedMs %.2f s; client wall %.2f s; words %d"
          % (w["body_received_s"], st_s, st_lo, w["samples"], res["elapsedMs"] / 1000.0, w["wall_s"],
             res["words"]))
    print("%-58s %9s %12s" % ("", "seconds", "file MiB/s"))
    rows = [("plain loop, file bytes once (1 writer)", plain1),
            ("plain loop, file bytes 3x (1 writer), fastest of 4", min(plain3_runs)),
            ("plain loop, file bytes 3x (1 writer), median of 4", plain3),
            ("plain loop, file bytes 3x (1 writer), slowest of 4", max(plain3_runs)),
            ("plain loop, file bytes 3x (3 concurrent writers)", plain3c),
            ("cluster storing phase (3 fsync'd replicas, one disk)", st_s),
            ("cluster whole job (elapsedMs: storing + counting)", res["elapsedMs"] / 1000.0)]
    for name, s in rows:
        print("%-58s %9.2f %12.1f" % (name, s, mib / s))
    ratio3 = plain3 / st_s
    ratio1 = plain1 / st_s
    print("REPLICATION %d MiB: storing %.1f MiB/s of file = %.0f%% of the plain loop writing the same bytes 3x "
          "(median %.1f MiB/s of file; %.0f%% of its fastest run), %.0f%% of 3 concurrent writers, %.0f%% of a single copy (%.1f MiB/s); "
          "goal >= 50%% of the plain loop (3x bytes, same disk): %s"
          % (size >> 20, repl_rate, 100 * ratio3, mib / plain3, 100 * min(plain3_runs) / st_s, 100 * plain3c / st_s,
             100 * ratio1, mib / plain1, "MET" if ratio3 >= 0.5 else "MISSED"), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"bytes": size, "fs": kind, "plain1_s": plain1, "plain3_s": plain3, "plain3c_s": plain3c,
                       "plain3_runs_s": plain3_runs, "storing_s": st_s, "storing_low_s": st_lo,
                       "job_elapsed_s": res["elapsedMs"] / 1000.0, "wall_s": w["wall_s"],
                       "body_received_s": w["body_received_s"], "rss_kib": rss, "data_bytes": stored, "nodes": pw.as_dict(),
                       "loadavg": os.getloadavg(),
                       "disk_mib_s_one_writer": ref3}, f, indent=1)


if __name__ == "__main__":
    main()
