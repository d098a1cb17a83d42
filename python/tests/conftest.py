"""What the binding's tests share: stores in a temporary directory, the msglog
CLI (MSGLOG_CLI, set by the ctest `python`), and a store's whole view for
comparisons.

Run by `make test` (the ctest `python`, python/CMakeLists.txt), or by hand
from a build directory:
  PYTHONPATH=build/python MSGLOG_CLI=build/msglog /usr/bin/python3 -m pytest python/tests
"""
import json
import os
import subprocess
import sys

import pytest

import msglog

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")


@pytest.fixture
def stores(tmp_path):
    """make(name, replica=0, user=None, **options): a Store in tmp_path/name,
    closed at the end of the test."""
    made = []

    def make(name, replica=0, user=None, **options):
        store = msglog.Store(tmp_path / name, replica, user, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def cli(*args):
    """Runs the msglog CLI; its stdout (it must exit 0)."""
    exe = os.environ.get("MSGLOG_CLI")
    assert exe, "MSGLOG_CLI must name the msglog CLI (build/msglog)"
    done = subprocess.run([exe] + [str(a) for a in args], capture_output=True, check=False)
    assert done.returncode == 0, "msglog %s: %s" % (" ".join(map(str, args)), done.stderr.decode())
    return done.stdout.decode("utf-8")


def show_json(path, conv):
    """`msglog show --dir PATH CONV --json`, parsed."""
    return json.loads(cli("show", "--dir", path, conv, "--json"))


def python(*args, **kwargs):
    """Runs this interpreter as a child (the environment inherited, so it
    imports the same msglog package)."""
    return subprocess.run([sys.executable] + [str(a) for a in args], capture_output=True,
                          check=False, **kwargs)


def view(store):
    """Everything a store shows: each conversation's summary and messages."""
    return {conv: (store.info(conv), list(store.messages(conv)))
            for conv in store.conversations()}
