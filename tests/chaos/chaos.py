#!/usr/bin/env python3
"""raftwc chaos run: a cluster in network namespaces on a bridge (bin/netns-cluster), concurrent uploads
through random nodes, a seeded nemesis, and a checker after healing. Started by tests/chaos/run (which
puts it in a private mount namespace, for the small-disk node's tmpfs). See docs/RELIABILITY.md.

Every HTTP request is sent from a thread that first entered one of the run's own network namespaces
(setns); the main thread only runs `ip`/`tc`. Nothing is ever sent from the root namespace.
"""
import argparse
import ctypes
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NC = os.path.join(REPO, "bin", "netns-cluster")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)

LEADER_BOUND_S = 30     # after healing: one agreed leader within this
SERVE_BOUND_S = 30      # after healing: an upload answered 200 within this
CONVERGE_BOUND_S = 90   # after healing: every node applied everything within this
PROMOTE_BOUND_S = 60    # a replacement member is a live voter within this + 1 s per 10 MiB uploaded so far
MAX_FDS = 512
MAX_RSS_MIB = 3072


def enter_netns(ns):
    """Move the calling thread into network namespace `ns`, or raise (never fall back to the root one)."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({ns}) failed")
    finally:
        os.close(fd)


def now():
    return time.monotonic()


class History:
    def __init__(self, path, t0):
        self.f = open(path, "w", buffering=1)
        self.t0 = t0
        self.lock = threading.Lock()

    def add(self, event, **kw):
        rec = {"t": round(now() - self.t0, 3), "event": event, **kw}
        with self.lock:
            self.f.write(json.dumps(rec, sort_keys=True) + "\n")
        return rec


class Run:
    def __init__(self, a):
        self.a = a
        self.seed = a.seed
        self.n = a.nodes
        self.name = a.name or f"rwcch{os.getpid() % 100000}"
        self.hub = f"{self.name}-hub"
        self.out = a.out
        os.makedirs(self.out, exist_ok=True)
        self.t0 = now()
        self.hist = History(os.path.join(self.out, "history.jsonl"), self.t0)
        self.key = os.urandom(32).hex()
        self.keyfile = os.path.join(self.out, "cluster.key")
        with open(self.keyfile, "w") as f:
            f.write(self.key)
        self.admin = os.urandom(32).hex()  # the administration routes' token, never the cluster key
        self.adminfile = os.path.join(self.out, "admin.token")
        with open(self.adminfile, "w") as f:
            f.write(self.admin)
        self.lock = threading.RLock()
        self.proc = {}          # slot -> Popen
        self.gen = {i: 0 for i in range(1, self.n + 1)}
        self.down_ok = set()    # slots the nemesis has stopped on purpose (killed, replacing)
        self.paused = set()
        self.cut = set()
        self.disk_full_slot = self.n          # its data dir is a small tmpfs
        self.exits = []          # (slot, rc, expected)
        self.violations = []
        self.faults = Counter()
        self.skipped = {}
        self.uploads = {}        # job id -> record
        self.refs = {}           # job id -> reference counts of the bytes sent
        self.leaders_by_term = defaultdict(set)
        self.status = {}         # slot -> last /api/cluster
        self.max_fds = Counter()
        self.max_rss = Counter()
        self.leaderless_max = 0.0
        self._leaderless_since = None
        self.stop_workload = threading.Event()
        self.stop_monitor = threading.Event()
        self.deadline = self.t0 + a.duration
        self.big = a.max_file

    # ---------- logging / failures ----------
    def log(self, msg):
        print(f"[{now() - self.t0:8.2f}] {msg}", flush=True)

    def violate(self, what, **kw):
        with self.lock:
            self.violations.append(what)
        self.hist.add("violation", what=what, **kw)
        self.log(f"VIOLATION: {what}")

    # ---------- cluster ----------
    def sh(self, *cmd, check=True):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
        return r

    def ip(self, i):
        return f"198.18.0.{10 + i}"

    def disk_root(self, i):
        return os.path.join(self.out, f"d{i}")

    def data_dir(self, i):
        return os.path.join(self.disk_root(i), f"g{self.gen[i]}")

    def up(self):
        self.sh(NC, "down", self.name, check=False)
        self.sh(NC, "up", self.name, str(self.n))
        for i in range(1, self.n + 1):
            os.makedirs(self.disk_root(i), exist_ok=True)
        size = self.a.tmpfs_mib
        self.sh("mount", "-t", "tmpfs", "-o", f"size={size}m", "raftwc-chaos", self.disk_root(self.disk_full_slot))
        self.hist.add("setup", seed=self.seed, nodes=self.n, name=self.name, tmpfs_slot=self.disk_full_slot,
                      tmpfs_mib=size)

    def down(self):
        for i, p in list(self.proc.items()):
            try:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait(10)
            except Exception:
                pass
        for i in list(self.cut):
            self.sh(NC, "link", self.name, str(i), "up", check=False)
        self.sh("umount", "-l", self.disk_root(self.disk_full_slot), check=False)
        self.sh(NC, "down", self.name, check=False)

    def start(self, i):
        os.makedirs(self.data_dir(i), exist_ok=True)
        logf = open(os.path.join(self.out, f"n{i}.log"), "ab")
        logf.write(f"==== chaos: start slot {i} gen {self.gen[i]} at t={now() - self.t0:.2f}\n".encode())
        logf.flush()
        ip = self.ip(i)
        cmd = ["ip", "netns", "exec", f"{self.name}-{i}", self.a.binary, "--data-dir", self.data_dir(i),
               "--interface", "eth0", "--advertise", ip, "--rpc", f"{ip}:7000", "--http", "0.0.0.0:3000",
               "--cluster-key-file", self.keyfile, "--admin-token-file", self.adminfile, "--election-timeout", self.a.election, "--heartbeat",
               str(self.a.heartbeat), "--discovery", "1500", "--bootstrap-expect", str(self.n),
               # every acknowledged upload is checked at the end: nothing may be retired meanwhile
               "--retain-files", "0", "--retain-bytes", "0", "--retain-age", "0"]
        with self.lock:
            self.proc[i] = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.down_ok.discard(i)
        logf.close()

    def kill(self, i):
        with self.lock:
            self.down_ok.add(i)
            p = self.proc.get(i)
        if p and p.poll() is None:
            p._chaos_expected = True  # set before the signal: the monitor reads it after seeing the exit
            p.send_signal(signal.SIGKILL)
            p.wait(30)
        if i in self.paused:
            self.paused.discard(i)

    def alive(self, i):
        p = self.proc.get(i)
        return p is not None and p.poll() is None

    # ---------- HTTP (call only from threads inside a run namespace) ----------
    def http(self, host, method, path, body=None, headers=None, timeout=5.0):
        conn = http.client.HTTPConnection(host, 3000, timeout=timeout)
        try:
            h = {"X-Requested-With": "raftwc"}
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return r.status, data
        finally:
            conn.close()

    def http_json(self, host, method, path, **kw):
        st, data = self.http(host, method, path, **kw)
        try:
            return st, json.loads(data)
        except ValueError:
            return st, None

    def auth(self):
        return {"Authorization": f"Bearer {self.admin}"}

    # ---------- monitor: roles/terms, leaderless time, process deaths, fds, memory ----------
    def monitor(self):
        try:
            self._monitor()
        except Exception as e:  # noqa: BLE001
            self.violate(f"monitor crashed: {type(e).__name__}: {e}")
            raise

    def _monitor(self):
        enter_netns(self.hub)  # then per call: each slot's own namespace, so cut links are still visible
        while not self.stop_monitor.is_set():
            t = now()
            any_leader = False
            for i in range(1, self.n + 1):
                with self.lock:
                    p = self.proc.get(i)
                if p is None:
                    continue
                rc = p.poll()
                if rc is not None:
                    if not getattr(p, "_chaos_seen", False):
                        p._chaos_seen = True
                        ok = getattr(p, "_chaos_expected", False) or \
                            (rc == 3 and self._disk_full_active == i)
                        self.exits.append((i, rc, ok))
                        self.hist.add("exit", slot=i, rc=rc, expected=ok)
                        if not ok:
                            self.violate(f"node {i} exited with {rc} without the nemesis", slot=i, rc=rc)
                    continue
                self._sample_proc(i, p.pid)
                if i in self.paused:
                    continue
                try:
                    enter_netns(f"{self.name}-{i}")
                    st, js = self.http_json("127.0.0.1", "GET", "/api/cluster", timeout=1.5)
                except Exception:
                    continue
                if st != 200 or not js:
                    continue
                self.status[i] = js
                if js.get("role") == "leader":
                    any_leader = True
                    term, nid = js.get("term"), js.get("id")
                    s = self.leaders_by_term[term]
                    if nid not in s:
                        s.add(nid)
                        self.hist.add("leader", term=term, id=nid, slot=i)
                        if len(s) > 1:
                            self.violate(f"two leaders in term {term}: {sorted(s)}", term=term)
            if any_leader:
                if self._leaderless_since is not None:
                    gap = t - self._leaderless_since
                    self.leaderless_max = max(self.leaderless_max, gap)
                    self._leaderless_since = None
            elif self._leaderless_since is None:
                self._leaderless_since = t
            self.stop_monitor.wait(0.5)

    _disk_full_active = None

    def _sample_proc(self, i, pid):
        try:
            self.max_fds[i] = max(self.max_fds[i], len(os.listdir(f"/proc/{pid}/fd")))
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        self.max_rss[i] = max(self.max_rss[i], int(line.split()[1]) // 1024)
        except OSError:
            pass

    def leader_slot(self):
        """Slot of a node that reports itself leader with the highest term, or None."""
        best = None
        for i, js in list(self.status.items()):
            if js.get("role") == "leader" and self.alive(i) and i not in self.paused:
                if best is None or js.get("term", 0) > self.status[best].get("term", 0):
                    best = i
        return best

    # ---------- workload ----------
    def make_file(self, rng, kind, size):
        if kind == "empty" or size == 0:
            return b""
        if kind == "binary":
            return rng.randbytes(size)
        if kind == "dense":
            return (b"a b c d e f g h \n" * (size // 17 + 1))[:size]
        if kind == "longword":
            w = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(64)) * (size // 64 + 1)
            cut = sorted(rng.randrange(size) for _ in range(3))
            b = bytearray(w[:size])
            for c in cut:
                b[c] = 0x20
            return bytes(b)
        words = [b"the", b"Raft", b"leader", b"don't", b"well-known", b"caf\xc3\xa9", b"\xe2\x82\xac5",
                 b"\xf0\x9f\x98\x80", b"x", b"HELLO", b"(quoted),", b"\xe2\x80\x8bzw"]
        seps = [b" ", b" ", b" ", b"\n", b"\t", b"\r\n", "\u00a0".encode(), "\u3000".encode(), "\u2028".encode()]
        if kind == "invalid":
            words += [b"\xff\xfe", b"\xe2\x80", b"ab\xc0\xafcd", b"\xed\xa0\x80", b"\x80", b"\xc2"]
            seps += [b"\xe2\x80", b"\x01"]
        chunk = bytearray()
        while len(chunk) < min(size, 1 << 16):
            chunk += rng.choice(words) + rng.choice(seps)
        chunk = bytes(chunk)
        reps = size // len(chunk) + 1
        return (chunk * reps)[:size]

    def pick_size(self, rng):
        r = rng.random()
        if r < 0.05:
            return 0
        if r < 0.35:
            return rng.randrange(1, 2048)
        if r < 0.75:
            return rng.randrange(2048, 256 << 10)
        if r < 0.95:
            return rng.randrange(256 << 10, 2 << 20)
        return rng.randrange(2 << 20, self.big + 1)

    def client(self, k):
        try:
            self._client(k)
        except Exception as e:  # noqa: BLE001 - a broken harness must fail the run, not go quiet
            self.violate(f"client {k} crashed: {type(e).__name__}: {e}")
            raise

    def _client(self, k):
        enter_netns(self.hub)
        rng = random.Random(self.seed * 1000 + k)
        seq = 0
        while not self.stop_workload.is_set() and now() < self.deadline:
            # the byte budget is spread over the run: never more than its share of the time so far (+30 s)
            elapsed = now() - (self.deadline - self.a.duration)
            if self.bytes_sent >= (self.a.budget_mib << 20) * min(1.0, (elapsed + 30) / self.a.duration):
                self.stop_workload.wait(0.5)
                continue
            seq += 1
            kind = rng.choice(["text", "text", "binary", "invalid", "dense", "longword", "empty"])
            size = 0 if kind == "empty" else self.pick_size(rng)
            data = self.make_file(rng, kind, size)
            mode = "raw" if rng.random() < 0.2 else "normalized"
            slot = rng.randrange(1, self.n + 1)
            jid = f"chaos-{self.seed}-{k}-{seq}"
            ref = wordref.fast_counts(data)
            ref["sha256"] = hashlib.sha256(data).hexdigest()
            if mode == "raw" and size <= (4 << 20):
                ref["uniqueWords"] = len(wordref.raw_table(data))
            with self.lock:
                self.refs[jid] = ref
                self.bytes_sent += size
            rec = {"id": jid, "slot": slot, "file": kind, "size": size, "mode": mode, "start": now() - self.t0}
            self.hist.add("invoke", **rec)
            try:
                st, js = self.http_json(self.ip(slot), "POST", f"/api/count?mode={mode}", body=data,
                                        headers={"X-Job-Id": jid, "X-Filename": f"{jid}.bin",
                                                 "Content-Type": "application/octet-stream"},
                                        timeout=self.a.upload_timeout)
                rec["status"] = st
            except Exception as e:  # noqa: BLE001 - any transport error makes the outcome unknown
                st, js = None, None
                rec["status"] = "error"
                rec["error"] = f"{type(e).__name__}: {e}"[:200]
            rec["end"] = now() - self.t0
            if st is not None and st != 200:
                rec["reply"] = js
            if st in (400, 404, 405, 413):
                self.violate(f"upload {jid} answered {st}: {js}", id=jid)
            elif st == 500:
                # an internal fault is never a valid answer (the first valid 60-minute run saw four, from a
                # node that took uploads while it was copying the whole log after being replaced)
                self.violate(f"upload {jid} answered 500: {js}", id=jid)
            elif st == 503 and js and js.get("error") == "commit_failed" and "exceeds" in js.get("message", ""):
                # a valid file the cluster can never commit (tests/chaos/repro_long_word.sh)
                self.violate(f"upload {jid} ({kind}, {size} B) can never commit: {js.get('message')}", id=jid)
            if st == 200:
                rec["answer"] = {f: js.get(f) for f in ("words", "lines", "bytes", "sha256", "uniqueWords", "term",
                                                        "logIndex", "state")} if js else None
                self.check_answer(jid, js, "upload answer")
            with self.lock:
                self.uploads[jid] = rec
            self.hist.add("complete", **{k2: v for k2, v in rec.items() if k2 != "start"})
        self.hist.add("client_done", client=k)

    bytes_sent = 0

    def check_answer(self, jid, js, where):
        ref = self.refs[jid]
        if not js:
            self.violate(f"{where} for {jid}: 200 without JSON", id=jid)
            return False
        bad = {}
        for f in ("words", "lines", "bytes", "sha256", "uniqueWords"):
            if f in ref and js.get(f) is not None and js.get(f) != ref[f]:
                bad[f] = (js.get(f), ref[f])
        for f in ("words", "lines", "bytes"):
            if js.get(f) is None:
                bad[f] = (None, ref[f])
        if bad:
            self.violate(f"{where} for {jid}: wrong {bad}", id=jid, got=js, ref=ref)
            return False
        return True

    # ---------- nemesis ----------
    def nemesis(self):
        try:
            self._nemesis()
        except Exception as e:  # noqa: BLE001
            self.violate(f"nemesis crashed: {type(e).__name__}: {e}")
            raise

    def _nemesis(self):
        rng = random.Random(self.seed)
        kinds = ["kill", "kill_leader", "pause", "pause_leader", "partition_minority", "partition_leader",
                 "netem", "disk_slow", "disk_full", "member_replace", "transfer"]
        weights = [3, 2, 2, 2, 3, 2, 2, 1, 1, 1, 2]
        th = threading.current_thread()
        th.name = "nemesis"
        # let the first uploads start on a healthy cluster
        time.sleep(rng.uniform(1, 3))
        while now() < self.deadline - 5:
            kind = rng.choices(kinds, weights)[0]
            dur = rng.uniform(self.a.fault_min, self.a.fault_max)
            pick = rng.randrange(1, self.n + 1)
            pick2 = rng.randrange(1, self.n + 1)
            quiet = rng.uniform(1, self.a.quiet_max)
            if kind in self.skipped:
                self.faults[f"{kind} (skipped)"] += 1
            else:
                try:
                    self.apply(kind, dur, pick, pick2, rng)
                except Exception as e:  # noqa: BLE001
                    self.violate(f"nemesis {kind} failed: {type(e).__name__}: {e}")
            time.sleep(quiet)
        self.hist.add("nemesis_done")

    def apply(self, kind, dur, pick, pick2, rng):
        leader = self.leader_slot()
        if kind.endswith("_leader") and leader is None:
            kind = kind.replace("_leader", "") if kind != "partition_leader" else "partition_minority"
        if kind in ("kill", "kill_leader"):
            i = leader if kind == "kill_leader" else pick
            self.fault_start(kind, dur, [i])
            self.kill(i)
            time.sleep(dur)
            self.start(i)
        elif kind in ("pause", "pause_leader"):
            i = leader if kind == "pause_leader" else pick
            p = self.proc[i]
            self.fault_start(kind, dur, [i])
            self.paused.add(i)
            p.send_signal(signal.SIGSTOP)
            time.sleep(dur)
            p.send_signal(signal.SIGCONT)
            self.paused.discard(i)
        elif kind in ("partition_minority", "partition_leader"):
            group = {leader} if kind == "partition_leader" else {pick}
            if pick2 not in group and len(group) < 2 and rng.random() < 0.5:
                group.add(pick2)
            group = sorted(group)
            self.fault_start(kind, dur, group)
            for i in group:
                self.cut.add(i)
                self.sh(NC, "link", self.name, str(i), "down")
            time.sleep(dur)
            for i in group:
                self.sh(NC, "link", self.name, str(i), "up")
                self.cut.discard(i)
        elif kind == "netem":
            spec = rng.choice([["delay", "80ms", "40ms"], ["loss", "20%"], ["duplicate", "30%"],
                               ["delay", "30ms", "reorder", "40%", "50%"],
                               ["delay", "20ms", "loss", "5%", "duplicate", "5%", "reorder", "25%"]])
            group = sorted({pick, pick2})
            self.fault_start(kind, dur, group, spec=" ".join(spec))
            for i in group:
                self.sh("ip", "netns", "exec", f"{self.name}-{i}", "tc", "qdisc", "add", "dev", "eth0", "root",
                        "netem", *spec)
            time.sleep(dur)
            for i in group:
                self.sh("ip", "netns", "exec", f"{self.name}-{i}", "tc", "qdisc", "del", "dev", "eth0", "root",
                        check=False)
        elif kind == "disk_slow":
            i = pick
            self.fault_start(kind, dur, [i])
            path = os.path.join(self.disk_root(i), "chaos-syncer")
            end = now() + dur
            block = os.urandom(1 << 20)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                k = 0
                while now() < end:
                    os.pwrite(fd, block, (k % 64) << 20)
                    os.fdatasync(fd)
                    k += 1
            finally:
                os.close(fd)
                os.unlink(path)
        elif kind == "disk_full":
            i = self.disk_full_slot
            root = self.disk_root(i)
            st = os.statvfs(root)
            free = st.f_bavail * st.f_frsize
            leave = rng.randrange(0, 4 << 20)
            self.fault_start(kind, dur, [i], free_mib=free >> 20, left_kib=leave >> 10)
            path = os.path.join(root, "chaos-filler")
            self._disk_full_active = i
            try:
                with open(path, "wb") as f:
                    todo = max(0, free - leave)
                    z = b"\0" * (1 << 20)
                    while todo > 0:
                        try:
                            todo -= f.write(z[:min(todo, len(z))])
                        except OSError:
                            break
                time.sleep(dur)
            finally:
                os.unlink(path)
                # a node that hit the full disk stops with exit 3: mark it as the nemesis' doing before the
                # fault is over, whenever the monitor gets to see the exit
                time.sleep(2)
                p = self.proc.get(i)
                if p is not None and p.poll() == 3:
                    p._chaos_expected = True
                self._disk_full_active = None
            if not self.alive(i) and i not in self.down_ok:
                self.down_ok.add(i)
                self.hist.add("restart_after_disk_full", slot=i)
                self.start(i)
        elif kind == "member_replace":
            self.replace(pick, dur)
        elif kind == "transfer":
            if leader is None:
                self.faults["transfer (no leader)"] += 1
                return
            to = self.status.get(pick, {}).get("id") if pick != leader else None
            self.fault_start(kind, 0, [leader], to=to)
            q = f"?to={to}" if to else ""
            res = {}
            t = threading.Thread(target=self._in_ns, args=(f"{self.name}-{leader}", res, "POST",
                                                            f"/api/leader/transfer{q}"))
            t.start()
            t.join()
            self.hist.add("transfer_answer", status=res.get("status"), body=res.get("body"))

    def _in_ns(self, ns, res, method, path, host="127.0.0.1"):
        try:
            enter_netns(ns)
            st, data = self.http(host, method, path, headers=self.auth(), timeout=5)
            res["status"], res["body"] = st, data.decode(errors="replace")[:300]
        except Exception as e:  # noqa: BLE001
            res["status"], res["body"] = "error", str(e)[:300]

    def fault_start(self, kind, dur, slots, **kw):
        self.faults[kind] += 1
        self.hist.add("fault", fault=kind, duration=round(dur, 2), slots=slots, **kw)
        self.log(f"fault {kind} on {slots} for {dur:.1f}s {kw if kw else ''}")

    def replace(self, i, dur):
        """Stop member i, remove it through the leader, wipe it, start a fresh node in its place, which must
        become a live voter within PROMOTE_BOUND_S."""
        old = self.status.get(i, {}).get("id")
        if not old:
            self.faults["member_replace (id unknown)"] += 1
            return
        self.fault_start("member_replace", dur, [i], old=old)
        self.kill(i)
        removed, t_end = False, now() + 40
        while now() < t_end and not removed:
            li = self.leader_slot()
            if li is not None and li != i:
                res = {}
                t = threading.Thread(target=self._in_ns, args=(f"{self.name}-{li}", res, "DELETE",
                                                                f"/api/members/{old}"))
                t.start()
                t.join()
                self.hist.add("remove_answer", status=res.get("status"), body=res.get("body"))
                removed = res.get("status") == 200
            if not removed:
                time.sleep(0.5)
        if not removed:
            self.violate(f"member {old} (slot {i}) could not be removed within 40 s")
            self.start(i)
            return
        shutil.rmtree(self.data_dir(i), ignore_errors=True)
        self.gen[i] += 1
        self.status.pop(i, None)
        time.sleep(min(dur, 3))
        self.start(i)
        # a fresh member copies the whole log before it is promoted: the bound grows with the bytes uploaded
        bound = PROMOTE_BOUND_S + self.bytes_sent / (10 << 20)
        t_end = now() + bound
        while now() < t_end:
            js = self.status.get(i)
            li = self.leader_slot()
            if js and li is not None and js.get("id") != old:
                mem = [m for m in self.status.get(li, {}).get("members", []) if m.get("id") == js.get("id")]
                if mem and mem[0].get("voter") and mem[0].get("alive"):
                    self.hist.add("replaced", slot=i, old=old, new=js.get("id"),
                                  after=round(bound - (t_end - now()), 2))
                    return
            time.sleep(0.5)
        self.violate(f"replacement member in slot {i} not a live voter within {bound:.0f}s", slot=i)

    # ---------- probes ----------
    def probe_netem(self):
        r = self.sh("ip", "netns", "exec", f"{self.name}-1", "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                    "delay", "1ms", check=False)
        if r.returncode != 0:
            reason = f"tc netem unavailable in this kernel: {r.stderr.strip() or r.returncode}"
            self.skipped["netem"] = reason
            self.log(f"SKIPPING fault kind netem: {reason}")
            self.hist.add("skip_fault_kind", fault="netem", reason=reason)
        else:
            self.sh("ip", "netns", "exec", f"{self.name}-1", "tc", "qdisc", "del", "dev", "eth0", "root", check=False)

    # ---------- healing and the checker ----------
    def heal(self):
        for i in list(self.cut):
            self.sh(NC, "link", self.name, str(i), "up", check=False)
            self.cut.discard(i)
        for i in range(1, self.n + 1):
            self.sh("ip", "netns", "exec", f"{self.name}-{i}", "tc", "qdisc", "del", "dev", "eth0", "root",
                    check=False)
            p = self.proc.get(i)
            if p and p.poll() is None:
                p.send_signal(signal.SIGCONT)
            self.paused.discard(i)
            if not self.alive(i):
                self.start(i)
        self.hist.add("healed")

    def check(self):
        res = {}
        t = threading.Thread(target=self._check, args=(res,))
        t.start()
        t.join()
        return res

    def _check(self, res):
        try:
            self._check_inner(res)
        except Exception as e:  # noqa: BLE001 - a checker that cannot finish is a failed run
            self.violate(f"checker crashed: {type(e).__name__}: {e}", traceback=traceback.format_exc())
        if "acked" not in res and not self.violations:
            self.violate("checker did not reach the listing comparison")

    def _check_inner(self, res):
        def leader_id(v):
            # a view without a "leader" key (or with a non-object one) must not crash the checker: the
            # first 60-minute run died here on an unhashable {} from `get("leader", {}) and ...`
            lead = v.get("leader") if isinstance(v, dict) else None
            return lead.get("id") if isinstance(lead, dict) else None

        enter_netns(self.hub)
        t_heal = now()
        slots = list(range(1, self.n + 1))

        def cluster(i):
            try:
                st, js = self.http_json(self.ip(i), "GET", "/api/cluster", timeout=3)
                return js if st == 200 else None
            except Exception:  # noqa: BLE001
                return None

        agreed = None
        while now() - t_heal < LEADER_BOUND_S:
            views = [cluster(i) for i in slots]
            ids = {leader_id(v) for v in views}
            if len(ids) == 1 and None not in ids and all(v for v in views):
                li = [i for i, v in zip(slots, views) if v["id"] == next(iter(ids))]
                if li:
                    voters = [m for m in views[li[0] - 1]["members"] if m.get("voter") and m.get("alive")]
                    if len(voters) == self.n:
                        agreed = (li[0], views[li[0] - 1])
                        break
            time.sleep(0.3)
        res["leader_after_heal_s"] = round(now() - t_heal, 2)
        if not agreed:
            self.violate(f"no agreed leader with {self.n} live voters within {LEADER_BOUND_S}s of healing",
                         views=[cluster(i) for i in slots])
            return
        self.log(f"agreed leader slot {agreed[0]} after {res['leader_after_heal_s']}s")
        # uploads are served again
        data = b"after the storm the cluster counts again \xe2\x80\xa8 ok\n" * 1000
        jid = f"chaos-{self.seed}-final"
        self.refs[jid] = dict(wordref.fast_counts(data), sha256=hashlib.sha256(data).hexdigest())
        t_up, ok = now(), False
        while now() - t_heal < LEADER_BOUND_S + SERVE_BOUND_S and not ok:
            try:
                st, js = self.http_json(self.ip(random.Random(self.seed).randrange(1, self.n + 1)), "POST",
                                        "/api/count", body=data, headers={"X-Job-Id": jid}, timeout=20)
            except Exception:  # noqa: BLE001
                st, js = None, None
            if st == 200:
                ok = self.check_answer(jid, js, "post-heal upload")
                self.uploads[jid] = {"id": jid, "status": 200, "size": len(data)}
                break
            time.sleep(0.5)
        res["served_after_heal_s"] = round(now() - t_heal, 2)
        if not ok:
            self.violate("no upload answered 200 within the bound after healing")
            return
        # every node applies everything
        target = cluster(agreed[0])["commitIndex"]
        while now() - t_up < CONVERGE_BOUND_S:
            views = [cluster(i) for i in slots]
            if all(v and v.get("appliedIndex", -1) >= target for v in views):
                break
            time.sleep(0.5)
        else:
            self.violate(f"nodes did not apply index {target} within {CONVERGE_BOUND_S}s")
        # listings: identical on every node, every acknowledged upload present and exact
        lists = {}
        for i in slots:
            # The listing pages (limit, next/after): walk every page.
            jobs, after, pages = [], None, 0
            while True:
                path = "/api/jobs?limit=1000" + (f"&after={after}" if after else "")
                st, js = self.http_json(self.ip(i), "GET", path, timeout=30)
                if st != 200 or not js:
                    self.violate(f"GET {path} on slot {i} answered {st}")
                    return
                jobs += js["jobs"]
                after = js.get("next")
                pages += 1
                if not after or pages > 10000:
                    break
            lists[i] = {j["id"]: {f: j.get(f) for f in ("bytes", "words", "lines", "sha256", "state", "mode")}
                        for j in jobs}
        base = lists[slots[0]]
        for i in slots[1:]:
            if lists[i] != base:
                diff = [k for k in set(lists[i]) | set(base) if lists[i].get(k) != base.get(k)][:10]
                self.violate(f"job list of slot {i} differs from slot {slots[0]}", ids=diff)
        acked = [j for j, r in self.uploads.items() if r.get("status") == 200]
        lost = [j for j in acked if j not in base or base[j].get("state") not in (None, "done")]
        wrong = []
        for j, v in base.items():
            if j not in self.refs:
                self.violate(f"job {j} listed but never uploaded by this run")
                continue
            if v.get("state") in (None, "done") and not self.check_answer(j, v, "listing"):
                wrong.append(j)
        for j in lost:
            self.violate(f"acknowledged upload {j} missing from the listing (or not done): {base.get(j)}")
        res.update(acked=len(acked), lost=len(lost), wrong=len(wrong), listed=len(base),
                   indeterminate_listed=len([j for j in base if j in self.uploads and
                                             self.uploads[j].get("status") != 200]))

    def log_leaders(self):
        """At most one leader per term, from the nodes' logs ('raft <id> [term T] became leader')."""
        pat = re.compile(r"raft ([0-9a-f]+) \[term (\d+)\] became leader")
        per = defaultdict(set)
        for i in range(1, self.n + 1):
            try:
                with open(os.path.join(self.out, f"n{i}.log"), errors="replace") as f:
                    for line in f:
                        m = pat.search(line)
                        if m:
                            per[int(m.group(2))].add(m.group(1))
            except OSError:
                pass
        for term, ids in per.items():
            if len(ids) > 1:
                self.violate(f"logs: two leaders in term {term}: {sorted(ids)}")
        return len(per)


def parse_duration(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", s)
    if not m:
        raise argparse.ArgumentTypeError(f"bad duration {s}")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--duration", type=parse_duration, default=parse_duration("5m"))
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--name", default=None)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--max-file", type=lambda s: int(s) << 20, default=8 << 20, help="MiB")
    ap.add_argument("--budget-mib", type=int, default=300, help="total bytes uploaded at most (MiB)")
    ap.add_argument("--tmpfs-mib", type=int, default=1024)
    ap.add_argument("--fault-min", type=float, default=1.0)
    ap.add_argument("--fault-max", type=float, default=8.0)
    ap.add_argument("--quiet-max", type=float, default=4.0)
    ap.add_argument("--upload-timeout", type=float, default=90.0)
    ap.add_argument("--election", default="300-600")
    ap.add_argument("--heartbeat", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the run directory even when it passes")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    if a.out is None:
        a.out = f"/tmp/raftwc-chaos-{a.seed}-{os.getpid()}"
    if os.path.exists(f"/run/netns/{a.name}-hub") if a.name else False:
        sys.exit(f"namespace {a.name}-hub exists")
    if os.path.exists(a.out):
        sys.exit(f"chaos: {a.out} exists; give a new --out")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run = Run(a)
    print(f"chaos: seed {a.seed}, {a.nodes} nodes, {a.duration:.0f}s, history {run.out}/history.jsonl", flush=True)
    rc = 1
    try:
        run.up()
        run.probe_netem()
        for i in range(1, a.nodes + 1):
            run.start(i)
        mon = threading.Thread(target=run.monitor, name="monitor", daemon=True)
        mon.start()
        # the cluster forms before the clock starts
        t_form = now() + 60
        while now() < t_form and run.leader_slot() is None:
            time.sleep(0.2)
        if run.leader_slot() is None:
            run.violate("cluster did not form within 60s")
            raise SystemExit(1)
        run.deadline = now() + a.duration
        run.log("cluster formed; workload and nemesis start")
        clients = [threading.Thread(target=run.client, args=(k,), name=f"client{k}", daemon=True)
                   for k in range(a.clients)]
        for c in clients:
            c.start()
        nem = threading.Thread(target=run.nemesis, name="nemesis", daemon=True)
        nem.start()
        while nem.is_alive():
            nem.join(1)
        run.stop_workload.set()
        for c in clients:
            c.join(a.upload_timeout + 30)
        run.heal()
        run.log("healed; checking")
        res = run.check()
        run.stop_monitor.set()
        mon.join(10)
        terms = run.log_leaders()
        for i in range(1, a.nodes + 1):
            if run.max_fds[i] > MAX_FDS:
                run.violate(f"slot {i} had {run.max_fds[i]} open fds (bound {MAX_FDS})")
            if run.max_rss[i] > MAX_RSS_MIB:
                run.violate(f"slot {i} used {run.max_rss[i]} MiB RSS (bound {MAX_RSS_MIB})")
        ups = list(run.uploads.values())
        summary = {
            "seed": a.seed, "nodes": a.nodes, "duration_s": a.duration, "faults": dict(run.faults),
            "skipped_fault_kinds": run.skipped,
            "uploads": len(ups), "acknowledged": res.get("acked"), "lost": res.get("lost"),
            "wrong": res.get("wrong"), "listed": res.get("listed"),
            "indeterminate_listed": res.get("indeterminate_listed"),
            "answers": dict(Counter(str(u.get("status")) for u in ups)),
            "bytes_sent_mib": round(run.bytes_sent / (1 << 20), 1),
            "longest_without_leader_s": round(run.leaderless_max, 2),
            "leader_after_heal_s": res.get("leader_after_heal_s"), "served_after_heal_s": res.get("served_after_heal_s"),
            "terms_with_leader_in_logs": terms, "max_fds": dict(run.max_fds), "max_rss_mib": dict(run.max_rss),
            "exits": run.exits, "violations": run.violations,
        }
        with open(os.path.join(run.out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
        print(json.dumps(summary, indent=1, sort_keys=True))
        if run.violations:
            print(f"chaos: FAIL seed {a.seed}: {len(run.violations)} violation(s); history {run.out}/history.jsonl, "
                  f"node logs {run.out}/n*.log; reproduce the schedule with --seed {a.seed}", flush=True)
        else:
            print(f"chaos: PASS seed {a.seed}", flush=True)
            rc = 0
    finally:
        run.down()
        if rc == 0 and not a.keep:
            shutil.rmtree(run.out, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
