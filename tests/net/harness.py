"""What the real-process network tests share: failures, background
processes with their output in files, waiting on a printed line.

A scenario object passed to Bg needs `logdir` (where output files go),
`serial()` (a counter for their names) and `bgs` (a list that collects
every Bg, so the scenario can kill what is left at its end)."""
import os
import re
import shutil
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

    def wait_line(self, regex, timeout=10, stderr=False):
        """The first match of regex in stdout (or stderr), waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(regex, self.text(self.err if stderr else self.out), re.M)
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


# --- running scenarios -------------------------------------------------------

def parse_args(argv):
    """(positional arguments, --only list or None, --keep) of a test's argv."""
    args = argv[1:]
    keep = "--keep" in args
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1].split(",")
        del args[i:i + 2]
    return [a for a in args if a != "--keep"], only, keep


def seed_of(prog):
    """MSGLOG_NET_SEED or the time; printed, so that a run can be repeated."""
    seed = int(os.environ.get("MSGLOG_NET_SEED") or time.time_ns() % 2**32)
    print("%s: seed %d (rerun with MSGLOG_NET_SEED=%d)" % (prog, seed, seed), flush=True)
    return seed


def run_scenario(t, name, fn, failed):
    """One scenario: its summary line and figures, or its failure (appended
    to failed) with the stderr tails of t.report(); what it left running is
    killed."""
    t0 = time.monotonic()
    t.sent = {}  # every scenario has its own replicas
    print("scenario %s ..." % name, flush=True)
    try:
        figures = fn(t)
        print("scenario %s: ok in %.1fs" % (name, time.monotonic() - t0))
        for k, v in figures.items():
            print("    %s: %s" % (k, v))
    except Fail as e:
        failed.append(name)
        print("scenario %s: FAILED after %.1fs: %s" % (name, time.monotonic() - t0, e))
        t.report()
    finally:
        t.stop_all()
    sys.stdout.flush()


def run_all(prog, t, root, keep, only, scenarios, seed, gate=None):
    """Runs the scenarios (those named in only, when given) in order, then
    kills what is left, removes root unless kept or something failed, and
    prints the last line. gate(name, failed), called before each, may stop
    the run by returning an exit status. @return the exit status: 0, or 1
    on a failure."""
    failed, t_all = [], time.monotonic()
    try:
        for name, fn in scenarios:
            if only and name not in only:
                continue
            stop = gate(name, failed) if gate else None
            if stop is not None:
                return stop
            run_scenario(t, name, fn, failed)
    finally:
        t.stop_all()
        if keep or failed:
            print("%s: stores and logs kept in %s" % (prog, root))
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("%s: %s in %.1fs, seed %d" % (prog, "FAILED: " + ",".join(failed) if failed else
                                         "all passed", time.monotonic() - t_all, seed))
    return 1 if failed else 0


class Scenario:
    """What Bg needs of a scenario: a directory for the output files, a
    counter for their names, and the list of background processes."""

    def __init__(self, root):
        self.root = root
        self.logdir = os.path.join(root, "logs")
        os.makedirs(self.logdir)
        self.bgs, self.n = [], 0

    def serial(self):
        self.n += 1
        return self.n


def run_main(prefix, make, body):
    """Runs body(scenario) in a fresh temporary directory: prints body's
    summary and exits 0, or prints the failure (the files kept) and exits
    1; every background process is killed either way. make(root) builds the
    scenario."""
    import shutil
    import tempfile

    root = tempfile.mkdtemp(prefix=prefix)
    s = make(root)
    try:
        print(body(s))
        shutil.rmtree(root)
        return 0
    except Fail as e:
        print("FAIL: %s (files kept in %s)" % (e, root))
        return 1
    finally:
        for b in s.bgs:
            b.kill()
