"""The binding built against an installed library (docs/python.md,
"Against an installed msglog"): `cmake --install` into a prefix, then
`build_msglog.py --prefix`, and the package it writes imports and works with
nothing but PYTHONPATH, on the prefix's libmsglog."""
import os
import subprocess
import textwrap

from conftest import HERE, python

BUILDER = os.path.join(os.path.dirname(HERE), "build_msglog.py")


def test_build_against_an_installed_library(tmp_path):
    prefix, site = tmp_path / "prefix", tmp_path / "site"
    done = subprocess.run([os.environ["MSGLOG_CMAKE"], "--install", os.environ["MSGLOG_BUILD_DIR"],
                           "--prefix", str(prefix)], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    done = python(BUILDER, "--prefix", prefix, "--out", site)
    assert done.returncode == 0, done.stderr.decode()

    script = textwrap.dedent("""
        import sys, msglog
        with msglog.Store(sys.argv[1], 1, "alice") as s:
            s.send("team", "installed")
            print(msglog.__file__)
            print(s.info("team").n_messages)
        print(*sorted({l.split()[-1] for l in open("/proc/self/maps") if "libmsglog" in l}))
    """)
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("LD_LIBRARY_PATH", None)    # the rpath finds the library
    done = python("-c", script, tmp_path / "store", env=env, cwd=tmp_path)    # not on sys.path
    assert done.returncode == 0, done.stderr.decode()
    package, count, library = done.stdout.decode().splitlines()
    assert package == str(site / "msglog" / "__init__.py")
    assert count == "1"
    assert library.startswith(str(prefix) + "/lib")
