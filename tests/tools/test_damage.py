#!/usr/bin/env python3
"""A damaged store through the CLI, as real processes (docs/reliability.md,
"A store that refuses damage").

usage: test_damage.py MSGLOG

  truncated  data.mdb cut at every page boundary below its size and in the
             middle of every page: `msglog show` and `msglog send` exit 1
             with "data.mdb is truncated: N bytes, its meta page needs M",
             never with a signal, and the file stays as it was (a cut that
             takes only free pages at the end opens and shows everything).
  flipped    one bit of a message's text flipped on disk: `show` exits 1
             naming the record; `msglog check` prints the problem and exits
             1; a sync to a fresh relay ends in failure, and nothing the
             relay received holds the damaged text; a check of the
             untouched copy prints nothing and exits 0.

Exits 0 when everything holds, 1 otherwise (printing what did not).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

CONV = "team"
TIMEOUT = 60   # seconds a single command may take: a bound against hangs


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def run(msglog, *args):
    p = subprocess.run([msglog] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    check(p.returncode >= 0, "msglog %s: killed by signal %d" % (" ".join(args), -p.returncode))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def make_store(msglog, d, n):
    rc, _, err = run(msglog, "init", "--dir", d, "--replica", "1", "--user", "alice")
    check(rc == 0, "init: " + err)
    for i in range(n):
        rc, _, err = run(msglog, "send", "--dir", d, CONV, "message %03d of a store that gets "
                         "damaged, long enough to fill pages" % i)
        check(rc == 0, "send: " + err)


def truncated(msglog, tmp):
    whole = os.path.join(tmp, "whole")
    make_store(msglog, whole, 60)
    rc, shown, err = run(msglog, "show", "--dir", whole, CONV)
    check(rc == 0, "show of the whole store: " + err)
    size = os.path.getsize(os.path.join(whole, "data.mdb"))
    d = os.path.join(tmp, "cut")
    refused = opened = 0
    for cut in range(0, size, 2048):
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(whole, d)
        data = os.path.join(d, "data.mdb")
        os.truncate(data, cut)
        want = "data.mdb is truncated: %d bytes, " % cut
        rc_show, out, err_show = run(msglog, "show", "--dir", d, CONV)
        rc_send, _, err_send = run(msglog, "send", "--dir", d, CONV, "one more")
        if rc_show == 0:   # only free pages were cut: everything is there
            check(out == shown, "cut at %d: show exited 0 with another view" % cut)
            check(rc_send == 0, "cut at %d: show worked, send did not: %s" % (cut, err_send))
            opened += 1
            continue
        check(rc_show == 1 and want in err_show, "cut at %d: show: %d %s" % (cut, rc_show, err_show))
        check(rc_send == 1 and want in err_send, "cut at %d: send: %d %s" % (cut, rc_send, err_send))
        check(os.path.getsize(data) == cut, "cut at %d: the file changed" % cut)
        refused += 1
    check(refused >= (refused + opened) * 9 // 10, "only %d of %d cuts refused" %
          (refused, refused + opened))
    print("truncated: %d cuts of a %d-byte data.mdb: %d refused (show and send exit 1, no "
          "signal), %d took free pages only and show everything" % (refused + opened, size,
                                                                    refused, opened))


def flip_text(path, text):
    """Flips the lowest bit of the first byte of every copy of text."""
    data = bytearray(open(path, "rb").read())
    at = [m.start() for m in re.finditer(re.escape(text.encode()), data)]
    for i in at:
        data[i] ^= 1
    open(path, "wb").write(bytes(data))
    return len(at)


def relay_received(msglog, tmp, d, name):
    """Syncs d once to a fresh relay; the sync's exit code and the bytes of
    the relay's data file."""
    relay_dir = os.path.join(tmp, "relay-" + name)
    relay = subprocess.Popen([msglog, "relay", "--listen", "127.0.0.1:0", "--dir", relay_dir],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = relay.stdout.readline().decode()
        m = re.match(r"listening (\S+)$", line.strip())
        check(m, "the relay did not start: %r" % line)
        rc, _, err = run(msglog, "sync", "--connect", m.group(1), "--dir", d, "--timeout", "30")
    finally:
        relay.terminate()
        relay.wait(timeout=TIMEOUT)
    return rc, err, open(os.path.join(relay_dir, "data.mdb"), "rb").read()


def flipped(msglog, tmp):
    d = os.path.join(tmp, "flip")
    make_store(msglog, d, 5)
    rc, _, err = run(msglog, "send", "--dir", d, CONV, "the text that gets damaged")
    check(rc == 0, "send: " + err)
    clean = os.path.join(tmp, "clean")
    shutil.copytree(d, clean)
    check(flip_text(os.path.join(d, "data.mdb"), "the text that gets damaged") >= 1,
          "the text is not in the file")
    damaged_text = "uhe text that gets damaged"
    rc, out, err = run(msglog, "show", "--dir", d, CONV)
    record = "ops record 1.6 of conversation team is damaged (checksum)"
    check(rc == 1 and record in err, "show: %d %s" % (rc, err))
    check(damaged_text not in out, "show printed the damaged text")
    rc, out, err = run(msglog, "check", "--dir", d)
    check(rc == 1 and record in out, "check: %d %s %s" % (rc, out, err))
    rc, out, err = run(msglog, "check", "--dir", clean)
    check(rc == 0 and out == "", "check of the clean copy: %d %s %s" % (rc, out, err))
    rc, err, relay_bytes = relay_received(msglog, tmp, d, "damaged")
    check(rc == 1, "the sync of the damaged store exited %d" % rc)
    check(damaged_text.encode() not in relay_bytes, "the damaged text reached the relay")
    rc, err, relay_bytes = relay_received(msglog, tmp, clean, "clean")
    check(rc == 0 and b"the text that gets damaged" in relay_bytes,
          "the sync of the clean copy: %d %s" % (rc, err))
    print("flipped: show and check exit 1 naming '%s'; the sync fails and the relay holds no "
          "damaged text; the clean copy checks and syncs" % record)


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    tmp = tempfile.mkdtemp(prefix="msglog-damage-cli-")
    try:
        for scenario in (truncated, flipped):
            scenario(argv[1], tmp)
    except (Fail, subprocess.TimeoutExpired) as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
