#!/usr/bin/env python3
"""The store commands of the msglog CLI (docs/cli.md), run as processes.

usage: test_cli.py MSGLOG

send, read, edit, delete, react, unreact, convs and show (every message,
the newest N, pages before and after a message, --json with every field of
the C view), the one id form REPLICA.SEQ (and the older REPLICA:SEQ still
read), refusals with their exit codes. Exit 0 when all pass, 1 otherwise.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


class Cli:
    def __init__(self, msglog, root):
        self.msglog, self.root = msglog, root

    def run(self, *args, expect=0):
        r = subprocess.run([self.msglog] + list(args), capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        out, err = r.stdout.decode("utf-8"), r.stderr.decode("utf-8")
        check(r.returncode == expect, "msglog %s: exit %d, expected %d (%s)" % (
            " ".join(args), r.returncode, expect, err.strip()))
        return out.strip() if expect == 0 else err

    def show(self, d, *args):
        return json.loads(self.run("show", "--dir", d, "team", "--json", *args))


def ids(view):
    return [m["id"] for m in view["messages"]]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = tempfile.mkdtemp(prefix="msglog-cli-")
    c = Cli(os.path.abspath(argv[1]), root)
    a, b = os.path.join(root, "alice"), os.path.join(root, "bob")
    try:
        c.run("init", "--dir", a, "--replica", "10", "--user", "alice")
        c.run("init", "--dir", b, "--replica", "20", "--user", "bob")
        m1 = c.run("send", "--dir", a, "team", "hello")
        check(m1 == "10.1", "send prints REPLICA.SEQ: %r" % m1)
        m2 = c.run("send", "--dir", a, "team", "second")
        e = c.run("edit", "--dir", a, "team", m1, "hello, edited")
        check(e == "10.3", "edit prints its id: %r" % e)
        c.run("react", "--dir", a, "team", m2, "+1")
        v = c.show(a)
        msg = {m["id"]: m for m in v["messages"]}
        check(msg[m1]["body"] == "hello, edited" and msg[m1]["edited"], "the edit shows")
        check(msg[m2]["reactions"] == {"+1": ["alice"]}, "the reaction shows: %r" % msg[m2]["reactions"])
        for field in ("id", "author", "hlc", "body", "edited", "deleted", "conflict",
                      "equivocated", "reactions", "status"):
            check(field in msg[m1], "--json carries %s" % field)
        for field in ("vv", "pending", "digest", "read", "n_messages", "messages"):
            check(field in v, "--json carries %s at the top" % field)
        c.run("unreact", "--dir", a, "team", m2, "+1")
        err = c.run("unreact", "--dir", a, "team", m2, "+1", expect=1)
        check("no live reaction" in err, "a second unreact is refused with the reason: %r" % err)
        c.run("read", "--dir", a, "team", "10:2")   # the older form is still read
        check(c.show(a)["read"] == {"alice": "10.2"}, "the read marker, printed REPLICA.SEQ")
        c.run("delete", "--dir", a, "team", m2)
        v = c.show(a)
        check([m["deleted"] for m in v["messages"]] == [False, True], "the delete shows")
        err = c.run("edit", "--dir", a, "team", m2, "again", expect=1)
        check("deleted" in err, "editing a deleted message is refused: %r" % err)
        c.run("edit", "--dir", a, "team", "10.x", "bad", expect=2)
        c.run("edit", "--dir", a, "team", m1, expect=2)

        # bob, who has not received alice's messages, cannot edit one.
        c.run("send", "--dir", b, "team", "bob here")
        err = c.run("edit", "--dir", b, "team", m1, "forged", expect=1)
        check("not delivered" in err or "not found" in err, "bob cannot edit what he lacks: %r" % err)

        for i in range(20):
            c.run("send", "--dir", a, "team", "m%d" % i)
        every = ids(c.show(a))
        check(len(every) == 22, "22 messages: %d" % len(every))
        check(ids(c.show(a, "--limit", "5")) == every[-5:], "--limit: the newest N")
        check(ids(c.show(a, "--after", every[3], "--limit", "4")) == every[4:8], "--after a message")
        check(ids(c.show(a, "--before", every[10], "--limit", "3")) == every[7:10], "--before a message")
        check(ids(c.show(a, "--before", every[2])) == every[:2], "--before near the start")
        check(len(ids(c.show(a, "--after", every[0]))) == 21, "--after without --limit: up to 50")
        text = c.run("show", "--dir", a, "team", "--limit", "2").splitlines()
        check(len(text) == 2 and text[-1].startswith(every[-1] + " alice: m19"), "text page: %r" % text)
        c.run("show", "--dir", a, "team", "--before", "99.1", expect=1)
        c.run("show", "--dir", a, "team", "--before", m1, "--after", m1, expect=2)
        c.run("show", "--dir", a, "team", "--limit", "0", expect=2)

        # Without --replica, init draws a random id, and keeps the store's
        # on a second run.
        r1, r2 = os.path.join(root, "r1"), os.path.join(root, "r2")
        first = c.run("init", "--dir", r1, "--user", "carol")
        again = c.run("init", "--dir", r1, "--user", "carol")
        other = c.run("init", "--dir", r2, "--user", "carol")
        got = [int(x.split()[1]) for x in (first, again, other)]
        check(got[0] == got[1], "init again keeps the id: %r" % (got,))
        check(got[0] != got[2] and all(1 <= i < 2 ** 53 for i in got), "random ids: %r" % (got,))
        c.run("init", "--dir", r1, "--user", "dave", expect=1)

        c.run("send", "--dir", a, "another", "x")
        convs = json.loads(c.run("convs", "--dir", a, "--json"))
        check([x["conv"] for x in convs] == ["another", "team"], "convs in bytewise order: %r" % convs)
        check(convs[1]["n_messages"] == 22, "convs counts messages: %r" % convs[1])
        lines = c.run("convs", "--dir", a).splitlines()
        check(lines == ["another  1 message, 0 pending", "team  22 messages, 0 pending"],
              "convs text: %r" % lines)
    finally:
        shutil.rmtree(root)
    print("%s: %s" % ("cli", "%d failures" % len(failures) if failures else "all passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
