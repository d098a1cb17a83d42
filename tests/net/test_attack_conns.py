#!/usr/bin/env python3
"""Connection limits of the relay against a hostile peer, with real processes
on 127.0.0.1 (see tests/net/README.md, "test_attack_conns.py").

usage: test_attack_conns.py MSGLOG [--only idle,...] [--keep] [--baseline]

The attacker is this script, speaking the session protocol by hand
(wire.py) from other loopback addresses (127.0.0.2 and up), so that the
honest devices (the msglog CLI, from 127.0.0.1) are another address to the
relay. Each scenario prints one line with its figures, among them the
relay's peak RSS (VmHWM) and the honest syncs' times. Nothing waits on a
clock: events are placed by bytes and printed lines, and every wait has a
generous upper bound against hangs only.

--baseline runs the scenarios flood and hello only, which need no relay
option, and notes instead of failing where a protection is missing: for the
before figures of docs/reliability.md, against a build without them.

Environment: MSGLOG_NET_SEED seeds the random choices (printed);
MSGLOG_ATTACK_CONNS (200) connections for flood, from MSGLOG_ATTACK_ADDRS
(1) addresses, MSGLOG_ATTACK_HELLO_CONVS
(1000) conversations per HELLO for hello, MSGLOG_ATTACK_IDLE_PEERS (8) for
idle.
"""
import os
import sys
import tempfile
import time

from harness import Fail, check, env_int, parse_args, run_all, seed_of
from test_net import Tester, rss_kb, wait_for
import wire

HOST = "127.0.0.1"
ATTACKER = "127.0.0.2"
CONV = "team"
HANG = 60   # seconds: the bound of any wait, against a hang, never a placement
LIMIT = 4   # ERROR limit


def finish(relay, peers, f):
    """The figures f with the relay's peak RSS; the peers closed, the relay
    stopped."""
    f["relay peak RSS"] = "%d kB" % rss_kb(relay.p.pid, "VmHWM")
    for p in peers:
        p.close()
    relay.stop()
    return f


def timed_sync(t, d, port):
    t0 = time.monotonic()
    t.sync_ok(d, port)
    return time.monotonic() - t0


def protected(t, cond, what):
    """A check that a protection holds: with --baseline only noted (in
    t.notes, printed with the figures)."""
    if not cond and t.baseline:
        t.notes.append(what)
        return
    check(cond, what)


def baseline_figures(t, f):
    """f with what --baseline noted, emptied for the next scenario."""
    for i, note in enumerate(t.notes):
        f["without the protection (%d)" % (i + 1)] = note
    t.notes = []
    return f


def hello_peer(port, replica, user="mallory", convs=(), source=ATTACKER):
    """A connection that sent HELLO and got the relay's HELLO back."""
    p = wire.Peer(HOST, port, timeout=HANG, source=source)
    p.send(wire.hello(replica, user, convs))
    m = p.recv()
    check(m is not None and m[1] == wire.HELLO, "no HELLO from the relay: %r" % (m,))
    return p


def expect_limit(p, why):
    """p is ended by the relay with ERROR limit whose reason matches why."""
    try:
        code, reason = p.error_then_eof()
    except (OSError, ValueError) as e:
        raise Fail("expected ERROR limit (%s): %s" % (why, e))
    check(code == LIMIT and why in reason, "ERROR %d %r, expected limit (%s)" % (code, reason, why))
    p.close()


# --- idle: the timeouts, and keep-alives -------------------------------------

def scenario_idle(t):
    """Connections that go quiet, before or after HELLO, are closed by the
    timeouts; a watching device's keep-alives keep it connected."""
    a, b = t.path("idle-alice"), t.path("idle-bob")
    t.init(a, 10, "alice")
    t.init(b, 20, "bob")
    n = env_int("MSGLOG_ATTACK_IDLE_PEERS", 8)
    relay, port = t.relay(t.path("idle-relay"), extra=[
        "--hello-timeout", "2", "--idle-timeout", "2", "--max-conns-per-addr", str(2 * n)])
    watch = t.start_sync(a, port, watch=True, extra=["--keepalive", "0.05"])
    watch.wait_line(r"^up to date$", HANG, stderr=True)
    after = [hello_peer(port, 1000 + i) for i in range(n)]
    before = [wire.Peer(HOST, port, timeout=HANG, source=ATTACKER) for _ in range(n)]
    t0 = time.monotonic()
    for p in after:
        expect_limit(p, "idle")
    for p in before:
        expect_limit(p, "no HELLO")
    closed = time.monotonic() - t0
    # The watcher was quiet all along but for its keep-alives: had the relay
    # dropped it (it was older than every attacker), it would have printed
    # "backing off" before it could take bob's message.
    mid = t.send(b, "bob", CONV, "while alice watches")
    secs = timed_sync(t, b, port)
    wait_for(t, a, CONV, mid, HANG)
    err = watch.text(watch.err)
    check(err.count("connecting to") == 1 and "backing off" not in err,
          "the watching device was disconnected:\n" + err)
    watch.stop()
    return finish(relay, [], {
        "quiet connections closed": "%d after HELLO, %d before, within %.1fs of the last "
                                    "connect (timeouts 2 s)" % (n, n, closed),
        "honest sync": "%.3fs; the watcher stayed connected (keep-alive 0.05 s)" % secs})


# --- caps: connections per address ------------------------------------------

def bob_with_a_message(t, name):
    """Bob's store, holding one message of CONV not yet synced."""
    b = t.path(name)
    t.init(b, 20, "bob")
    t.send(b, "bob", CONV, "hello")
    return b


def served(p, batch_no, conv, replica):
    """p is still served: a batch of one op into conv is acknowledged."""
    op = wire.op_send(conv, replica, 1, 1 << 16, "mallory", "still here")
    p.send(wire.batch(batch_no, conv, [op]))
    m = p.recv_type(wire.ACK)
    check(m is not None and m[2] == batch_no, "batch %d not acknowledged: %r" % (batch_no, m))


def scenario_caps(t):
    """One address holds at most its cap: the newest connection beyond it is
    refused with ERROR limit, the ones it holds are still served, a slot
    freed is taken again, and a device from another address syncs."""
    cap = 4
    b = bob_with_a_message(t, "caps-bob")
    relay, port = t.relay(t.path("caps-relay"), extra=["--max-conns-per-addr", str(cap)])
    held = [hello_peer(port, 2000 + i) for i in range(cap)]
    why = "too many connections from %s (at most %d)" % (ATTACKER, cap)
    for i in range(3):
        expect_limit(wire.Peer(HOST, port, timeout=HANG, source=ATTACKER), why)
    late = wire.Peer(HOST, port, timeout=HANG, source=ATTACKER)
    late.send(wire.hello(2100, "mallory"))      # its HELLO is dropped, the ERROR still read
    expect_limit(late, why)
    secs = timed_sync(t, b, port)
    for i, p in enumerate(held):
        served(p, 1, "m-%d" % i, 2000 + i)
    # A connection the relay ends gives its slot back before its ERROR is sent.
    held[0].send_raw(b"\x00\x00\x00\x01\xc1")
    check(held[0].recv_type(wire.ERROR) is not None, "no ERROR for a corrupt frame")
    held[0] = hello_peer(port, 2200)
    return finish(relay, held, {
        "per address": "%d served from %s, the next 4 refused with ERROR limit" % (cap, ATTACKER),
        "honest sync from %s" % HOST: "%.3fs" % secs})


def attacker_addr(i, addrs):
    """The i-th connection's address: 127.0.0.2 and up, round robin over
    `addrs` addresses (127.0.0.1 is the honest devices')."""
    k = 2 + i % addrs
    return "127.0.%d.%d" % (k // 256, k % 256)


def open_flood(port, n, addrs):
    """n connections that send HELLO, in turn from `addrs` addresses: those
    answered with HELLO (held open), and how many were refused with ERROR
    limit or closed without a word (before the caps)."""
    held, refused, silent = [], 0, 0
    for i in range(n):
        p = wire.Peer(HOST, port, timeout=HANG, source=attacker_addr(i, addrs))
        p.send(wire.hello(3000 + i, "mallory"))
        try:
            m = p.recv()
        except ConnectionResetError:
            m = None
        if m is not None and m[1] == wire.HELLO:
            held.append(p)
            continue
        check(m is None or (m[1] == wire.ERROR and m[2] == LIMIT),
              "connection %d: neither HELLO nor ERROR limit: %r" % (i, m))
        refused, silent = refused + (m is not None), silent + (m is None)
        p.close()
    return held, refused, silent


def scenario_flood(t):
    """Many connections after HELLO against a relay with the default
    limits: from one address it serves max_conns_per_addr (64) of them; from
    many, the pool fills and still lets an honest device in (it takes the
    place of an attacker's); either way the honest device syncs."""
    n, addrs = env_int("MSGLOG_ATTACK_CONNS", 200), env_int("MSGLOG_ATTACK_ADDRS", 1)
    b = bob_with_a_message(t, "flood-bob")
    relay, port = t.relay(t.path("flood-relay"))
    t0 = time.monotonic()
    held, refused, silent = open_flood(port, n, addrs)
    attack, t0 = time.monotonic() - t0, time.monotonic()
    rc = t.sync(b, port)
    secs = time.monotonic() - t0
    protected(t, rc == 0, "the honest sync exited %d" % rc)
    if addrs == 1:
        protected(t, len(held) == min(n, 64), "%d of %d connections served" % (len(held), n))
    protected(t, silent == 0, "%d connections closed without an ERROR" % silent)
    return finish(relay, held, baseline_figures(t, {
        "connections after HELLO from %d address%s" % (addrs, "" if addrs == 1 else "es"):
            "%d tried in %.1fs: %d answered, %d refused with ERROR limit, %d closed silently"
            % (n, attack, len(held), refused, silent),
        "honest sync from %s meanwhile" % HOST: "exit %d in %.3fs" % (rc, secs)}))


# --- full: the overall cap --------------------------------------------------

def scenario_full(t):
    """Attackers from a few addresses hold every connection the relay serves:
    a connection from an address holding at least two fewer than the
    busiest takes the place of the busiest's most idle one, so a device
    from a new address still gets in; one from an address holding as many
    is refused."""
    b = bob_with_a_message(t, "full-bob")
    relay, port = t.relay(t.path("full-relay"), extra=["--max-conns", "6", "--max-conns-per-addr", "4"])
    a = [hello_peer(port, 4000 + i, source="127.0.0.2") for i in range(4)]
    c = [hello_peer(port, 4100 + i, source="127.0.0.3") for i in range(2)]
    d = hello_peer(port, 4200, source="127.0.0.4")     # full: makes room
    secs = timed_sync(t, b, port)                      # full again: makes room
    for p in a[:2]:
        expect_limit(p, "full")
    for i, p in enumerate(a[2:] + c + [d]):
        served(p, 1, "m-%d" % i, 4300 + i)
    # Bob's connection ended before his sync did: one place is free.
    e = hello_peer(port, 4400, source="127.0.0.5")
    expect_limit(wire.Peer(HOST, port, timeout=HANG, source="127.0.0.3"), "the relay is full")
    return finish(relay, a[2:] + c + [d, e], {
        "6 connections held by 127.0.0.2 (4) and 127.0.0.3 (2)":
            "127.0.0.4 got in, then bob from %s in %.3fs, each in the place of the most idle of "
            "127.0.0.2; a third from 127.0.0.3 refused" % (HOST, secs)})


# --- hello: conversations named, not held -------------------------------------

def statuses(p, convs):
    """The members of the STATUS of each of convs that p receives next
    (other messages skipped)."""
    members = {}
    while len(members) < len(convs):
        m = p.recv_type(wire.STATUS)
        check(m is not None, "the relay ended the connection before every STATUS")
        if m[2].decode() in convs:
            members[m[2].decode()] = sorted(u.decode() for u in m[5])
    return members


def relay_holds_text(hello_answer):
    held = [c[0].decode() for c in hello_answer[7]]
    return "the relay answers the last HELLO with %d conversation%s held: %s" % (
        len(held), "" if len(held) == 1 else "s", ", ".join(held[:3]) + (
            ", ..." if len(held) > 3 else ""))


def data_size(d):
    return os.path.getsize(os.path.join(d, "data.mdb"))


def scenario_hello(t):
    """Ten HELLOs naming many conversations the relay does not hold (and the
    one it holds) store the ten devices and their ten subscriptions to what
    the relay holds, nothing for the rest: data.mdb stays about as small."""
    n, k = env_int("MSGLOG_ATTACK_HELLO_CONVS", 1000), 10
    r, b = t.path("hello-relay"), bob_with_a_message(t, "hello-bob")
    relay, port = t.relay(r)
    t.sync_ok(b, port)
    before, t0 = data_size(r), time.monotonic()
    for i in range(k):
        names = sorted(["x%d-%06d" % (i, j) for j in range(n - 1)] + [CONV])
        p = wire.Peer(HOST, port, timeout=HANG, source=ATTACKER)
        p.send(wire.hello(5000 + i, "mallory", [(c, (), None) for c in names]))
        m = p.recv()      # sent after the HELLO's commit
        check(m is not None and m[1] == wire.HELLO, "no HELLO for HELLO %d: %r" % (i, m and m[:4]))
        protected(t, [c[0] for c in m[7]] == [CONV.encode()], "the relay holds %d of the %d named"
                  % (len(m[7]), len(names)))
        p.close()
    attack, after = time.monotonic() - t0, data_size(r)
    probe = hello_peer(port, 20, "bob", [(CONV, (), None), ("x3-000005", (), None)], source=HOST)
    members = statuses(probe, ["x3-000005", CONV])
    check(members[CONV] == ["mallory"], "members of %s for bob: %s" % (CONV, members[CONV]))
    protected(t, members["x3-000005"] == [], "mallory is a member of x3-000005, only named")
    protected(t, after - before <= 256 << 10, "data.mdb grew by %d KiB" % ((after - before) >> 10))
    return finish(relay, [probe], baseline_figures(t, {
        "%d HELLOs naming %d conversations each" % (k, n):
            "%.1fs; data.mdb %d KiB before, %d KiB after (%s)" % (
                attack, before >> 10, after >> 10, relay_holds_text(m))}))


# --- subs: subscriptions per device, devices ------------------------------------

def scenario_subs(t):
    """A device subscribes to a conversation by writing into it, up to its
    cap: the batch past it is refused before it commits, and so is a HELLO
    listing more; new devices past the cap of device records are refused,
    known ones still sync."""
    r, b = t.path("subs-relay"), bob_with_a_message(t, "subs-bob")
    relay, port = t.relay(r, extra=["--max-subs", "3", "--max-devices", "4"])
    t.sync_ok(b, port)                                   # device 1 of 4: bob
    p = hello_peer(port, 6000)                           # 2
    for i in range(3):
        served(p, i + 1, "w-%d" % i, 6000)
    p.send(wire.batch(4, "w-3", [wire.op_send("w-3", 6000, 1, 1 << 16, "mallory", "one more")]))
    expect_limit(p, "device 6000 has 3 subscriptions (at most 3)")
    q = wire.Peer(HOST, port, timeout=HANG, source=ATTACKER)
    q.send(wire.hello(6001, "mallory", [("v-%d" % i, (), None) for i in range(4)]))
    expect_limit(q, "a HELLO listing 4 conversations")
    held = [hello_peer(port, 6002), hello_peer(port, 6003)]          # 3, 4
    q = wire.Peer(HOST, port, timeout=HANG, source=ATTACKER)
    q.send(wire.hello(6004, "mallory"))
    expect_limit(q, "the relay keeps 4 devices (at most 4)")
    t.send(b, "bob", CONV, "bob is known")
    t0 = time.monotonic()
    # --conv: every conversation would be four, over bob's own cap of three.
    t.cli("sync", "--connect", "%s:%d" % (HOST, port), "--dir", b, "--conv", CONV,
          "--timeout", str(HANG), timeout=2 * HANG)
    secs = time.monotonic() - t0
    again = hello_peer(port, 6000)                       # known: served
    p = wire.Peer(HOST, port, timeout=HANG, source=HOST)
    p.send(wire.hello(6002, "mallory", all_convs=True))
    m = p.recv()
    check(m is not None and m[1] == wire.HELLO, "no HELLO: %r" % (m,))
    got = sorted(c[0].decode() for c in m[7])
    check(got == [CONV, "w-0", "w-1", "w-2"], "the relay holds %s" % got)
    return finish(relay, held + [again, p], {
        "caps 3 subscriptions, 4 devices": "a 4th conversation and a 5th device refused with "
                                           "ERROR limit, nothing stored; bob synced again in "
                                           "%.3fs" % secs})


SCENARIOS = [("idle", scenario_idle), ("caps", scenario_caps), ("flood", scenario_flood),
             ("full", scenario_full), ("hello", scenario_hello), ("subs", scenario_subs)]


def main(argv):
    args, only, keep = parse_args(argv)
    baseline = "--baseline" in args
    args = [a for a in args if a != "--baseline"]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    seed = seed_of("test_attack_conns")
    root = tempfile.mkdtemp(prefix="msglog-attack-")
    t = Tester(os.path.abspath(args[0]), None, root, seed)
    t.baseline, t.notes = baseline, []
    if baseline:
        only = [n for n in (only or ["flood", "hello"]) if n in ("flood", "hello")]
    return run_all("test_attack_conns", t, root, keep, only, SCENARIOS, seed)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
