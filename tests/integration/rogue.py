#!/usr/bin/env python3
"""A rogue host on the cluster's network without the cluster key: garbage and forged datagrams to the
multicast group, forged and garbage TCP frames to every RPC port, malformed HTTP. Bounded: a fixed number
of packets, loopback only (run inside the test's private network namespace)."""
import os, random, socket, struct, sys, time

rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
rpc_ports = [int(p) for p in sys.argv[2].split(",")] if len(sys.argv) > 2 else []
http_ports = [int(p) for p in sys.argv[3].split(",")] if len(sys.argv) > 3 else []
GROUP = ("239.0.0.1", 10000)

def frame(kind, payload, open_mode=False, sender=None, seq=1, ts=None):
    sender = sender if sender is not None else rng.getrandbits(64)
    ts = int(time.time() * 1000) if ts is None else ts
    hdr = b"RWC1" + struct.pack(">BBHQQQqI", 3, kind, 1 if open_mode else 0, sender, rng.getrandbits(64), seq, ts, len(payload))
    mac = bytes(32) if open_mode else os.urandom(32)
    return hdr + payload + mac

def announce_payload(term):
    # term u64, leader u64, rpc, http, commit u64, cluster, configVersion u64, members u32 (strings: u32 len + bytes)
    s = lambda b: struct.pack(">I", len(b)) + b
    return struct.pack(">QQ", term, 0xDEADBEEF) + s(b"127.0.0.1:6666") + s(b"127.0.0.1:6667") + struct.pack(">Q", 10**9) + s(b"evil") + struct.pack(">QI", 1, 1)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
sent = 0
for i in range(400):
    kind = rng.choice([1, 2, 3, 16, 99])
    choice = i % 5
    if choice == 0:
        pkt = os.urandom(rng.randrange(0, 1400))                         # garbage
    elif choice == 1:
        pkt = frame(2, announce_payload(10**6 + i))                     # forged announce, huge term, bad mac
    elif choice == 2:
        pkt = frame(2, announce_payload(10**6 + i), open_mode=True)     # unauthenticated announce
    elif choice == 3:
        pkt = frame(kind, os.urandom(rng.randrange(0, 200)))[: rng.randrange(1, 120)]  # truncated
    else:
        pkt = frame(kind, os.urandom(64), ts=0)                         # stale
    u.sendto(pkt, GROUP); sent += 1

for port in rpc_ports:
    for i in range(20):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            if i % 3 == 0:
                c.sendall(os.urandom(rng.randrange(1, 4096)))
            elif i % 3 == 1:
                # forged raft frame: claims a huge term, random mac
                c.sendall(frame(16, os.urandom(100)))
            else:
                c.sendall(frame(16, os.urandom(100), open_mode=True))
            c.close()
        except OSError:
            pass

for port in http_ports:
    for junk in [b"\x00\x01garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"POST /api/count HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n"]:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            c.sendall(junk)
            c.settimeout(2)
            try: c.recv(4096)
            except OSError: pass
            c.close()
        except OSError:
            pass
print(f"rogue: sent {sent} datagrams, {20*len(rpc_ports)} TCP connections, {3*len(http_ports)} HTTP junk requests")
