#!/usr/bin/env python3
"""The examples of docs/embedding.md, run against a real relay.

usage: test_examples.py MSGLOG EXAMPLES_DIR

- chat (alice): two lines on standard input; it prints them pending, then
  sent, and exits 0 at the end of the input once the relay has them.
- chat (bob): one line; it prints alice's two messages as they arrive and
  its own as sent.
- ui_thread (carol): 25 messages written from a second thread through the
  loop thread; it exits 0 once the relay has them all, and a fresh store
  synced from the relay holds the 28 messages.
Every wait is on a process's exit or a printed line, bounded generously.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "net"))
from harness import Bg, Procs, check, run_main  # noqa: E402

HOST = "127.0.0.1"


class Examples(Procs):
    def __init__(self, msglog, examples, root):
        super().__init__(msglog, root)
        self.examples = examples

    def lines(self, args, stdin=b"", timeout=60):
        """The stdout lines of a program that must exit 0, given stdin."""
        r = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)
        out = r.stdout.decode("utf-8")
        check(r.returncode == 0, "%s exited %d: %s%s" % (os.path.basename(args[0]), r.returncode,
                                                        out, r.stderr.decode("utf-8", "replace")))
        return out.splitlines()

    def store(self, name, replica, user):
        d = self.path(name)
        self.init(d, replica, user)
        return d


def scenario(s):
    relay = Bg(s, "relay", [s.msglog, "relay", "--listen", HOST + ":0", "--dir",
                            os.path.join(s.root, "relay")])
    at = "%s:%s" % (HOST, relay.wait_line(r"^listening \S+:(\d+)$").group(1))
    chat = os.path.join(s.examples, "chat")

    alice = s.store("alice", 10, "alice")
    out = s.lines([chat, "--dir", alice, "--connect", at, "team"], b"hello bob\nsecond line\n")
    for line in ("10.1 you: hello bob  \u2026 pending", "10.2 you: second line  \u2026 pending",
                 "10.1 \u2713 sent", "10.2 \u2713 sent", "* up to date"):
        check(line in out, "alice's chat printed %r: %r" % (line, out))

    bob = s.store("bob", 20, "bob")
    out = s.lines([chat, "--dir", bob, "--connect", at, "team"], b"hi alice\n")
    for line in ("10.1 alice: hello bob", "10.2 alice: second line", "20.1 \u2713 sent"):
        check(line in out, "bob's chat printed %r: %r" % (line, out))

    carol = s.store("carol", 30, "carol")
    out = s.lines([os.path.join(s.examples, "ui_thread"), "--dir", carol, "--connect", at, "team",
                 "25"])
    check(out == ["25 messages written by the UI thread; the conversation holds 28"],
          "ui_thread: %r" % out)
    dan = s.store("dan", 40, "dan")
    s.lines([s.msglog, "sync", "--connect", at, "--dir", dan, "--timeout", "60"])
    out = s.lines([s.msglog, "convs", "--dir", dan])
    check(out == ["team  28 messages, 0 pending"], "the relay holds every message: %r" % out)
    relay.stop()
    return "examples: chat and ui_thread passed"


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    msglog, examples = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    return run_main("msglog-examples-", lambda root: Examples(msglog, examples, root), scenario)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
