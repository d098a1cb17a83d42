"""What the real-process network tests share: failures, background
processes with their output in files, waiting on a printed line.

A scenario object passed to Bg needs `logdir` (where output files go),
`serial()` (a counter for their names) and `bgs` (a list that collects
every Bg, so the scenario can kill what is left at its end)."""
import os
import re
import signal
import subprocess
import sys
import time


class Fail(Exception):
    """A scenario failed; str() says what."""


def check(cond, what):
    if not cond:
        raise Fail(what)


def tail(data, lines=15):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return "\n".join("      " + l for l in data.splitlines()[-lines:])


def env_int(name, default):
    return int(os.environ.get(name, default))


class Bg:
    """A background process whose stdout and stderr go to files."""

    def __init__(self, t, name, args):
        self.name, self.args = name, args
        base = os.path.join(t.logdir, "%04d-%s" % (t.serial(), name))
        self.out, self.err = base + ".out", base + ".err"
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.p = subprocess.Popen(args, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
        t.bgs.append(self)

    def text(self, path):
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_line(self, regex, timeout=10):
        """The first match of regex in stdout, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(regex, self.text(self.out), re.M)
            if m:
                return m
            if self.p.poll() is not None:
                raise Fail("%s exited (%s) before printing /%s/" % (self.name, self.p.returncode, regex))
            if time.monotonic() > deadline:
                raise Fail("%s printed no /%s/ within %ss" % (self.name, regex, timeout))
            time.sleep(0.01)

    def running(self):
        return self.p.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.running():
            self.p.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Fail("%s did not exit within %ss" % (self.name, timeout))

    def stop(self, timeout=10):
        """SIGTERM and a clean exit (0, or killed by that signal)."""
        self.kill(signal.SIGTERM)
        rc = self.wait(timeout)
        check(rc in (0, -signal.SIGTERM), "%s exited %s on SIGTERM" % (self.name, rc))


def parse_args(argv, n_args, doc):
    """argv[1:] as (the n_args positional arguments, the --only list or
    None, --keep), or None after printing doc for a wrong count."""
    args = argv[1:]
    keep = "--keep" in args
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1].split(",")
        del args[i:i + 2]
    args = [a for a in args if a != "--keep"]
    if len(args) != n_args:
        print(doc.strip(), file=sys.stderr)
        return None
    return args, only, keep
