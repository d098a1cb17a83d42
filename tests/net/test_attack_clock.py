#!/usr/bin/env python3
"""The frozen-clock attack against a real relay (tests/net/README.md).

usage: test_attack_clock.py MSGLOG

One op at the top of the hlc range would, once a relay spread it, make every
later op of its conversation on every device follow it: the conversation's
order would be frozen. A hand-made peer (wire.py) sends, to a relay started
with --max-clock-ahead 600:
  1. a send at hlc 2^64 - 1 (no clock of the format makes one): ERROR
     corrupt;
  2. a send at 2^63 - 1, the largest valid hlc: ERROR refused;
  3. a send an hour ahead of the relay's clock: ERROR refused, with a text
     naming the skew;
  4. a send five minutes ahead: acknowledged.
Then an honest device writes a message and syncs: it holds its own message
and the accepted one, in hlc order, and nothing of 1-3.
Each step waits for the relay's answer, never for time. Exit 0 or 1.
"""
import json
import os
import sys
import time

import wire
from harness import Bg, Procs, check, run_main

HOST = "127.0.0.1"
CONV = "team"


class ClockAttack(Procs):
    def text(self, *args):
        """The stdout of a msglog run that must exit 0."""
        return self.cli(*args).stdout.decode("utf-8")


def now_hlc(ahead_ms=0):
    return (int(time.time() * 1000) + ahead_ms) << 16


def attempt(port, replica, hlc, body):
    """Sends one op as replica at hlc; returns the relay's answer message."""
    peer = wire.Peer(HOST, port)
    try:
        peer.send(wire.hello(replica, "mallory", [(CONV, [], None)]))
        check(peer.recv_type(wire.HELLO) is not None, "no HELLO from the relay")
        peer.send(wire.batch(1, CONV, [wire.op_send(CONV, replica, 1, hlc, "mallory", body)]))
        while True:
            m = peer.recv()
            check(m is not None, "the relay closed without an answer to the batch")
            if m[1] in (wire.ACK, wire.ERROR):
                return m
    finally:
        peer.close()


def run(s):
    relay = Bg(s, "relay", [s.msglog, "relay", "--listen", HOST + ":0", "--dir",
                            os.path.join(s.root, "relay"), "--max-clock-ahead", "600"])
    port = int(relay.wait_line(r"^listening \S+:(\d+)$").group(1))

    m = attempt(port, 66, (1 << 64) - 1, "frozen for ever")
    check(m[1] == wire.ERROR and m[2] == 3, "hlc 2^64-1: expected ERROR corrupt (3), got %r" % (m,))
    m = attempt(port, 67, (1 << 63) - 1, "year 6429")
    check(m[1] == wire.ERROR and m[2] == 8, "hlc 2^63-1: expected ERROR refused (8), got %r" % (m,))
    m = attempt(port, 68, now_hlc(3600 * 1000), "an hour early")
    check(m[1] == wire.ERROR and m[2] == 8, "an hour ahead: expected ERROR refused (8), got %r" % (m,))
    check(b"s ahead of the relay's" in m[3], "the reason names the skew: %r" % (m[3],))
    m = attempt(port, 69, now_hlc(300 * 1000), "five minutes early")
    check(m[1] == wire.ACK and m[4] == 0, "five minutes ahead: expected an ACK, got %r" % (m,))

    dev = os.path.join(s.root, "alice")
    s.text("init", "--dir", dev, "--replica", "10", "--user", "alice")
    s.text("send", "--dir", dev, CONV, "an honest message")
    s.text("sync", "--connect", "%s:%d" % (HOST, port), "--dir", dev, "--timeout", "60")
    view = json.loads(s.text("show", "--dir", dev, CONV, "--json"))
    bodies = [m["body"] for m in view["messages"]]
    check(bodies == ["an honest message", "five minutes early"],
          "the device holds its own message and the accepted one, nothing refused: %r" % (bodies,))
    relay.stop()
    check(not relay.running(), "relay stopped")
    return ("clock attack: 3 far-future ops refused, 1 near one accepted; device holds %d messages"
            % len(bodies))


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    msglog = os.path.abspath(argv[1])
    return run_main("msglog-clock-", lambda root: ClockAttack(msglog, root), run)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
