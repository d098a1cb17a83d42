#!/usr/bin/env python3
"""Connection limits of the relay against a hostile peer, with real processes
on 127.0.0.1 (see tests/net/README.md, "test_attack_conns.py").

usage: test_attack_conns.py MSGLOG [--only idle,...] [--keep]

The attacker is this script, speaking the session protocol by hand
(wire.py) from other loopback addresses (127.0.0.2 and up), so that the
honest devices (the msglog CLI, from 127.0.0.1) are another address to the
relay. Each scenario prints one line with its figures, among them the
relay's peak RSS (VmHWM) and the honest syncs' times. Nothing waits on a
clock: events are placed by bytes and printed lines, and every wait has a
generous upper bound against hangs only.

Environment: MSGLOG_NET_SEED seeds the random choices (printed).
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
    relay, port = t.relay(t.path("idle-relay"), extra=["--hello-timeout", "2", "--idle-timeout", "2"])
    watch = t.start_sync(a, port, watch=True, extra=["--keepalive", "0.05"])
    watch.wait_line(r"^up to date$", HANG, stderr=True)
    n = env_int("MSGLOG_ATTACK_IDLE_PEERS", 8)
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


SCENARIOS = [("idle", scenario_idle)]


def main(argv):
    args, only, keep = parse_args(argv)
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    seed = seed_of("test_attack_conns")
    root = tempfile.mkdtemp(prefix="msglog-attack-")
    t = Tester(os.path.abspath(args[0]), None, root, seed)
    return run_all("test_attack_conns", t, root, keep, only, SCENARIOS, seed)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
