#!/usr/bin/env python3
"""What the operator of a relay sees and relies on, with real processes on
127.0.0.1 (docs/cli.md, "msglog relay"): the relay's log on stderr, STATS
on SIGUSR1, one relay or watching client per store, and a full disk
reported as "disk full". Peers that misbehave are played by hand
(wire.py). Every wait is on a printed line or a process's exit, bounded.

usage: test_operator.py MSGLOG [--only log,levels,stats,claim,disk_full] [--keep]

Scenarios:
  log        start; connections opened and closed with their reason: a
             protocol error and a frame over the limit (the ERROR sent), EOF,
             replaced; stop on SIGTERM, counting the connections it closed
  levels     --log-level warn makes only warnings; debug adds HELLOs; a bad
             level is a usage error
  stats      SIGUSR1: a STATS line whose connection count is right and whose
             bytes, commits and conversations grow
  claim      a second relay, or a watching client, on a relay's store exits
             1 naming the relay's pid; the same beside a watching client;
             send, show and a one-shot sync beside them still work; after
             SIGKILL of the holder a new relay starts
  disk_full  (mounts two 2 MiB tmpfs, in a mount namespace of its own)
             a relay whose disk fills logs "disk full" and the device's
             sync says so; so does `msglog send`

Exit status: 0 all asked passed, 1 a scenario failed (with the stderr tails
of its processes), 77 when disk_full alone was asked and no tmpfs can be
mounted here (not root).
"""
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import wire
from harness import Bg, Procs, Skip, check, run_scenario

HOST = "127.0.0.1"
SKIP = 77
TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"       # UTC, ISO 8601
LINE = re.compile(r"^" + TS + r" (error|warn|info|debug) \S")


class Tester(Procs):
    def relay(self, d, *extra):
        """A running relay on d and its port."""
        b = Bg(self, "relay-" + os.path.basename(d),
               [self.msglog, "relay", "--listen", "%s:0" % HOST, "--dir", d] + list(extra))
        return b, int(b.wait_line(r"^listening \S+:(\d+)$").group(1))

    def watch(self, d, port):
        """A `sync --watch` of d that has claimed d and connected."""
        b = Bg(self, "watch-" + os.path.basename(d),
               [self.msglog, "sync", "--connect", "%s:%d" % (HOST, port), "--dir", d, "--watch"])
        b.wait_line(r"^up to date$", err=True)
        return b

    def sync_once(self, d, port):
        return self.cli("sync", "--connect", "%s:%d" % (HOST, port), "--dir", d, "--timeout", "30",
                        check_rc=False)


def log_line(relay, level, text, count=1):
    """The count-th stderr line of relay at level whose text matches the
    regex `text` (after the timestamp and level), waiting for it."""
    return relay.wait_line(r"^" + TS + " " + level + " " + text + r"$", err=True, count=count)


def peer(port):
    p = wire.Peer(HOST, port)
    p.port = p.sock.getsockname()[1]
    return p


def addr(p):
    return re.escape("127.0.0.1:%d" % p.port)


def hello(p, replica, user):
    """Sends a HELLO and takes the relay's."""
    p.send(wire.hello(replica, user, all_convs=True))
    m = p.recv_type(wire.HELLO)
    check(m is not None, "no HELLO from the relay for replica %d" % replica)


def expect_error(p, code):
    m = p.recv_type(wire.ERROR)
    check(m is not None and m[2] == code, "expected ERROR %d, got %r" % (code, m))
    check(p.recv() is None, "the relay did not close after its ERROR")


def check_format(relay):
    for l in relay.lines(err=True).splitlines():
        check(LINE.match(l), "a stderr line of the relay is not TIMESTAMP LEVEL TEXT: %r" % l)


# --- log ----------------------------------------------------------------------

def scenario_log(t):
    relay, port = t.relay(t.path("log-relay"))
    log_line(relay, "info", r"relay started: listening on 127\.0\.0\.1:%d \(replica 1\)" % port)

    bad = peer(port)                            # a batch before its HELLO
    bad.send(wire.batch(1, "team", []))
    expect_error(bad, 5)
    log_line(relay, "info", r"conn 1 opened from %s" % addr(bad))
    log_line(relay, "warn", r"conn 1 closed \(%s\): sent ERROR protocol: a message before HELLO"
             % addr(bad))

    big = peer(port)                            # a frame over the limit
    big.send_raw(b"\xff\xff\xff\xff")
    expect_error(big, 4)
    log_line(relay, "warn", r"conn 2 closed \(%s\): sent ERROR limit: a frame over 4194304 bytes.*"
             % addr(big))

    eof = peer(port)                            # a device that leaves
    hello(eof, 30, "carol")
    eof.close()
    log_line(relay, "info", r"conn 3 closed \(%s, replica 30\): the device closed the connection"
             % addr(eof))

    old, new = peer(port), peer(port)           # one replica twice
    hello(old, 31, "dave")
    log_line(relay, "info", r"conn 4 opened from %s" % addr(old))
    hello(new, 31, "dave")
    expect_error(old, 7)
    log_line(relay, "info", r"conn 4 closed \(%s, replica 31\): sent ERROR replaced: replaced by a "
             "newer connection" % addr(old))

    relay.stop()
    log_line(relay, "info", r"relay stopped: 1 open connections closed")
    check_format(relay)
    new.close()
    return {"lines": len(relay.lines(err=True).splitlines())}


# --- levels -------------------------------------------------------------------

def scenario_levels(t):
    relay, port = t.relay(t.path("levels-relay"), "--log-level", "warn")
    ok = peer(port)
    hello(ok, 30, "carol")
    big = peer(port)
    big.send_raw(b"\xff\xff\xff\xff")
    expect_error(big, 4)
    log_line(relay, "warn", r"conn 2 closed .*")
    ok.close()
    relay.stop()
    lines = relay.lines(err=True).splitlines()
    check(len(lines) == 1, "--log-level warn made other lines: %r" % lines)

    relay, port = t.relay(t.path("levels-relay"), "--log-level", "debug")
    p = peer(port)
    hello(p, 30, "carol")
    log_line(relay, "debug", r"conn 1 hello: replica 30 \(user carol\)")
    p.close()
    relay.stop()
    check_format(relay)

    r = t.cli("relay", "--listen", "%s:0" % HOST, "--dir", t.path("levels-relay"),
              "--log-level", "loud", check_rc=False)
    check(r.returncode == 2 and b"--log-level" in r.stderr,
          "--log-level loud: exit %d, %r" % (r.returncode, r.stderr[-200:]))
    return {}


# --- stats --------------------------------------------------------------------

def stats(relay, count):
    """SIGUSR1, then the count-th STATS line, as a dict."""
    relay.kill(signal.SIGUSR1)
    m = log_line(relay, "info", r"STATS (.*)", count)
    return dict(kv.split("=", 1) for kv in m.group(1).split())


def scenario_stats(t):
    relay, port = t.relay(t.path("stats-relay"))
    s0 = stats(relay, 1)
    want = ["connections", "connections_total", "conversations", "bytes_in", "bytes_out", "commits",
            "commits_per_sec", "unwritten_bytes", "memory_budget_used", "memory_budget", "uptime_s"]
    check(list(s0) == want, "STATS fields %s" % list(s0))
    check(s0["connections"] == "0" and s0["bytes_in"] == "0", "a fresh relay: %s" % s0)

    a, b = peer(port), peer(port)
    hello(a, 30, "carol")
    hello(b, 31, "dave")
    s1 = stats(relay, 2)
    check(s1["connections"] == "2", "two peers connected, STATS says %s" % s1["connections"])
    check(int(s1["bytes_in"]) > 0 and int(s1["bytes_out"]) > 0, "no bytes counted: %s" % s1)

    d = t.path("stats-alice")
    t.init(d, 10, "alice")
    for i in range(5):
        t.cli("send", "--dir", d, "team", "message %d" % i)
    check(t.sync_once(d, port).returncode == 0, "the device's sync failed")
    log_line(relay, "info", r"conn 3 closed .*")
    s2 = stats(relay, 3)
    check(s2["connections"] == "2", "after the device left: %s connections" % s2["connections"])
    check(s2["connections_total"] == "3", "connections_total %s" % s2["connections_total"])
    check(s2["conversations"] == "1", "conversations %s" % s2["conversations"])
    check(int(s2["commits"]) >= 1, "no commit counted")
    for k in ("bytes_in", "bytes_out"):
        check(int(s2[k]) > int(s1[k]), "%s did not grow: %s then %s" % (k, s1[k], s2[k]))
    a.close()
    b.close()
    relay.stop()
    check_format(relay)
    return {"bytes in": s2["bytes_in"], "bytes out": s2["bytes_out"], "commits": s2["commits"]}


# --- claim --------------------------------------------------------------------

def expect_in_use(t, args, d, holder):
    r = t.cli(*args, check_rc=False)
    want = "the store in %s is in use by process %d" % (d, holder.p.pid)
    check(r.returncode == 1, "msglog %s beside %s: exit %d" % (args[0], holder.name, r.returncode))
    check(want.encode() in r.stderr, "msglog %s: no %r in %r" % (args[0], want, r.stderr[-300:]))
    check(b"listening" not in r.stdout, "msglog %s listened anyway" % args[0])


def scenario_claim(t):
    r, d, other = t.path("claim-relay"), t.path("claim-alice"), t.path("claim-other-relay")
    t.init(d, 10, "alice")
    relay, port = t.relay(r)
    expect_in_use(t, ["relay", "--listen", "%s:0" % HOST, "--dir", r], r, relay)
    expect_in_use(t, ["sync", "--connect", "%s:%d" % (HOST, port), "--dir", r, "--watch"], r, relay)
    # Beside the relay: writes, reads, and a one-shot sync of its store.
    t.cli("send", "--dir", r, "team", "written beside the relay")
    check(b"written beside the relay" in t.cli("show", "--dir", r, "team").stdout, "show")
    other_relay, other_port = t.relay(other)
    check(t.sync_once(r, other_port).returncode == 0, "a one-shot sync beside the relay failed")
    other_relay.stop()

    w = t.watch(d, port)
    expect_in_use(t, ["relay", "--listen", "%s:0" % HOST, "--dir", d], d, w)
    expect_in_use(t, ["sync", "--connect", "%s:%d" % (HOST, port), "--dir", d, "--watch"], d, w)
    t.cli("send", "--dir", d, "team", "written beside the watcher")

    # The kernel drops a killed holder's claim.
    relay.kill(signal.SIGKILL)
    relay.wait(10)
    relay, port = t.relay(r)
    w.kill(signal.SIGKILL)
    w.wait(10)
    w = t.watch(d, port)
    w.stop()
    relay.stop()
    return {}


# --- disk full ----------------------------------------------------------------

CLONE_NEWNS = 0x00020000


def private_mounts():
    """Moves this process into a mount namespace of its own, which its
    children inherit: nobody else sees its mounts, and they go with the
    last of these processes, however the test ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise Skip("cannot make a mount namespace: %s" % os.strerror(ctypes.get_errno()))
    r = subprocess.run(["mount", "--make-rprivate", "/"], capture_output=True)
    if r.returncode != 0:
        raise Skip("cannot make mounts private: %s" % r.stderr.decode(errors="replace").strip())


def mount_tmpfs(path):
    os.makedirs(path)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", path], capture_output=True)
    if r.returncode != 0:
        raise Skip("cannot mount a tmpfs: %s" % r.stderr.decode(errors="replace").strip())


def umount(path):
    subprocess.run(["umount", path], capture_output=True)


def scenario_disk_full(t):
    mnts = [t.path("tmpfs-relay"), t.path("tmpfs-store")]
    private_mounts()
    try:
        for m in mnts:
            mount_tmpfs(m)
        return disk_full_in(t, *mnts)
    finally:
        t.stop_all()
        for m in mnts:
            umount(m)


def big_body(i):
    return ("%d " % i) + "x" * 60000


def disk_full_in(t, relay_mnt, store_mnt):
    # A relay whose disk fills while a device uploads 2.4 MB.
    relay, port = t.relay(os.path.join(relay_mnt, "relay"))
    d = t.path("full-alice")
    t.init(d, 10, "alice")
    for i in range(40):
        t.cli("send", "--dir", d, "big", big_body(i))
    s = t.sync_once(d, port)
    check(s.returncode == 1, "a sync into a full relay exited %d" % s.returncode)
    check(b"disk full" in s.stderr, "the device does not say disk full: %r" % s.stderr[-300:])
    log_line(relay, "error", r"disk full: conn 1 \(127\.0\.0\.1:\d+, replica 10\): batch \d+ not "
             r"committed: disk full: no room left on the store's file system.*")
    log_line(relay, "error", r"conn 1 closed \(127\.0\.0\.1:\d+, replica 10\): sent ERROR internal: "
             r"batch \d+ not committed: disk full.*")
    relay.stop()

    # `msglog send` on a store whose disk fills.
    full = os.path.join(store_mnt, "alice")
    t.init(full, 10, "alice")
    for i in range(100):
        r = t.cli("send", "--dir", full, "big", big_body(i), check_rc=False)
        if r.returncode != 0:
            break
    check(r.returncode == 1, "send on a full disk: exit %d" % r.returncode)
    check(b"disk full" in r.stderr and b"I/O" not in r.stderr,
          "send on a full disk says %r" % r.stderr[-300:])
    return {"sends before the disk was full": i}


SCENARIOS = [("log", scenario_log), ("levels", scenario_levels), ("stats", scenario_stats),
             ("claim", scenario_claim), ("disk_full", scenario_disk_full)]


def main(argv):
    args = argv[1:]
    keep = "--keep" in args
    args = [a for a in args if a != "--keep"]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1].split(",")
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = tempfile.mkdtemp(prefix="msglog-operator-")
    t = Tester(os.path.abspath(args[0]), root)
    outcome = {"ok": [], "failed": [], "skipped": []}
    try:
        for name, fn in SCENARIOS:
            if only and name not in only:
                continue
            outcome[run_scenario(t, name, fn)].append(name)
    finally:
        t.stop_all()
        if outcome["failed"] or keep:
            print("test_operator: stores and logs kept in %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if outcome["failed"]:
        return 1
    return SKIP if outcome["skipped"] and not outcome["ok"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
