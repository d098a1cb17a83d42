"""What the real-process network tests share: failures, background
processes with their output in files, waiting on a printed line, and the
runner's bookkeeping of the processes it started (Procs).

A scenario object passed to Bg needs `logdir` (where output files go),
`serial()` (a counter for their names) and `bgs` (a list that collects
every Bg, so the scenario can kill what is left at its end): a Procs has
them."""
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import time


class Fail(Exception):
    """A scenario failed; str() says what."""


class Skip(Exception):
    """A scenario cannot run here; str() says why."""


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

    def lines(self, err=False):
        """The whole lines written so far to stdout (stderr with err): a
        line still being written is left out."""
        text = self.text(self.err if err else self.out)
        return text[:text.rfind("\n") + 1]

    def wait_line(self, regex, timeout=10, err=False, count=1, stderr=False):
        """The count-th match of regex among the whole lines of stdout
        (stderr with err, or stderr), waiting for it."""
        err = err or stderr
        deadline = time.monotonic() + timeout
        where = "stderr" if err else "stdout"
        while True:
            found = list(re.finditer(regex, self.lines(err), re.M))
            if len(found) >= count:
                return found[count - 1]
            if self.p.poll() is not None:
                raise Fail("%s exited (%s) before printing /%s/ on %s"
                           % (self.name, self.p.returncode, regex, where))
            if time.monotonic() > deadline:
                raise Fail("%s printed no /%s/ on %s within %ss" % (self.name, regex, where, timeout))
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


class Procs:
    """The processes a test runner starts: `msglog` runs that it waits for
    (the last few kept with their stderr for a failure's report) and
    background ones (Bg), killed by stop_all at the end of each scenario.
    Output files go to ROOT/logs."""

    def __init__(self, msglog, root):
        self.msglog, self.root = msglog, root
        self.logdir = os.path.join(root, "logs")
        os.makedirs(self.logdir)
        self.bgs = []
        self.history = collections.deque(maxlen=6)  # (name, rc, stderr)
        self.n = 0

    def serial(self):
        self.n += 1
        return self.n

    def path(self, name):
        return os.path.join(self.root, name)

    def run(self, args, timeout=60, name=None, check_rc=True):
        name = name or os.path.basename(args[0]) + " " + args[1]
        try:
            r = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            self.history.append((name, "timeout", e.stderr or b""))
            raise Fail("%s: no exit within %ss" % (" ".join(args[:6]), timeout))
        self.history.append((name, r.returncode, r.stderr))
        if check_rc and r.returncode != 0:
            raise Fail("%s: exit %d" % (" ".join(args[:6]), r.returncode))
        return r

    def cli(self, *args, **kw):
        return self.run([self.msglog] + list(args), **kw)

    def init(self, d, replica, user):
        self.cli("init", "--dir", d, "--replica", str(replica), "--user", user)

    def stop_all(self):
        for b in self.bgs:
            if b.running():
                b.kill(signal.SIGKILL)
                b.p.wait()
        self.bgs = []

    def report(self):
        """The stderr tails that may explain a failure."""
        for name, rc, err in self.history:
            print("    --- %s (exit %s), stderr:" % (name, rc))
            print(tail(err))
        shown = [b for b in self.bgs if b.running()] + [b for b in self.bgs[-4:] if not b.running()]
        for b in shown:
            print("    --- %s (%s), stderr:" % (b.name, "running" if b.running() else "exit %s" % b.p.returncode))
            print(tail(b.text(b.err)))


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


def run_scenario(t, name, fn):
    """Runs fn(t), one scenario of runner t (a Procs): prints its outcome
    with its figures (the dict fn returns), the stderr tails on a failure,
    and kills what it left running. @return "ok", "failed" or "skipped"."""
    t0 = time.monotonic()
    t.history.clear()
    print("scenario %s ..." % name, flush=True)
    try:
        figures = fn(t)
        print("scenario %s: ok in %.1fs" % (name, time.monotonic() - t0))
        for k, v in (figures or {}).items():
            print("    %s: %s" % (k, v))
        return "ok"
    except Skip as e:
        print("scenario %s: skipped: %s" % (name, e))
        return "skipped"
    except Fail as e:
        print("scenario %s: FAILED after %.1fs: %s" % (name, time.monotonic() - t0, e))
        t.report()
        return "failed"
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
            t.sent = {}  # every scenario has its own replicas
            if run_scenario(t, name, fn) == "failed":
                failed.append(name)
    finally:
        t.stop_all()
        if keep or failed:
            print("%s: stores and logs kept in %s" % (prog, root))
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("%s: %s in %.1fs, seed %d" % (prog, "FAILED: " + ",".join(failed) if failed else
                                         "all passed", time.monotonic() - t_all, seed))
    return 1 if failed else 0


def run_main(prefix, make, body):
    """Runs body(t) in a fresh temporary directory, t = make(root) (a Procs):
    prints body's summary and exits 0, or prints the failure (the files
    kept) with t.report() and exits 1; every background process is killed
    either way. For a test that is one scenario."""
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
        s.report()
        return 1
    finally:
        s.stop_all()
