#!/usr/bin/env python3
"""snapshot_stall.py: how long does a snapshot hold a peer's event loop?

Starts its own 3-peer cluster in a temporary directory (bin/raft_peer), fills VARS
distinct variables through the leader (pipelined `vN set N`, one connection, a window
of requests in flight, as fast as the cluster goes), then keeps writing for HOLD seconds
at a gentler pace (HOLD_WINDOW requests in flight), while one probe process
per peer sends it {"type":"status"} every 10 ms on its own connection. Prints, for
each peer and for the fill and the hold apart, the longest status round trip (and
when), the longest gap between two answers and the terms seen (every term change is
an election), each peer's resident memory, and the snapshot lines of every peer's
log. A stall of the event loop shows as a long round trip: the status
answer waits for the loop like everything else.

    python3 scripts/snapshot_stall.py --vars 340000 [--bin bin] [--threshold 10000]

Used for the figures in docs/PERFORMANCE.md ("Snapshots and the event loop").
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import multiprocessing


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Line:
    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, obj):
        self.s.sendall((json.dumps(obj) + "\n").encode())

    def recv(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)


def status(port):
    try:
        c = Line(port, 1.0)
        c.send({"type": "status"})
        return c.recv()
    except (OSError, ValueError, ConnectionError):
        return None


def find_leader(ports, deadline):
    while time.time() < deadline:
        for i, port in enumerate(ports):
            st = status(port)
            if st and st.get("role") == "leader":
                return i
        time.sleep(0.05)
    raise SystemExit("no leader")


def probe_loop(port, stop, out):
    """In its own process, so that the writer's CPU use cannot delay it (the GIL)."""
    samples = []  # (sent, answered, term, wall clock when sent)
    c = None
    while not stop.is_set():
        try:
            if c is None:
                c = Line(port, 10.0)
            t0, w0 = time.monotonic(), time.time()
            c.send({"type": "status"})
            st = c.recv()
            samples.append((t0, time.monotonic(), st.get("term", 0), w0))
        except (OSError, ValueError, ConnectionError):
            c = None
        time.sleep(0.01)
    out.send(samples)


class Probe:
    def __init__(self, port):
        self.stop = multiprocessing.Event()
        self.rx, tx = multiprocessing.Pipe(duplex=False)
        self.proc = multiprocessing.Process(target=probe_loop, args=(port, self.stop, tx),
                                            daemon=True)
        self.samples = []

    def start(self):
        self.proc.start()

    def finish(self):
        self.stop.set()
        self.samples = self.rx.recv()
        self.proc.join()

    def report(self, t_from, t_to):
        s = [x for x in self.samples if t_from <= x[0] <= t_to]
        if not s:
            return None
        worst = max(s, key=lambda x: x[1] - x[0])
        gap = max((b[1] - a[1] for a, b in zip(s, s[1:])), default=0.0)
        terms = sorted({x[2] for x in s})
        return {"answers": len(s), "max_rtt_ms": round((worst[1] - worst[0]) * 1000),
                "at": time.strftime("%H:%M:%S", time.gmtime(worst[3])) +
                      ".%03d" % (worst[3] % 1 * 1000),
                "max_gap_ms": round(gap * 1000), "terms": "%d-%d" % (terms[0], terms[-1])}


def pipeline(port, client, commands, window=256):
    """Sends commands with seqs 1..n keeping `window` in flight; returns those that
    failed (not_leader after an election), or all of them if the connection broke."""
    failed = []
    try:
        c = Line(port, 30.0)
        sent = done = 0
        n = len(commands)
        while done < n:
            while sent < n and sent - done < window:
                c.send({"type": "client_request", "client_id": client, "seq": sent + 1,
                        "command": commands[sent]})
                sent += 1
            r = c.recv()
            if not r.get("ok"):
                failed.append(commands[done])
            done += 1
    except (OSError, ValueError, ConnectionError):
        return commands  # unknown outcome: all of them again (set and add 0 are safe)
    return failed


class Writer:
    """Runs batches through whoever leads, resending what failed (idempotent commands)."""

    def __init__(self, ports):
        self.ports = ports
        self.batch = 0
        self.resent = 0

    def run(self, commands, window=256):
        while commands:
            leader = find_leader(self.ports, time.time() + 10)
            self.batch += 1
            left = pipeline(self.ports[leader], "w%d" % self.batch, commands, window)
            self.resent += len(left)
            commands = left


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vars", type=int, default=340000)
    ap.add_argument("--bin", default="bin")
    ap.add_argument("--threshold", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=30.0, help="seconds of writes after the fill")
    ap.add_argument("--hold-window", type=int, default=8,
                    help="requests in flight during the hold: a load that leaves the CPUs "
                         "some room, so that what the probes see is the snapshots, not a "
                         "saturated machine")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the peers

    d = tempfile.mkdtemp(prefix="snapstall-")
    ports = free_ports(3)
    with open(os.path.join(d, "raft.ini"), "w") as f:
        f.write("[raft]\nelection_timeout_min = 150\nelection_timeout_max = 300\n"
                "heartbeat_interval = 50\ndata_dir = %s/data\nlog_dir = %s/logs\n"
                "snapshot_threshold = %d\nlog_level = info\n" % (d, d, a.threshold))
        for i, p in enumerate(ports):
            f.write("[peer%d]\nhost = 127.0.0.1\nport = %d\n" % (i + 1, p))
    procs = [subprocess.Popen([os.path.join(a.bin, "raft_peer"), "peer%d" % (i + 1), "3",
                               "-c", os.path.join(d, "raft.ini")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i in range(3)]
    try:
        first_leader = find_leader(ports, time.time() + 10)
        probes = [Probe(port) for port in ports]
        for pr in probes:
            pr.start()
        w = Writer(ports)
        t0 = time.monotonic()
        cmds = ["v%d set %d" % (i, i) for i in range(a.vars)]
        for k in range(0, len(cmds), 20000):
            w.run(cmds[k:k + 20000])
        t1 = time.monotonic()
        while time.monotonic() < t1 + a.hold:
            w.run(["h add 0"] * 2000, a.hold_window)
        t2 = time.monotonic()
        time.sleep(0.5)
        for pr in probes:
            pr.finish()
        leader = find_leader(ports, time.time() + 10)
        st = status(ports[leader])
        out = {"hold_window": a.hold_window, "vars": a.vars, "binary": os.path.abspath(os.path.join(a.bin, "raft_peer")), "threshold": a.threshold, "resent": w.resent,
               "fill_s": round(t1 - t0, 1), "hold_s": round(t2 - t1, 1),
               "variables_now": st.get("variables") if st else None,
               "first_leader": "peer%d" % (first_leader + 1),
               "leader_now": "peer%d" % (leader + 1),
               "term_now": st.get("term") if st else None}
        for i, pr in enumerate(probes):
            out["peer%d" % (i + 1)] = {"fill": pr.report(t0, t1), "hold": pr.report(t1, t2)}
        for i, p in enumerate(procs):
            with open("/proc/%d/status" % p.pid) as f:
                rss = [l.split()[1] for l in f if l.startswith("VmRSS:")]
            out["peer%d" % (i + 1)]["rss_kb"] = int(rss[0]) if rss else None
        print(json.dumps(out, indent=1))
        worst = max(max(r["max_rtt_ms"] for r in (v["fill"], v["hold"]) if r)
                    for k, v in out.items() if k.startswith("peer"))
        print("summary: %d variables, longest status round trip %d ms on any peer, "
              "term 1 -> %s" % (a.vars, worst, out["term_now"]))
        for i in range(3):
            with open(os.path.join(d, "logs", "peer%d.log" % (i + 1))) as f:
                lines = [l.rstrip() for l in f if "log kept from index" in l or "becomes" in l]
            print("peer%d: %d snapshot lines, %d role changes; last lines:" % (
                i + 1, sum("log kept from index" in l for l in lines),
                sum("becomes" in l for l in lines)))
            for l in lines[-4:]:
                print("  " + l)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        if a.keep:
            print("kept", d)
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
