#!/usr/bin/env python3
"""Snapshots and compaction (issue 13), each against a reference measured in the same run:

1. catch-up: a 3-node cluster stores --mib MiB of files (no retention), every node compacts
   (POST /api/admin/compact), then a 4th node joins and catches up by InstallSnapshot. Its transfer time (the
   node's own "fetched ... in N ms" line: every blob and table fetched, hashed, written and fsynced) against
   copying the same bytes over a plain TCP stream on loopback into files on the same file system, fsynced
   (ratio = reference / catch-up: 1.0 = as fast as a plain copy; goal >= 0.7). Also the time from the
   node's start until it has applied everything (discovery and join included).
2. restart: kill -9 a follower and restart it; the time until it has applied the leader's commit index, for
   a compacted log against an uncompacted one (a second cluster with --snapshot-bytes 0, same files).
3. disk: a stream of uploads of 10x --retain-bytes (--snapshot-bytes and --segment-bytes 16M); every node's
   data directory sampled every 50 ms; the largest against retention + --snapshot-bytes + one segment.

  snapshot.py [--mib 1024] [--file-mib 64] [--retain-mib 64] [--disk-file-mib 8] [--dir /var/tmp] [--raftwc PATH] [--json OUT]
              [--only catchup,restart,disk]
"""
import argparse
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlib as cl  # noqa: E402

ADMIN = "bench-admin-token"


def metric(c, i, name):
    raw = c.http.request(c.port(i), "GET", "/metrics")
    body = raw[1] if isinstance(raw, tuple) else raw
    if isinstance(body, bytes):
        body = body.decode()
    for line in (body or "").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def upload(path, port):
    import subprocess
    out = subprocess.run(["curl", "-sS", "--max-time", "600", "-H", "Expect:", "-H", "X-Filename: f.txt", "-X", "POST", "-T",
                          path, "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:%d/api/count" % port],
                         capture_output=True, text=True)
    body, _, code = out.stdout.rpartition("\n")
    if code != "200":
        raise RuntimeError("upload failed: HTTP %s %s %s" % (code, body[:300], out.stderr[:300]))
    return json.loads(body)


def compact(c, i):
    import subprocess
    out = subprocess.run(["curl", "-fsS", "--max-time", "60", "-X", "POST", "-H", "Authorization: Bearer " + ADMIN,
                          "http://127.0.0.1:%d/api/admin/compact" % c.port(i)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("compact on node %d: %s" % (i, out.stderr))
    return json.loads(out.stdout)


def applied_all(c, i, leader_i):
    me = c.cluster(i, timeout=2)
    lead = c.cluster(leader_i, timeout=2)
    return me.get("appliedIndex", 0) >= lead.get("commitIndex", 1 << 62) > 0


def wait(pred, timeout, what, c):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception:  # noqa: BLE001 - the node may not answer yet
            pass
        time.sleep(0.02)
    c.fail("timed out waiting for " + what)


def tcp_copy(files, dest_dir):
    """Sends the files over one loopback TCP connection; the receiver writes each into dest_dir and fsyncs it.
    Returns seconds from connect to the last fsync."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    sizes = [os.path.getsize(f) for f in files]

    def receive():
        conn, _ = srv.accept()
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        for k, size in enumerate(sizes):
            with open(os.path.join(dest_dir, "f%d" % k), "wb") as out:
                left = size
                while left:
                    n = conn.recv_into(view[:min(left, len(buf))])
                    if not n:
                        raise RuntimeError("short stream")
                    out.write(view[:n])
                    left -= n
                out.flush()
                os.fsync(out.fileno())
        dfd = os.open(dest_dir, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        conn.sendall(b"k")
        conn.close()

    t = threading.Thread(target=receive)
    t.start()
    start = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port))
    for f in files:
        cl.stream_file(f, s.sendall)
    s.recv(1)
    took = time.monotonic() - start
    s.close()
    t.join()
    srv.close()
    return took


def make_cluster(args, extra):
    c = cl.Cluster(args.raftwc, n=3, election="1000-2000", heartbeat=100, data_root=args.dir,
                   extra=["--admin-token-file", args.token] + extra)
    c.start_all()
    c.wait_formed(3)
    return c


def store_files(c, files, through=1):
    for k, f in enumerate(files):
        upload(f, c.port(1 + (k + through) % 3))


def catchup(args, files, res):
    c = make_cluster(args, ["--retain-files", "0", "--retain-bytes", "0", "--retain-age", "0"])
    try:
        store_files(c, files)
        for i in (1, 2, 3):
            compact(c, i)
        leader = c.index_of_id(c.wait_formed(3))
        blob_dir = os.path.join(c.datadir(leader), "blobs")
        blobs = [os.path.join(blob_dir, b) for b in os.listdir(blob_dir) if not b.endswith(".tmp")]
        total = sum(os.path.getsize(b) for b in blobs)
        cl.log("catch-up: %d blobs, %.0f MiB in the snapshot's files" % (len(blobs), total / 2**20))
        started = time.monotonic()
        c.n = 4
        c.start(4)
        wait(lambda: metric(c, 4, "raftwc_snapshots_installed_total") >= 1 and applied_all(c, 4, leader), 900,
             "node 4 to catch up", c)
        whole = time.monotonic() - started
        with open(c.logpath(4), errors="replace") as f:
            m = re.search(r"fetched the snapshot's (\d+) files and (\d+) tables \((\d+) bytes\) in (\d+) ms", f.read())
        if not m:
            c.fail("node 4 logged no fetch")
        fetched_bytes, fetch_s = int(m.group(3)), int(m.group(4)) / 1000.0
        dest = tempfile.mkdtemp(prefix="tcpcopy-", dir=args.dir)
        try:
            ref = tcp_copy(blobs, dest)
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        res["catchup"] = {"bytes": fetched_bytes, "fetch_s": fetch_s, "join_to_caught_up_s": whole,
                          "tcp_copy_s": ref, "ratio": ref / fetch_s if fetch_s else None,
                          "fetch_mib_s": fetched_bytes / 2**20 / fetch_s if fetch_s else None,
                          "tcp_mib_s": total / 2**20 / ref}
        cl.log("catch-up: fetched %.0f MiB in %.2f s (%.0f MiB/s); plain TCP copy %.2f s (%.0f MiB/s): ratio %.2f "
               "(goal >= 0.7); start to caught up %.2f s" % (fetched_bytes / 2**20, fetch_s,
                                                             res["catchup"]["fetch_mib_s"], ref,
                                                             res["catchup"]["tcp_mib_s"], res["catchup"]["ratio"],
                                                             whole))
    finally:
        c.close()


def restart_time(args, files, compacted):
    extra = ["--retain-files", "0", "--retain-bytes", "0", "--retain-age", "0"]
    if not compacted:
        extra += ["--snapshot-bytes", "0"]
    c = make_cluster(args, extra)
    try:
        store_files(c, files)
        if compacted:
            for i in (1, 2, 3):
                compact(c, i)
        leader = c.index_of_id(c.wait_formed(3))
        victim = 1 + leader % 3
        log_bytes = metric(c, victim, "raftwc_log_bytes")
        c.kill(victim)
        started = time.monotonic()
        c.start(victim)
        wait(lambda: applied_all(c, victim, leader), 900, "the restarted node to apply everything", c)
        took = time.monotonic() - started
        return {"seconds": took, "log_bytes": log_bytes}
    finally:
        c.close()


def disk(args, res):
    retain = args.retain_mib << 20
    seg = 16 << 20
    snap = 16 << 20
    c = make_cluster(args, ["--retain-files", "0", "--retain-age", "0", "--retain-bytes", "%dM" % args.retain_mib,
                            "--snapshot-bytes", "%dM" % (snap >> 20), "--segment-bytes", "%dM" % (seg >> 20)])
    peak = {i: 0 for i in (1, 2, 3)}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for i in (1, 2, 3):
                peak[i] = max(peak[i], cl.dir_bytes(c.datadir(i)))
            time.sleep(0.05)

    t = threading.Thread(target=sample)
    t.start()
    rss_early, rss, n = {}, {}, 0
    try:
        f = os.path.join(args.tmp, "disk.txt")
        cl.make_dense_text(f, args.disk_file_mib << 20)
        n = max(1, (10 * retain) // (args.disk_file_mib << 20))
        for k in range(n):
            # distinct content per upload (content-addressed blobs would store one copy of a repeated file)
            with open(f, "r+b") as fh:
                fh.write(("%08d" % k).encode())
            upload(f, c.port(1 + k % 3))
            if k == n // 10:
                rss_early = {i: c.vmhwm_kib(i) for i in (1, 2, 3)}
        time.sleep(1.0)
        rss = {i: c.vmhwm_kib(i) for i in (1, 2, 3)}
    finally:
        stop.set()
        t.join()
        c.close()
    bound = retain + snap + seg
    res["disk_rss_kib"] = {"after_10pct": rss_early, "at_end": rss}
    cl.log("memory: peak RSS per node after 10%% of the stream %s KiB, at the end %s KiB" % (
        list(rss_early.values()), list(rss.values())))
    res["disk"] = {"uploads": n, "file_bytes": args.disk_file_mib << 20, "retain_bytes": retain, "snapshot_bytes": snap,
                   "segment_bytes": seg, "peak": peak, "bound": bound,
                   "peak_over_bound": max(peak.values()) / bound}
    cl.log("disk: %d uploads of %d MiB (10x retention %d MiB): peak data dir %s MiB; bound (retention + snapshot "
           "threshold + a segment) %d MiB" % (n, args.disk_file_mib, args.retain_mib,
                                              ", ".join("%.0f" % (v / 2**20) for v in peak.values()), bound >> 20))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--file-mib", type=int, default=64)
    ap.add_argument("--retain-mib", type=int, default=64)
    ap.add_argument("--disk-file-mib", type=int, default=8)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--raftwc")
    ap.add_argument("--json")
    ap.add_argument("--only", default="catchup,restart,disk")
    args = ap.parse_args()
    cl.ensure_netns()
    args.raftwc = cl.find_raftwc(args.raftwc)
    args.tmp = tempfile.mkdtemp(prefix="raftwc-snapbench-", dir=args.dir)
    args.token = os.path.join(args.tmp, "admin.token")
    with open(args.token, "w") as f:
        f.write(ADMIN)
    res = {"mib": args.mib, "file_mib": args.file_mib}
    only = set(args.only.split(","))
    try:
        files = []
        if only & {"catchup", "restart"}:
            for k in range(max(1, args.mib // args.file_mib)):
                p = os.path.join(args.tmp, "f%d.txt" % k)
                cl.make_dense_text(p, args.file_mib << 20)
                with open(p, "r+b") as fh:  # distinct contents
                    fh.write(("%08d" % k).encode())
                files.append(p)
        if "catchup" in only:
            catchup(args, files, res)
        if "restart" in only:
            a = restart_time(args, files, True)
            b = restart_time(args, files, False)
            res["restart"] = {"compacted": a, "uncompacted": b, "ratio": b["seconds"] / a["seconds"]}
            cl.log("restart: compacted log (%.1f MiB) %.2f s; uncompacted (%.1f MiB) %.2f s: %.1fx faster" % (
                a["log_bytes"] / 2**20, a["seconds"], b["log_bytes"] / 2**20, b["seconds"], res["restart"]["ratio"]))
        if "disk" in only:
            disk(args, res)
    finally:
        shutil.rmtree(args.tmp, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
