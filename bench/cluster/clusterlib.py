"""Shared helpers of the cluster benchmarks (standard library only).

Every benchmark runs real raftwc processes on 127.0.0.1 inside a private network namespace: a script
re-executes itself through tests/tools/in-netns.sh (ensure_netns) before it starts any node, so no
socket and no multicast datagram is ever opened in the host's namespace.
Node i: HTTP 127.0.0.1:(3000+i), RPC 127.0.0.1:(7000+i), multicast 239.0.0.1:10000 on lo
(the same layout as tests/integration/lib.sh).
"""
import glob
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IN_NETNS = os.path.join(REPO, "tests", "tools", "in-netns.sh")
NETNS_ENV = "RAFTWC_BENCH_IN_NETNS"


def ensure_netns():
    """Re-executes the current script inside a fresh private network namespace (once)."""
    if os.environ.get(NETNS_ENV) == "1":
        return
    env = dict(os.environ)
    env[NETNS_ENV] = "1"
    args = [IN_NETNS, sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:]
    os.execvpe(IN_NETNS, args, env)


def find_raftwc(explicit=None):
    cands = [explicit, os.environ.get("RAFTWC")]
    for d in ("build-clusterbench", "build-node", "build"):
        cands.append(os.path.join(REPO, d, "src", "headless", "raftwc"))
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("raftwc binary not found: build it or pass --raftwc / RAFTWC=")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    v = sorted(values)
    k = max(1, int(-(-p * len(v) // 100)))  # ceil(p/100 * n), at least 1
    return v[min(k, len(v)) - 1]


def summary(values):
    return {"n": len(values), "min": min(values), "median": statistics.median(values),
            "p99": percentile(values, 99), "max": max(values)}


class HttpPool:
    """One keep-alive HTTP connection per port (loopback); reconnects after an error."""

    def __init__(self, timeout=5.0):
        self.timeout = timeout
        self.conns = {}

    def request(self, port, method, path, body=None, headers=None, timeout=None):
        for attempt in (0, 1):
            conn = self.conns.get(port)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout or self.timeout)
                self.conns[port] = conn
            try:
                conn.request(method, path, body=body, headers=headers or {})
                r = conn.getresponse()
                data = r.read()
                return r.status, data
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conns.pop(port, None)
                if attempt == 1:
                    return None, b""
        return None, b""

    def get_json(self, port, path, timeout=None):
        status, data = self.request(port, "GET", path, timeout=timeout)
        if status != 200:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None

    def drop(self, port):
        c = self.conns.pop(port, None)
        if c:
            c.close()

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns.clear()


class Cluster:
    """N raftwc nodes on loopback (call inside the namespace). Cleans up on close()."""

    def __init__(self, raftwc, n=3, election="1000-2000", heartbeat=100, data_root=None, extra=None):
        self.raftwc = raftwc
        self.n = n
        self.election = election
        self.heartbeat = heartbeat
        self.extra = list(extra or [])
        self.root = tempfile.mkdtemp(prefix="raftwc-bench-", dir=data_root)
        self.key = os.path.join(self.root, "cluster.key")
        with open(self.key, "w") as f:
            f.write(os.urandom(32).hex())
        self.procs = {}
        self.http = HttpPool()

    def port(self, i):
        return 3000 + i

    def datadir(self, i):
        return os.path.join(self.root, "n%d" % i)

    def logpath(self, i):
        return os.path.join(self.root, "n%d.log" % i)

    def start(self, i):
        os.makedirs(self.datadir(i), exist_ok=True)
        args = [self.raftwc, "--data-dir", self.datadir(i), "--interface", "lo", "--advertise", "127.0.0.1",
                "--http", "127.0.0.1:%d" % self.port(i), "--rpc", "127.0.0.1:%d" % (7000 + i),
                "--cluster-key-file", self.key, "--election-timeout", self.election,
                "--heartbeat", str(self.heartbeat), "--discovery", "1500",
                "--bootstrap-expect", str(self.n)] + self.extra
        out = open(self.logpath(i), "ab")
        self.procs[i] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()

    def start_all(self):
        for i in range(1, self.n + 1):
            self.start(i)

    def kill(self, i):
        p = self.procs.pop(i)
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.http.drop(self.port(i))

    def pid(self, i):
        return self.procs[i].pid

    def running(self):
        return sorted(self.procs)

    def cluster(self, i, timeout=None):
        return self.http.get_json(self.port(i), "/api/cluster", timeout=timeout) or {}

    def leader_of(self, i):
        c = self.cluster(i)
        return (c.get("leader") or {}).get("id") or ""

    def index_of_id(self, node_id):
        for i in self.running():
            if self.cluster(i).get("id") == node_id:
                return i
        return None

    def agreed_leader(self, voters):
        """The leader every running node names, if that leader lists `voters` live voters; else None."""
        views = [self.leader_of(i) for i in self.running()]
        if not views or not views[0] or any(v != views[0] for v in views):
            return None
        li = self.index_of_id(views[0])
        if li is None:
            return None
        members = self.cluster(li).get("members") or []
        live = [m for m in members if m.get("alive") and m.get("voter")]
        return views[0] if len(live) == voters else None

    def wait_formed(self, voters, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in list(self.procs):
                if self.procs[i].poll() is not None:
                    self.fail("node %d exited with %s" % (i, self.procs[i].returncode))
            l = self.agreed_leader(voters)
            if l:
                return l
            time.sleep(0.05)
        self.fail("no agreed leader with %d live voters after %.0f s" % (voters, timeout))

    def vmhwm_kib(self, i):
        with open("/proc/%d/status" % self.pid(i)) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def fail(self, msg):
        sys.stderr.write("FAIL: %s\n" % msg)
        for i in range(1, self.n + 1):
            p = self.logpath(i)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    lines = f.readlines()[-30:]
                sys.stderr.write("--- n%d.log (last %d lines)\n%s" % (i, len(lines), "".join(lines)))
        self.close()
        sys.exit(1)

    def close(self, keep=False):
        self.http.close()
        for i in list(self.procs):
            p = self.procs.pop(i)
            p.send_signal(signal.SIGKILL)
            p.wait()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


WORDS = ("the of and to in a is that for it as was with be by on not he i this are or his from at which but "
         "have an they you were her she there had been one all we their has would when if so no more out up "
         "said what its about into than them can only other new some could time these two may then do first "
         "any my now such like our over man me even most made after also did many before must through back "
         "years where much your way well down should because each just those people mr how too little state "
         "good very make world still own see men work long get here between both life being under never day "
         "same another know while last might us great old year off come since against go came right used take "
         "three café naïve über straße").split()
SEPS = [" ", " ", " ", "\n", "  ", "\t", ", ", ". "]


def make_text(path, size, pool_blocks=16):
    """English-like text with the vocabulary and separator mix of make_text in tests/integration/lib.sh.
    For speed (100 MiB in seconds on a loaded machine) it generates `pool_blocks` distinct blocks of about
    1 MiB, each ending on a separator, and writes the file as a seeded random sequence of them; the last
    block is cut short, never inside a multi-byte character."""
    rng = random.Random(size)
    tokens = [(w + s).encode() for w in WORDS for s in SEPS]
    weights = [SEPS.count(s) for w in WORDS for s in SEPS]
    pool = [b"".join(rng.choices(tokens, weights, k=170000)) for _ in range(pool_blocks)]
    written = 0
    with open(path, "wb") as f:
        while written < size:
            block = rng.choice(pool)[: size - written]
            if written + len(block) >= size:
                while block and (block[-1] & 0xC0) == 0x80:
                    block = block[:-1]
                if block and block[-1] >= 0xC0:
                    block = block[:-1]
                f.write(block)
                break
            f.write(block)
            written += len(block)

def make_dense_text(path, size, vocabulary=50000, pool_blocks=16):
    """Issue 14's word-dense text: Zipf (s = 1) over `vocabulary` short tokens of 1-7 lower-case letters
    (seeded), one space between words and a newline every 16 (≈ 19 M words in 100 MiB), the same
    shape as `wordcount_bench --text dense`. Written from `pool_blocks` blocks of about 1 MiB like make_text."""
    rng = random.Random(size ^ 0x5EED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab, seen = [], set()
    while len(vocab) < vocabulary:
        w = "".join(rng.choices(letters, k=rng.randint(1, 7)))
        if w not in seen:
            seen.add(w)
            vocab.append(w)
    weights = [1.0 / (r + 1) for r in range(vocabulary)]
    pool = []
    for _ in range(pool_blocks):
        words = rng.choices(vocab, weights, k=190000)
        lines = [" ".join(words[i:i + 16]) for i in range(0, len(words), 16)]
        pool.append(("\n".join(lines) + "\n").encode())
    written = 0
    with open(path, "wb") as f:
        while written < size:
            block = rng.choice(pool)[: size - written]
            f.write(block)
            written += len(block)


def fs_type(path):
    """File system type of the mount holding path (from /proc/mounts), e.g. 'ext4' or 'tmpfs'."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, parts[2]
    return kind


def timed_threads(target, arg_tuples):
    """Runs target(*args) for each args on its own thread, all at once; returns the wall seconds."""
    threads = [threading.Thread(target=target, args=a) for a in arg_tuples]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def stream_file(path, send, block=1 << 20):
    """Calls send(bytes) with the file's contents in blocks (never the whole file in memory)."""
    with open(path, "rb") as f:
        while True:
            b = f.read(block)
            if not b:
                break
            send(b)


def plain_write_loop(directory, total_bytes, writers=1, block=1 << 20):
    """Reference: `writers` threads, each writing total_bytes/writers in `block`-byte write(2) calls to
    its own new file in `directory`, fdatasync(2) after every block. Returns wall seconds; removes files."""
    per = total_bytes // writers
    data = os.urandom(block)
    paths = [os.path.join(directory, "plain-%d-%d.bin" % (os.getpid(), w)) for w in range(writers)]
    errors = []

    def run(p):
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                done = 0
                while done < per:
                    n = os.write(fd, data[: min(block, per - done)])
                    os.fdatasync(fd)
                    done += n
            finally:
                os.close(fd)
        except OSError as e:
            errors.append(e)

    dt = timed_threads(run, [(p,) for p in paths])
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass
    if errors:
        raise errors[0]
    return dt


def dir_bytes(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(d, f))
            except OSError:
                pass
    return total


def proc_cpu_s(pid):
    """User + system CPU seconds of a process (all its threads) from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_note():
    """'load 1.23 on 2 CPUs': the machine's 1-minute load average, printed beside every result."""
    return "load %.2f on %d CPUs" % (os.getloadavg()[0], os.cpu_count() or 1)


def upload_and_watch(c, port, path, job_id, poll_s=0.01):
    """POSTs path with curl (X-Job-Id) while polling /api/jobs/{id}; returns a dict of phase timings."""
    out = path + ".answer"
    # -T streams the file (--data-binary @FILE reads all of it into memory before sending a byte).
    cmd = ["curl", "-sS", "--max-time", "600", "-H", "Expect:", "-H", "X-Filename: " + os.path.basename(path),
           "-H", "X-Job-Id: " + job_id, "-X", "POST", "-T", path, "-o", out, "-w", "%{http_code}",
           "http://127.0.0.1:%d/api/count" % port]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    samples = []  # (client seconds since t0, state, elapsedMs, storedBytes)
    poll = HttpPool(timeout=2.0)
    while p.poll() is None and time.monotonic() - t0 < 600:
        j = poll.get_json(port, "/api/jobs/" + job_id)
        if j:
            samples.append((time.monotonic() - t0, j.get("state"), j.get("elapsedMs"), j.get("storedBytes")))
        time.sleep(poll_s)
    code = p.communicate()[0].decode().strip()
    wall = time.monotonic() - t0
    poll.close()
    with open(out) as f:
        answer = f.read()
    os.unlink(out)
    if code != "200":
        c.fail("upload answered HTTP %s: %s" % (code, answer[:500]))
    res = json.loads(answer)
    storing = [s for s in samples if s[1] == "storing"]
    after = [s for s in samples if s[1] not in (None, "storing")]
    out = {"wall_s": wall, "result": res, "samples": len(samples), "body_received_s": None,
           "storing_ms_low": None, "storing_ms_high": None}
    if storing:  # client time when the node had the whole body (the job's clock starts there)
        out["body_received_s"] = storing[0][0] - storing[0][2] / 1000.0
        out["storing_ms_low"] = storing[-1][2]
    if storing and after:
        out["storing_ms_high"] = after[0][2]
    return out


def proc_run_delay_s(pid):
    """(main thread, all threads): seconds spent runnable but waiting for a CPU, from
    /proc/PID/task/*/schedstat (second field). The main thread runs the node's event loop (Raft, RPC,
    HTTP, fdatasync); threads that already exited are not counted."""
    main = total = 0
    for t in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            with open(t) as f:
                v = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += v
        if t == "/proc/%d/task/%d/schedstat" % (pid, pid):
            main = v
    return main / 1e9, total / 1e9


class ProcWatch:
    """CPU seconds and run-queue wait of every running node of a cluster between start() and stop()."""

    def __init__(self, c):
        self.c = c

    def _snap(self):
        return {i: (proc_cpu_s(self.c.pid(i)),) + proc_run_delay_s(self.c.pid(i)) for i in self.c.running()}

    def start(self):
        self.s0 = self._snap()
        self.t0 = time.monotonic()
        return self

    def stop(self):
        s1 = self._snap()
        self.wall = time.monotonic() - self.t0
        self.d = {i: tuple(b - a for a, b in zip(self.s0[i], s1[i])) for i in s1 if i in self.s0}
        return self

    def text(self, leader=None):
        return "; ".join("n%d%s cpu %.2f s, waited for a CPU %.2f s (event-loop thread %.2f s)"
                         % (i, " (leader)" if i == leader else "", v[0], v[2], v[1])
                         for i, v in sorted(self.d.items()))

    def as_dict(self):
        return {str(i): {"cpu_s": v[0], "runq_main_s": v[1], "runq_all_s": v[2]} for i, v in self.d.items()}
