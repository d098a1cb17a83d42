#!/usr/bin/env python3
"""The bounded relay under attack: a real `msglog relay` on 127.0.0.1,
started with a small memory budget, against hostile peers spoken by hand
(wire.py), one scenario per attack of the hardening issue "Bounded relay":

  a  subscribers of every conversation (window 64, budget 4 MiB) that never
     read
  b  WANT of a whole conversation, repeated, never reading
  c  unfinished batches (frames with more=true that never end)
  d  a flood of 1-op batches: fairness, counted, and an honest sync's time

usage: test_attack_budget.py MSGLOG [--only a,b,c,d] [--keep]

Each scenario prints its figures (peak RSS: VmHWM of /proc/PID/status;
honest sync times) and asserts on bounds with a wide margin: the growth of
the relay's peak RSS during an attack stays under 4 times the budget, an
honest sync completes, and (d) the flood batches the relay commits during
an honest session are a small multiple of that session's own frames and
the session's commits come in turns among the flood's.
Nothing waits on a clock: every step waits for bytes (a HELLO, an ACK, an
ERROR, the answer to a marker) or a process exit; timeouts only bound hangs.
No random choices.

Environment: MSGLOG_ATTACK_FULL=1 runs the issue's sizes (a 16 MB
conversation, 50 subscribers, 30 WANT repeaters, 10 batches of 60 MiB);
MSGLOG_ATTACK_RELAY_ARGS (default "--memory-budget 16M") are the relay's
extra options: "" runs a relay with its default budget, or one that has no
such option (the bounds are still those of a 16 MiB budget);
MSGLOG_ATTACK_REPORT=1 prints a bound that does not hold instead of
failing, so that a relay without the protections can be measured (the
"before" figures of docs/reliability.md).
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from harness import Bg, Fail, check, parse_args, tail
import wire

HOST = "127.0.0.1"
FULL = os.environ.get("MSGLOG_ATTACK_FULL") == "1"
RELAY_ARGS = shlex.split(os.environ.get("MSGLOG_ATTACK_RELAY_ARGS", "--memory-budget 16M"))
REPORT = os.environ.get("MSGLOG_ATTACK_REPORT") == "1"
MiB = 1 << 20
HLC0 = 1700000000000 << 16
SEEDER = 30                      # the replica that wrote the big conversation


def budget_bytes():
    """The budget the bounds are taken from: the relay's --memory-budget."""
    if "--memory-budget" in RELAY_ARGS:
        v = RELAY_ARGS[RELAY_ARGS.index("--memory-budget") + 1]
        mult = {"K": 1 << 10, "M": MiB, "G": 1 << 30}.get(v[-1:].upper(), 1)
        return int(v.rstrip("kKmMgG")) * mult
    return 16 * MiB


def bound(cond, what):
    """A bound the relay must keep: a failure, or a line in report mode."""
    if not cond and REPORT:
        print("    NOT WITHIN THE BOUND: " + what, flush=True)
    elif not cond:
        raise Fail(what)


def hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise Fail("no VmHWM for pid %d" % pid)


class Tester:
    def __init__(self, msglog, root):
        self.msglog, self.root = msglog, root
        self.logdir = os.path.join(root, "logs")
        os.makedirs(self.logdir)
        self.bgs, self.n, self.replica = [], 0, 100

    def serial(self):
        self.n += 1
        return self.n

    def next_replica(self):
        self.replica += 1
        return self.replica

    def path(self, name):
        return os.path.join(self.root, name)

    def cli(self, *args, timeout=60):
        r = subprocess.run([self.msglog] + list(args), capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise Fail("msglog %s: exit %d\n%s" % (" ".join(args[:4]), r.returncode, tail(r.stderr)))
        return r

    def relay(self, name):
        b = Bg(self, "relay-" + name, [self.msglog, "relay", "--listen", "%s:0" % HOST,
                                       "--dir", self.path(name)] + RELAY_ARGS)
        return b, int(b.wait_line(r"^listening \S+:(\d+)$").group(1))

    def honest_sync(self, port, name, convs=(), expect=None, timeout=60):
        """A fresh device that writes one message to "chat" and syncs convs
        (none: every conversation, so it downloads all the relay holds).
        expect: {conv: messages it must then show}. @return the seconds the
        sync took; fails unless it exits 0."""
        d = self.path(name)
        self.cli("init", "--dir", d, "--replica", str(self.next_replica()), "--user", "dave")
        self.cli("send", "--dir", d, "chat", "hello from " + name)
        args = [self.msglog, "sync", "--connect", "%s:%d" % (HOST, port), "--dir", d,
                "--timeout", str(timeout)]
        for c in convs:
            args += ["--conv", c]
        t0 = time.monotonic()
        r = subprocess.run(args, capture_output=True, timeout=timeout + 30, stdin=subprocess.DEVNULL)
        dt = time.monotonic() - t0
        check(r.returncode == 0, "the honest sync %s exited %d after %.1fs\n%s"
              % (name, r.returncode, dt, tail(r.stderr)))
        for conv, count in (expect or {}).items():
            shown = len(json.loads(self.cli("show", "--dir", d, conv, "--json").stdout)["messages"])
            check(shown == count, "%s shows %d messages of %s, not %d" % (name, shown, conv, count))
        return dt

    def stop_all(self):
        for b in self.bgs:
            b.kill()
            b.p.wait()
        self.bgs = []


# --- hostile and helper peers ------------------------------------------------

def hello_reply(p):
    m = p.recv()
    check(m is not None and m[1] == wire.HELLO, "the relay did not answer HELLO: %r" % (m,))
    return m


def seed(port, conv, count, size):
    """Writes count messages of size bytes into conv at the relay, as
    replica SEEDER, and waits for every ACK."""
    p = wire.Peer(HOST, port)
    p.send(wire.hello(SEEDER, "carol"))
    hello_reply(p)
    body = "x" * size
    per_batch = max(1, (200 << 10) // size)
    batches = 0
    for first in range(1, count + 1, per_batch):
        ops = [wire.op_send(conv, SEEDER, s, HLC0 + s, "carol", body)
               for s in range(first, min(count, first + per_batch - 1) + 1)]
        batches += 1
        p.send(wire.batch(batches, conv, ops))
    acked = 0
    while acked < batches:
        m = p.recv()
        check(m is not None, "the relay closed while seeding")
        check(m[1] != wire.ERROR, "the relay refused the seed: %r" % (m,))
        acked += m[1] == wire.ACK
    p.close()


def prepared_relay(t, name, conv_msgs, body):
    """A relay holding `conv_msgs` messages in "big", after one honest
    device downloaded them all (so the store's pages and the relay's normal
    buffers are in its peak RSS before the attack). @return relay, port,
    the peak RSS in kB before the attack, and that sync's seconds (the
    honest sync on an idle relay)."""
    relay, port = t.relay(name)
    if conv_msgs:
        seed(port, "big", conv_msgs, body)
    idle = t.honest_sync(port, name + "-warm", expect={"big": conv_msgs} if conv_msgs else None)
    return relay, port, hwm_kb(relay.p.pid), idle


def check_peak(relay, rss0, what):
    """The growth of the relay's peak RSS stays under 4 budgets."""
    peak = hwm_kb(relay.p.pid)
    limit = 4 * budget_bytes() // 1024
    bound(peak - rss0 <= limit, "%s: the relay's peak RSS grew by %d kB (from %d to %d), over %d kB "
          "(4 x the budget)" % (what, peak - rss0, rss0, peak, limit))
    return peak


def honest_under_attack(t, relay, port, rss0, peers, name, what, expect):
    """An honest sync while the hostile peers are connected, then the check
    of the relay's peak RSS. @return the sync's seconds and the peak."""
    dt = t.honest_sync(port, name, expect=expect)
    peak = check_peak(relay, rss0, what)
    for p in peers:
        p.close()
    relay.stop()
    return dt, peak


def figures(rss0, peak, idle, honest, **more):
    f = {"peak RSS before the attack": "%.1f MB" % (rss0 / 1024),
         "peak RSS after": "%.1f MB (+%.1f MB; budget %.0f MiB)" % (peak / 1024, (peak - rss0) / 1024,
                                                                   budget_bytes() / MiB),
         "honest sync, idle relay / under the attack": "%.2fs / %.2fs" % (idle, honest)}
    f.update(more)
    return f


# --- a: subscribers that never read -----------------------------------------

def scenario_a(t):
    msgs, body, subs = (4000, 4000, 50) if FULL else (1000, 4000, 50)
    relay, port, rss0, idle = prepared_relay(t, "a-relay", msgs, body)
    peers = []
    for i in range(subs):
        p = wire.Peer(HOST, port)
        p.send(wire.hello(1000 + i, "sub%d" % i, all_convs=True, budget=4 * MiB, window=64))
        # The relay queues its HELLO before it streams: once it is read, the
        # relay has done what it does for this subscriber on its own.
        hello_reply(p)
        peers.append(p)
    dt, peak = honest_under_attack(t, relay, port, rss0, peers, "a-honest",
                                   "%d subscribers that never read" % subs, {"big": msgs})
    return figures(rss0, peak, idle, dt,
                   subscribers="%d of a %.1f MB conversation" % (subs, msgs * body / 1e6))


# --- b: WANT repeaters ---------------------------------------------------------

def scenario_b(t):
    msgs, body, conns, wants = (4000, 4000, 30, 8) if FULL else (1000, 4000, 10, 4)
    relay, port, rss0, idle = prepared_relay(t, "b-relay", msgs, body)
    ids = [(SEEDER, s) for s in range(1, msgs + 1)]
    peers = []
    for i in range(conns):
        p = wire.Peer(HOST, port)
        # It holds the whole conversation already (nothing is streamed to
        # it) and asks for all of it again, `wants` times, reading nothing.
        p.send(wire.hello(2000 + i, "want%d" % i, convs=[("big", [(SEEDER, msgs)], None)]))
        hello_reply(p)
        p.send_raw(b"".join(wire.frame(wire.want("big", ids)) for _ in range(wants)))
        peers.append(p)
    # The WANTs were in the relay's socket before this device connected.
    dt, peak = honest_under_attack(t, relay, port, rss0, peers, "b-honest",
                                   "%d connections repeating WANT" % conns, {"big": msgs})
    return figures(rss0, peak, idle, dt, repeaters="%d x %d WANTs of a %.1f MB conversation"
                   % (conns, wants, msgs * body / 1e6))


# --- c: unfinished batches -----------------------------------------------------

def stage_and_mark(p, total, result):
    """Sends frames of batch 1 with more=true, `total` op bytes in all, then
    a WANT: a relay that staged everything answers it (an empty BATCH and
    an empty REPAIR), one that refused the batch has sent ERROR."""
    op = b"\x01" * (60 << 10)
    frame = wire.frame(wire.batch(1, "stage", [op] * 16, more=True))
    try:
        for _ in range(0, total, 16 * len(op)):
            p.send_raw(frame)
        p.send(wire.want("stage", [(1, 1)]))
    except OSError as e:
        result["send"] = str(e)


def scenario_c(t):
    conns, total = (10, 60 * MiB) if FULL else (10, 12 * MiB)
    relay, port, rss0, idle = prepared_relay(t, "c-relay", 0, 0)
    peers, results, threads = [], [], []
    for i in range(conns):
        p = wire.Peer(HOST, port)
        p.send(wire.hello(3000 + i, "stager%d" % i))
        hello_reply(p)
        peers.append(p)
        results.append({})
    for p, res in zip(peers, results):
        th = threading.Thread(target=stage_and_mark, args=(p, total, res), daemon=True)
        th.start()
        threads.append(th)
    outcomes = []
    for p in peers:
        while True:   # until ERROR or the marker's REPAIR
            m = p.recv()
            if m is None or m[1] in (wire.ERROR, wire.REPAIR):
                break
        outcomes.append(m)
    for th in threads:
        th.join(60)
    peak = check_peak(relay, rss0, "%d unfinished batches of %d MiB" % (conns, total // MiB))
    limits = sum(1 for m in outcomes if m is not None and m[1] == wire.ERROR and m[2] == 4)
    held = sum(1 for m in outcomes if m is not None and m[1] == wire.REPAIR)
    bound(limits + held == conns, "stagers ended otherwise: %r" % [m and m[:3] for m in outcomes])
    reason = next((m[3].decode() for m in outcomes if m is not None and m[1] == wire.ERROR), "")
    dt = t.honest_sync(port, "c-honest")
    for p in peers:
        p.close()
    relay.stop()
    return figures(rss0, peak, idle, dt, stagers="%d x %d MiB: %d closed with ERROR limit, %d held"
                   % (conns, total // MiB, limits, held), reason=reason)


# --- d: a flood of 1-op batches ----------------------------------------------

class Flooder:
    """Sends `count` 1-op batches of conv "flood" as fast as the relay
    takes them, and reads what the relay sends in a thread (so the budget
    never slows it: what is tested is the loop's fairness). `sent` counts
    the batches written so far, under `lock`: what another writer does
    while holding it comes after those and before the rest. It lists "hon"
    in its HELLO: the honest device's commits of it come to this connection
    among the flood's ACKs, in the relay's order (`seen`), and the device's
    one op of "flood" comes last (`other_flood`)."""

    def __init__(self, port, replica, count):
        self.p = wire.Peer(HOST, port)
        self.replica, self.count = replica, count
        self.acked, self.other_flood = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.seen = []    # ("ack" or "batch", conv)
        # Budget 64 KiB: its window stays 64 (16 MiB in flight at most).
        self.p.send(wire.hello(replica, "mallory", convs=[("hon", [], None)], budget=64 << 10,
                               window=64))
        hello_reply(self.p)
        threading.Thread(target=self.read, daemon=True).start()
        threading.Thread(target=self.send, daemon=True).start()

    def send(self):
        try:
            for first in range(1, self.count + 1, 512):
                last = min(self.count, first + 511)
                chunk = b"".join(wire.frame(wire.batch(k, "flood", [
                    wire.op_send("flood", self.replica, k, HLC0 + k, "mallory", "x")]))
                    for k in range(first, last + 1))
                with self.lock:
                    self.p.send_raw(chunk)
                    self.sent = last
        except OSError:
            pass

    def read(self):
        try:
            while True:
                m = self.p.recv()
                if m is None:
                    return
                if m[1] == wire.ACK:
                    self.seen.append(("ack", m[3]))
                    self.acked.set()
                elif m[1] == wire.BATCH:
                    self.seen.append(("batch", m[3]))
                    if m[3] == b"flood":       # its own ops are never echoed
                        self.other_flood.set()
        except (OSError, ValueError):
            return

    def wait_acked(self):
        check(self.acked.wait(60), "the relay acknowledged none of the flood")

    def interleaving(self, conv):
        """After other_flood: how many batches of conv this connection was
        sent, and how many flood ACKs came between the first and the last."""
        check(self.other_flood.wait(60), "the honest device's op of the flood never came")
        at = [i for i, (kind, c) in enumerate(self.seen) if kind == "batch" and c == conv]
        if not at:
            return 0, 0
        return len(at), sum(1 for kind, c in self.seen[at[0]:at[-1]] if kind == "ack")

    def close(self):
        self.p.close()


def honest_frames(uploads, ops_per_batch, body):
    """A device's (replica 20) HELLO, `uploads` batches of conv "hon" and a
    last batch of one op of "flood": a few tens of KB, which the relay's
    socket takes at once. Its HELLO lists "flood" with window 1 and budget
    1 (one op of it streamed, never acknowledged): the relay's HELLO then
    carries its vector of "flood", and so does the ACK of the last batch."""
    out = [wire.frame(wire.hello(20, "bob", convs=[("flood", [], None)], budget=1, window=1))]
    seq = 0
    for b in range(1, uploads + 1):
        ops = []
        for _ in range(ops_per_batch):
            seq += 1
            ops.append(wire.op_send("hon", 20, seq, HLC0 + seq, "bob", "b" * body))
        out.append(wire.frame(wire.batch(b, "hon", ops)))
    out.append(wire.frame(wire.batch(uploads + 1, "flood",
                                     [wire.op_send("flood", 20, 1, HLC0, "bob", "end")])))
    return out


def honest_session(port, flooder, frames):
    """Writes the device's frames while the flooder's writer waits, once the
    relay has committed some of the flood, and reads until the ACK of the
    last one. @return the flood batches written before the device's
    frames, and the flood's count in the relay's HELLO and in that last
    ACK, both taken by the relay, in its order. No flood batch written
    after the device's frames can be committed before they were written, so
    the count at the end less those written before is what the relay let
    the flood do while the session waited, whatever the scheduling of the
    processes."""
    p = wire.Peer(HOST, port, timeout=120)
    flooder.wait_acked()
    with flooder.lock:
        written = flooder.sent
        p.send_raw(b"".join(frames))
    h = hello_reply(p)
    flood = [c for c in h[7] if c[0] == b"flood"]
    at_hello = wire.vv_of(flood[0][1], 40) if flood else 0
    while True:
        m = p.recv()
        check(m is not None and m[1] != wire.ERROR, "the honest session ended: %r" % (m,))
        if m[1] == wire.ACK and m[2] == len(frames) - 1:
            at_end = wire.vv_of(m[5], 40)
            break
    p.close()
    return written, at_hello, at_end


def scenario_d(t):
    flood, uploads = 20000, 16
    relay, port = t.relay("d-relay")
    # A device syncing a conversation of its own: first on the idle relay,
    # at the end beside a flooder.
    idle = t.honest_sync(port, "d-idle", convs=["chat"], expect={"chat": 1})
    frames = honest_frames(uploads, 2, 1000)
    f = Flooder(port, 40, flood)
    written, at_hello, at_end = honest_session(port, f, frames)
    fanouts, interleaved = f.interleaving(b"hon")
    f.close()
    during, after = at_end - at_hello, max(0, at_end - written)
    allowed = 4 * len(frames) + 16
    print("    an honest session of %d frames: %d flood batches committed between its HELLO and its "
          "end, %d of them written after its frames; its %d batches reached the flooder in %d "
          "fan-outs, %d flood ACKs among them" % (len(frames), during, after, uploads, fanouts,
                                                 interleaved), flush=True)
    bound(during <= allowed, "the relay committed %d flood batches during an honest session of %d "
          "frames (at most %d allowed)" % (during, len(frames), allowed))
    bound(after <= allowed, "the relay committed %d flood batches written after an honest session's "
          "%d frames before it ended (at most %d allowed)" % (after, len(frames), allowed))
    # One commit per turn: the device's batches go in turns among the
    # flood's, not all at once.
    bound(fanouts >= uploads // 2 and interleaved >= uploads // 4, "the device's %d batches were "
          "committed in %d runs with %d flood commits among them: not in turns"
          % (uploads, fanouts, interleaved))
    f2 = Flooder(port, 41, flood)
    f2.wait_acked()
    flooded = t.honest_sync(port, "d-flooded", convs=["chat"], expect={"chat": 2})
    f2.close()
    relay.stop()
    return {"flood batches committed during an honest session": "%d, for its %d frames"
            % (during, len(frames)),
            "its batches among the flood's": "%d fan-outs, %d flood ACKs among them"
            % (fanouts, interleaved),
            "honest sync, idle relay": "%.2fs" % idle,
            "honest sync, under a flood": "%.2fs" % flooded}


SCENARIOS = [("a", scenario_a), ("b", scenario_b), ("c", scenario_c), ("d", scenario_d)]


def main(argv):
    args, only, keep = parse_args(argv)
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = tempfile.mkdtemp(prefix="msglog-attack-")
    t = Tester(os.path.abspath(args[0]), root)
    print("test_attack_budget: relay options %r, %s sizes" % (RELAY_ARGS, "full" if FULL else "default"),
          flush=True)
    failed, t_all = [], time.monotonic()
    for name, fn in SCENARIOS:
        if only and name not in only:
            continue
        t0 = time.monotonic()
        print("scenario %s ..." % name, flush=True)
        try:
            figs = fn(t)
            print("scenario %s: %s in %.1fs" % (name, "measured" if REPORT else "ok",
                                                 time.monotonic() - t0))
            for k, v in figs.items():
                print("    %s: %s" % (k, v))
        except (Fail, OSError, subprocess.TimeoutExpired) as e:
            failed.append(name)
            print("scenario %s: FAILED after %.1fs: %s" % (name, time.monotonic() - t0, e))
            for b in t.bgs:
                print("    --- %s, stderr:" % b.name)
                print(tail(b.text(b.err)))
        finally:
            t.stop_all()
        sys.stdout.flush()
    if keep or failed:
        print("test_attack_budget: stores and logs kept in %s" % root)
    else:
        shutil.rmtree(root, ignore_errors=True)
    print("test_attack_budget: %s in %.1fs" % ("FAILED: " + ",".join(failed) if failed else "all passed",
                                              time.monotonic() - t_all))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
