#!/usr/bin/env python3
"""Upload memory and throughput: peak RSS of the node that receives an upload, above its idle RSS, for one
large upload and for several concurrent ones (issue 10: goal <= 128 MiB above idle in both, whatever the
file size), and the upload's throughput against a plain TCP sink that writes the same bytes to a file on
the same disk (the `curl | nc -l > file` reference), measured in the same run.

A 3-node cluster in a private network namespace; the receiving node is a follower (its proposals go to the
leader over RPC), the client streams the file from disk (it never holds it in memory).

  upload_memory.py [--mib 1024] [--concurrent 4 --concurrent-mib 256] [--dir /var/tmp] [--raftwc PATH]
                   [--json OUT]
"""
import argparse
import http.client
import json
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlib as cl  # noqa: E402


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def reset_peak(pid):
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def post_file(port, path, job_id, timeout=600):
    """Streams `path` as the body of POST /api/count; returns (status, json, seconds to send, seconds to
    the answer)."""
    size = os.path.getsize(path)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    conn.putrequest("POST", "/api/count")
    conn.putheader("Content-Length", str(size))
    conn.putheader("X-Job-Id", job_id)
    conn.putheader("X-Filename", os.path.basename(path))
    conn.endheaders()
    cl.stream_file(path, conn.send)
    t_sent = time.monotonic() - t0
    resp = conn.getresponse()
    body = resp.read()
    t_answer = time.monotonic() - t0
    conn.close()
    try:
        js = json.loads(body)
    except ValueError:
        js = {"raw": body[:200].decode("latin-1")}
    return resp.status, js, t_sent, t_answer


def plain_sink(path, directory):
    """The reference: a TCP server writing what it receives to a file (no fsync, as `nc -l > file`);
    returns the seconds from connect to the last byte written."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    out = os.path.join(directory, "sink.bin")
    done = {}

    def serve():
        c, _ = srv.accept()
        with open(out, "wb") as f:
            while True:
                b = c.recv(1 << 20)
                if not b:
                    break
                f.write(b)
        done["t"] = time.monotonic()
        c.close()

    th = threading.Thread(target=serve)
    th.start()
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    cl.stream_file(path, s.sendall)
    s.close()
    th.join()
    srv.close()
    os.unlink(out)
    return done["t"] - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--concurrent", type=int, default=4)
    ap.add_argument("--concurrent-mib", type=int, default=256)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--raftwc")
    ap.add_argument("--json")
    a = ap.parse_args()
    cl.ensure_netns()
    raftwc = cl.find_raftwc(a.raftwc)
    work = tempfile.mkdtemp(prefix="raftwc-upmem-", dir=a.dir)
    c = None
    result = {"mib": a.mib, "concurrent": a.concurrent, "concurrent_mib": a.concurrent_mib}
    try:
        big = os.path.join(work, "big.txt")
        cl.log("generating %d MiB and %d MiB of text" % (a.mib, a.concurrent_mib))
        cl.make_text(big, a.mib << 20)
        small = os.path.join(work, "part.txt")
        cl.make_text(small, a.concurrent_mib << 20)
        ref_s = plain_sink(big, work)
        cl.log("reference: plain TCP sink to a file: %d MiB in %.2f s (%.0f MiB/s)"
               % (a.mib, ref_s, a.mib / ref_s))
        c = cl.Cluster(raftwc, 3, "1000-2000", 100, work, extra=["--max-upload", "4G",
                                                                  "--max-upload-inflight", "8G"])
        c.start_all()
        leader = c.wait_formed(3)
        li = c.index_of_id(leader)
        ri = next(i for i in range(1, 4) if i != li)
        pid = c.pid(ri)
        time.sleep(1.0)
        idle = status_kib(pid, "VmRSS")
        reset_peak(pid)
        cl.log("cluster formed; leader node %d; receiving node %d (follower), idle RSS %d MiB"
               % (li, ri, idle >> 10))
        st, js, t_sent, t_answer = post_file(c.port(ri), big, "upmem-big-%d" % os.getpid())
        peak = status_kib(pid, "VmHWM")
        if st != 200:
            c.fail("the %d MiB upload was answered %s: %s" % (a.mib, st, js))
        cl.log("one %d MiB upload: answered %d in %.2f s (body sent in %.2f s, %.0f MiB/s); words %s; "
               "receiving node peak RSS %d MiB = idle + %d MiB"
               % (a.mib, st, t_answer, t_sent, a.mib / t_sent, js.get("words"), peak >> 10,
                  (peak - idle) >> 10))
        result.update(idle_kib=idle, one_peak_kib=peak, one_above_idle_mib=(peak - idle) / 1024,
                      one_sent_s=t_sent, one_answer_s=t_answer, reference_sink_s=ref_s,
                      one_send_vs_sink=ref_s / t_sent, one_answer_vs_sink=ref_s / t_answer)
        # Several at once.
        time.sleep(1.0)
        idle2 = status_kib(pid, "VmRSS")
        reset_peak(pid)
        outs = [None] * a.concurrent

        def one(k):
            outs[k] = post_file(c.port(ri), small, "upmem-par-%d-%d" % (os.getpid(), k))

        wall = cl.timed_threads(one, [(k,) for k in range(a.concurrent)])
        peak2 = status_kib(pid, "VmHWM")
        bad = [o for o in outs if o[0] != 200]
        if bad:
            c.fail("concurrent uploads answered %s" % [(o[0], o[1]) for o in bad])
        cl.log("%d concurrent %d MiB uploads: all 200 in %.2f s; receiving node peak RSS %d MiB = idle + %d MiB"
               % (a.concurrent, a.concurrent_mib, wall, peak2 >> 10, (peak2 - idle2) >> 10))
        result.update(concurrent_idle_kib=idle2, concurrent_peak_kib=peak2,
                      concurrent_above_idle_mib=(peak2 - idle2) / 1024, concurrent_wall_s=wall)
        print("RESULT upload_memory " + json.dumps(result))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        if c:
            c.close()
        for name in ("big.txt", "part.txt"):
            try:
                os.unlink(os.path.join(work, name))
            except OSError:
                pass


if __name__ == "__main__":
    main()
