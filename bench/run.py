#!/usr/bin/env python3
"""`make bench` / `make bench-quick`: msglog's benchmarks next to Yjs, Automerge
and Loro, in one run.

    python3 bench/run.py                 # full scale (1,000,000 ops), writes docs/benchmarks.md
    python3 bench/run.py --ops 200000    # another scale
    python3 bench/run.py --quick         # tiny scale, checks only (make bench-quick, ctest bench_quick)

Steps: build Release (build-bench/), generate the workload (bench_gen), run the
C benches (bench_micro, bench_ingest x 3 delivery orders, bench_sync,
bench_coldopen, bench_equiv), profile the merge path with perf when it is installed, run
the peer benchmarks (node bench/peers/run.mjs), compare every final view with
the generator's expected view (one canonical form, defined here), and write
bench/results/*.json, docs/benchmarks.md and docs/benchmarks-ops.png.

Python 3 standard library only; the chart uses matplotlib from the Debian
package python3-matplotlib (through /usr/bin/python3 when this interpreter
lacks it), else gnuplot. Stores live in a scratch directory under $TMPDIR or
/tmp (never /dev/shm: durable commits must reach a disk), removed at the end.
"""

import argparse
import collections
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS_DIR = os.path.join(ROOT, "bench", "peers")
SYSTEMS = ["msglog", "yjs", "automerge", "loro"]
VARIANTS = ["causal", "shuffled", "duplicates"]
C_MODE = {"causal": "causal", "shuffled": "shuffled", "duplicates": "dups"}


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# The canonical view: the one place where "the same final view" is defined.
# sha256 of the JSON text with keys sorted, separators (",", ":"),
# ensure_ascii=False, UTF-8. Lists (reaction users) are compared as written:
# both sides write them sorted.

_canon_cache = {}


def canonical_view_hash(path):
    with open(path, "rb") as f:
        raw = f.read()
    raw_h = hashlib.sha256(raw).hexdigest()
    if raw_h not in _canon_cache:
        obj = json.loads(raw.decode("utf-8"))
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        _canon_cache[raw_h] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _canon_cache[raw_h]


# ---------------------------------------------------------------------------
# Running things


def run(cmd, cwd=ROOT, timeout=None, check=True, env=None):
    log("$ " + " ".join(cmd))
    t0 = time.time()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout, env=env)
    if p.stderr.strip():
        for line in p.stderr.strip().splitlines()[-20:]:
            sys.stderr.write("    " + line + "\n")
    if check and p.returncode != 0:
        raise SystemExit("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stdout[-2000:]))
    log("  done in %.1f s" % (time.time() - t0))
    return p


def run_json(cmd, **kw):
    p = run(cmd, **kw)
    lines = [l for l in p.stdout.splitlines() if l.strip().startswith("{")]
    if not lines:
        raise SystemExit("no JSON from " + " ".join(cmd))
    return json.loads(lines[-1])


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=30).stdout.strip()
    except Exception:
        return ""


# ---------------------------------------------------------------------------
# Machine and versions


def machine_info(scratch):
    info = {}
    info["cores"] = sh("nproc")
    cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    info["cpu"] = cpu.group(1).strip() if cpu else "unknown"
    mem = re.search(r"MemTotal:\s*(\d+) kB", open("/proc/meminfo").read())
    info["memory"] = "%.1f GiB" % (int(mem.group(1)) / 1048576) if mem else "unknown"
    info["kernel"] = sh("uname -sr")
    info["df"] = sh("df -hT %s | tail -1" % scratch)
    dev = sh("df --output=source %s | tail -1" % scratch)
    info["device"] = dev
    base = os.path.basename(dev)
    model = ""
    for cand in [base, re.sub(r"p?\d+$", "", base)]:
        for f in ["/sys/block/%s/device/model" % cand, "/sys/block/%s/device/vendor" % cand]:
            if os.path.exists(f):
                model += open(f).read().strip() + " "
        if model:
            break
    lsblk = sh("lsblk -dno NAME,MODEL,ROTA,SIZE %s 2>/dev/null" % dev)
    if model.strip() == "0x1af4":
        model = "virtio block device (vendor id 0x1af4), no model string"
    info["device_model"] = model.strip() or ("(not readable; lsblk: %s)" % lsblk if lsblk
                                              else "(not readable: a virtual disk)")
    rota = sh("cat /sys/block/%s/queue/rotational 2>/dev/null" % re.sub(r"p?\d+$", "", base))
    info["rotational"] = rota
    virt = sh("systemd-detect-virt 2>/dev/null")
    info["virtualization"] = virt or "unknown"
    return info


def versions():
    v = {}
    head = sh("git -C %s rev-parse --short=12 HEAD" % ROOT)
    dirty = sh("git -C %s status --porcelain --untracked-files=no -- crdt codec log src include" % ROOT)
    v["msglog"] = head + (" + uncommitted changes in the library" if dirty else "")
    for name, pc in [("lmdb", "lmdb"), ("msgpack-c", "msgpack"), ("xxhash", "libxxhash")]:
        v[name] = sh("pkg-config --modversion %s" % pc) or "unknown"
    v["cc"] = sh("cc --version | head -1")
    v["python"] = sys.version.split()[0]
    v["node"] = sh("node --version") or "not installed"
    pj = os.path.join(PEERS_DIR, "package.json")
    if os.path.exists(pj):
        deps = json.load(open(pj)).get("dependencies", {})
        for pkg, want in sorted(deps.items()):
            inst = os.path.join(PEERS_DIR, "node_modules", pkg, "package.json")
            got = json.load(open(inst))["version"] if os.path.exists(inst) else "not installed"
            v[pkg] = "%s (pinned %s)" % (got, want)
    return v


# ---------------------------------------------------------------------------
# Build


def build(build_dir):
    run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DMSGLOG_TESTS=OFF"])
    run(["cmake", "--build", build_dir, "-j", str(os.cpu_count() or 2), "--target",
         "bench_gen", "bench_ingest", "bench_sync", "bench_coldopen", "bench_micro", "bench_crypto",
         "bench_local", "bench_equiv"])
    return os.path.join(build_dir, "bench")


# ---------------------------------------------------------------------------
# The C benches


def c_benches(a, bindir, scratch, wl_dir, views, extra_scales, shuffled_scales):
    """The C benches at --ops, plus causal/duplicates ingest (and shuffled
    waypoints) at the peers' scales so that every peer figure has a msglog
    figure at the same scale next to it."""
    res = {}
    b = lambda name: os.path.join(bindir, name)
    common = ["--seed", str(a.seed), "--scratch", scratch]

    res["micro"] = run_json([b("bench_micro"), "--ops", str(min(a.ops, 200000)),
                             "--chain", str(a.chain)] + common)
    res["crypto"] = run_json([b("bench_crypto"), "--ms", "60" if a.quick else "3000"])
    res["local"] = run_json([b("bench_local"), "--sends", "200" if a.quick else "20000",
                             "--batch", "1000", "--scratch", scratch])

    def ingest_run(n, variant, view=True):
        cmd = [b("bench_ingest"), "--ops", str(n), "--mode", C_MODE[variant], "--batch", str(a.batch)] + common
        vf = os.path.join(views, "msglog-ingest-%s-%d.json" % (variant, n))
        ef = os.path.join(views, "msglog-expected-%d.json" % n)
        if view:
            cmd += ["--view", vf] + ([] if n == a.ops else ["--expected", ef])
        r = run_json(cmd)
        if view:
            r["view_file"] = vf
            r["expected_file"] = None if n == a.ops else ef
        return r

    ingest = {}
    for variant in ["causal", "duplicates"]:
        reps = a.repeats if variant == "causal" else 1
        runs = [ingest_run(a.ops, variant, view=(i == 0)) for i in range(reps)]
        ingest[variant] = summarize_ingest(runs)
    at = {}
    for n in sorted(set(extra_scales)):
        if n != a.ops:
            at[n] = {v: ingest_run(n, v) for v in ["causal", "duplicates"]}

    # Shuffled: a full shuffle of all ops. The series runs at two calls'
    # worth of ops (one call alone is sorted back into causal order), then
    # doubles, with the peers' scales as extra points, while the next run is
    # predicted to fit the budget, up to --ops.
    scales = set()
    n = min(a.shuffled_start or 2 * a.batch, a.ops)
    while n < a.ops:
        scales.add(n)
        n *= 2
    scales.add(a.ops)
    scales |= {x for x in shuffled_scales if x <= a.ops}
    series = []
    for n in sorted(scales):
        if series:
            # t ~ n^e with e from the last two runs, kept in [1, 2] (2: the
            # quadratic growth seen so far; assumed until two runs exist).
            expo = 2.0
            if len(series) >= 2 and series[-2]["seconds"] > 0.2:
                expo = min(2.0, max(1.0, math.log(series[-1]["seconds"] / series[-2]["seconds"]) /
                                    math.log(series[-1]["ops"] / series[-2]["ops"])))
            predicted = series[-1]["seconds"] * (n / series[-1]["ops"]) ** expo
            if predicted > a.shuffled_budget:
                log("shuffled: stopping the series at %d ops (%d ops predicted to take %.0f s > budget %d s)"
                    % (series[-1]["ops"], n, predicted, a.shuffled_budget))
                break
        r = ingest_run(n, "shuffled")
        series.append(r)
        if n in at:
            at[n]["shuffled"] = r
    best = dict(series[-1])
    best["series"] = [{"ops": r["ops"], "seconds": r["seconds"], "ops_per_s": r["ops_per_s"],
                       "cpu_seconds": r.get("cpu_seconds"), "ok": r["ok"]} for r in series]
    best["runs"] = 1
    best["full_scale"] = best["ops"] == a.ops
    best["ok"] = all(r["ok"] for r in series)
    best["all_series"] = series
    ingest["shuffled"] = best
    res["ingest"] = ingest
    res["ingest_at"] = at

    res["sync"] = run_json([b("bench_sync"), "--ops", str(a.ops), "--ks", a.ks, "--batch", str(a.batch),
                            "--view-dir", views] + common)
    res["coldopen"] = run_json([b("bench_coldopen"), "--messages", str(a.coldopen_messages),
                                "--runs", str(a.runs), "--batch", str(a.batch)] + common)
    res["equiv"] = run_json([b("bench_equiv"), "--messages", str(a.equiv_messages),
                             "--writes", str(a.equiv_writes), "--batch", str(a.batch)] + common)
    return res


def summarize_ingest(runs):
    s = dict(runs[0])
    rates = [r["ops_per_s"] for r in runs]
    s["runs"] = len(runs)
    s["ops_per_s_runs"] = rates
    s["ops_per_s"] = statistics.median(rates)
    s["received_per_s"] = statistics.median([r["received_per_s"] for r in runs])
    s["seconds"] = statistics.median([r["seconds"] for r in runs])
    s["cpu_seconds"] = statistics.median([r["cpu_seconds"] for r in runs])
    s["peak_rss_kb"] = max(r["peak_rss_kb"] for r in runs)
    s["ok"] = all(r["ok"] for r in runs)
    return s


# ---------------------------------------------------------------------------
# Profile (perf), when installed: where the CPU time of the merge path goes.

PROFILE_FUNCS = [
    ("msglog_receive_batch", "the whole receive call"),
    ("codec_op_decode", "decoding ops (codec_op_decode)"),
    ("utf8_valid", "  of which UTF-8 validation"),
    ("qsort", "sorting the batch by hlc"),
    ("apply_deliver", "delivering ops (merge rules + records)"),
    ("msgrec_load", "  loading message states (edits, reacts, deletes)"),
    ("msgrec_store", "  writing message states"),
    ("oprec_put", "  writing op records"),
    ("digest_op_hash", "  op hashes for the digest"),
    ("pending_wake", "waking pending ops"),
    ("pending_add", "parking ops in the pending buffer"),
    ("pending_erase_edits", "a delete scanning the pending buffer"),
    ("mdb_put", "LMDB puts (all tables)"),
    ("mdb_get", "LMDB gets"),
    ("mdb_txn_commit", "LMDB commit (page writes + fdatasync)"),
    ("malloc", "malloc/free"),
    ("[kernel]", "the kernel (page faults, writes)"),
]


MALLOC_SYMS = {"malloc", "free", "cfree", "realloc", "calloc", "_int_malloc", "_int_free", "_int_realloc",
               "__libc_malloc", "__libc_free", "__GI___libc_free", "__GI___libc_malloc", "__libc_realloc",
               "__libc_calloc", "malloc_consolidate", "cfree@GLIBC_2.2.5", "__GI___libc_realloc"}


def perf_profile(cmd, out_data):
    """CPU samples of cmd with DWARF call graphs; shares of the samples whose
    stack holds msglog_receive_batch, inclusive per function of interest."""
    if not shutil.which("perf"):
        return None
    p = subprocess.run(["perf", "record", "-q", "--call-graph", "dwarf,16384", "-F", "1000", "-o", out_data, "--"]
                       + cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        log("perf record failed: " + p.stderr.strip()[-300:])
        return None
    script = subprocess.Popen(["perf", "script", "-i", out_data, "-F", "ip,sym,dso"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, errors="replace")
    total = 0
    incl = collections.Counter()
    selfc = collections.Counter()
    stack = []

    def flush():
        nonlocal total
        if stack and "msglog_receive_batch" in stack:
            total += 1
            selfc[stack[0]] += 1
            for s_ in set(stack):
                incl[s_] += 1

    for line in script.stdout:
        line = line.strip()
        if not line:
            flush()
            stack = []
            continue
        m = re.match(r"^[0-9a-f]+\s+(.*?)\s+\((.*)\)$", line)
        if not m:
            continue
        sym, dso = m.group(1).split("+0x")[0], os.path.basename(m.group(2))
        if "kernel" in dso:
            sym = "[kernel]"
        elif sym == "[unknown]":
            sym = "[%s]" % dso
        if sym in MALLOC_SYMS:
            stack.append("malloc")
        stack.append(sym)
    flush()
    script.wait()
    os.unlink(out_data)
    if not total:
        return None
    prof = {"samples": total, "inclusive": {}, "top_self": []}
    for fn, _ in PROFILE_FUNCS:
        prof["inclusive"][fn] = round(100.0 * incl.get(fn, 0) / total, 1)
    for s_, c in selfc.most_common(8):
        prof["top_self"].append([s_, round(100.0 * c / total, 1)])
    skip = {"main", "_start", "__libc_start_main", "__libc_start_call_main", "__libc_start_main_impl",
            "msglog_receive_batch", "receive_once", "[bench_ingest]", "[unknown]"}
    prof["top_inclusive"] = [[s_, round(100.0 * c / total, 1)] for s_, c in incl.most_common(40)
                             if s_ not in skip][:12]
    return prof


def profiles(a, bindir, scratch):
    if a.no_profile or not shutil.which("perf"):
        return {}
    out = {}
    b = lambda name: os.path.join(bindir, name)
    n = min(a.ops, a.profile_ops)
    log("profiling causal ingest of %d ops with perf" % n)
    out["causal"] = perf_profile([b("bench_ingest"), "--ops", str(n), "--mode", "causal", "--seed", str(a.seed),
                                  "--scratch", scratch], os.path.join(scratch, "perf-causal.data"))
    if out["causal"]:
        out["causal"]["ops"] = n
    log("profiling duplicates ingest of %d ops with perf" % n)
    out["duplicates"] = perf_profile([b("bench_ingest"), "--ops", str(n), "--mode", "dups", "--seed", str(a.seed),
                                      "--scratch", scratch], os.path.join(scratch, "perf-dups.data"))
    if out["duplicates"]:
        out["duplicates"]["ops"] = n
    m = min(a.ops, a.profile_shuffled_ops)
    log("profiling shuffled ingest of %d ops with perf" % m)
    out["shuffled"] = perf_profile([b("bench_ingest"), "--ops", str(m), "--mode", "shuffled", "--seed",
                                    str(a.seed), "--scratch", scratch], os.path.join(scratch, "perf-shuffled.data"))
    if out["shuffled"]:
        out["shuffled"]["ops"] = m
    return out


# ---------------------------------------------------------------------------
# Peers


def ensure_peers(a):
    if a.no_peers:
        return "skipped (--no-peers)"
    if not shutil.which("node"):
        return "skipped: node is not installed"
    if not os.path.exists(os.path.join(PEERS_DIR, "run.mjs")):
        return "skipped: bench/peers/run.mjs is missing"
    if not os.path.isdir(os.path.join(PEERS_DIR, "node_modules")):
        if a.no_install:
            return "skipped: bench/peers/node_modules is missing (--no-install)"
        lock = os.path.exists(os.path.join(PEERS_DIR, "package-lock.json"))
        run(["npm", "ci" if lock else "install", "--no-audit", "--no-fund"], cwd=PEERS_DIR)
    return None


def peer_scales(a):
    """{system: ops}: Yjs and Loro at --peer-ops, Automerge at --automerge-ops
    (one update per op costs Automerge time proportional to the document)."""
    p = min(a.ops, a.peer_ops)
    return {"yjs": p, "loro": p, "automerge": min(p, a.automerge_ops)}


def workload_at(a, bindir, wl_dir, scratch, n):
    """The workload directory at scale n: the same generator and seed, so its
    ops are the first n ops of the full workload; its own divergence cases."""
    if n == a.ops:
        return wl_dir
    d = wl_dir + "-%d" % n
    if not os.path.exists(os.path.join(d, "expected.json")):
        run_json([os.path.join(bindir, "bench_gen"), "--ops", str(n), "--seed", str(a.seed), "--out", d,
                  "--ks", a.ks, "--check-ops", "0", "--scratch", scratch])
    return d


def run_peers(a, bindir, wl_dir, views, scratch):
    """bench/peers/run.mjs (see bench/peers/README.md), one call per group of
    systems at one scale for ingest + load, and one per group and k for sync.
    Returns {system: result} with result["scale"], result["workload_dir"],
    result["sync_by_k"], result["views"] = [{what, file, expected}]."""
    out_dir = os.path.join(scratch, "peers")
    cache = os.path.join(scratch, "peers-cache")
    os.makedirs(out_dir, exist_ok=True)
    groups = collections.OrderedDict()
    for name, n in peer_scales(a).items():
        groups.setdefault(n, []).append(name)
    peers, failures = {}, []
    base = ["node", os.path.join(PEERS_DIR, "run.mjs"), "--cache", cache, "--budget-s", str(a.peer_budget),
            "--load-runs", str(a.load_runs), "--automerge-max-ops", "0"]

    def view_name(stem, systems):
        # run.mjs uses the name as is for one system, else replaces {system}.
        return os.path.join(views, stem.replace("{system}", systems[0]) if len(systems) == 1 else stem)

    def call(systems, mode, workdir, out, extra):
        cmd = base + ["--system", ",".join(systems), "--mode", mode, "--workload", workdir, "--out", out] + extra
        p = run(cmd, timeout=a.peer_timeout, check=False)
        if p.returncode != 0:
            failures.append("%s %s exited with %d" % (",".join(systems), mode, p.returncode))
        if not os.path.exists(out):
            return {}
        d = json.load(open(out))
        lst = d["peers"] if "peers" in d else [d]
        return {x["system"]: x for x in lst if "system" in x}

    for n, systems in groups.items():
        d = workload_at(a, bindir, wl_dir, scratch, n)
        got = call(systems, "ingest,load", d, os.path.join(out_dir, "ingest-%d.json" % n),
                   ["--view-out", view_name("peer-ingest-{system}.json", systems)])
        for name in systems:
            obj = got.get(name, {"system": name, "error": "no result"})
            obj["scale"] = n
            obj["workload_dir"] = d
            obj["views"] = [{"what": "ingest causal", "file": os.path.join(views, "peer-ingest-%s.json" % name),
                             "expected": os.path.join(d, "expected.json")}]
            obj["sync_by_k"] = {}
            peers[name] = obj
        for k in [int(x) for x in a.ks.split(",")]:
            kd = os.path.join(d, "diverge-k%d" % k)
            stem = "peer-sync-k%d-{system}.json" % k
            got = call(systems, "sync", kd, os.path.join(out_dir, "sync-%d-k%d.json" % (n, k)),
                       ["--sync-view-out", view_name(stem, systems)])
            for name in systems:
                obj = got.get(name, {"error": "no result"})
                peers[name]["sync_by_k"][k] = obj.get("sync", {"error": obj.get("error", "no result")})
                peers[name]["views"].append({"what": "sync k=%d" % k,
                                             "file": os.path.join(views, stem.replace("{system}", name)),
                                             "expected": os.path.join(kd, "expected.json")})
    return peers, failures


# ---------------------------------------------------------------------------
# View checks


def _canon_worker(path):
    import gc
    gc.disable()
    return canonical_view_hash(path)


def canonical_hashes(paths):
    """Canonical hashes of many files: each distinct content once, on every core."""
    raw = {}
    for p in paths:
        if p and os.path.exists(p):
            with open(p, "rb") as f:
                raw[p] = hashlib.sha256(f.read()).hexdigest()
    todo = {}
    for p, h in raw.items():
        if h not in _canon_cache and h not in todo:
            todo[h] = p
    if todo:
        import concurrent.futures
        log("canonicalising %d distinct view file(s)" % len(todo))
        workers = min(len(todo), os.cpu_count() or 1)
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as ex:
            for h, c in zip(todo, ex.map(_canon_worker, todo.values())):
                _canon_cache[h] = c
    return {p: _canon_cache[h] for p, h in raw.items()}


def check_views(res, peers, wl_dir):
    """Every final view against the generator's expected view at its scale,
    canonically."""
    pairs = []   # (system, what, view file, expected file)
    exp_main = os.path.join(wl_dir, "expected.json")
    views_dir = os.path.dirname(res["ingest"]["causal"]["view_file"])
    n_all = int(res["gen"]["ops"])
    for variant in ["causal", "duplicates"]:
        pairs.append(("msglog", "ingest %s (%s ops)" % (variant, fmt(n_all)), res["ingest"][variant]["view_file"],
                      exp_main))
    for r in res["ingest"]["shuffled"]["all_series"]:
        pairs.append(("msglog", "ingest shuffled (%s ops)" % fmt(r["ops"]), r["view_file"],
                      r.get("expected_file") or exp_main))
    for n, byv in sorted(res["ingest_at"].items()):
        for variant in ["causal", "duplicates"]:
            r = byv[variant]
            pairs.append(("msglog", "ingest %s (%s ops)" % (variant, fmt(n)), r["view_file"], r["expected_file"]))
    for r in res["sync"]["runs"]:
        k = r["k"]
        pairs.append(("msglog", "sync k=%d (%s shared ops)" % (k, fmt(n_all)),
                      os.path.join(views_dir, "msglog-sync-k%d.json" % k),
                      os.path.join(wl_dir, "diverge-k%d" % k, "expected.json")))
    for name, obj in sorted(peers.items()):
        for v in obj.get("views", []):
            what = v["what"]
            what = what.replace("ingest causal", "ingest causal (%s ops)" % fmt(obj.get("scale")))
            if what.startswith("sync"):
                what += " (%s shared ops)" % fmt(obj.get("scale"))
            pairs.append((name, what, v["file"], v["expected"]))
    hashes = canonical_hashes([p for _, _, p, _ in pairs] + [w for _, _, _, w in pairs])
    checks = []
    for system, what, path, want in pairs:
        if path not in hashes:
            checks.append({"system": system, "what": what, "status": "no view file", "ok": False})
            continue
        ok = hashes[path] == hashes.get(want)
        checks.append({"system": system, "what": what, "sha256": hashes[path], "ok": ok,
                       "status": "equal" if ok else "DIFFERENT"})
    return checks, hashes.get(exp_main)


# ---------------------------------------------------------------------------
# Targets


def fmt(x, nd=0):
    if x is None:
        return "n/a"
    if isinstance(x, str):
        return x
    if nd == 0:
        return "{:,.0f}".format(x)
    return "{:,.{}f}".format(x, nd)


def short(x):
    x = float(x)
    for div, suf in [(1e6, "M"), (1e3, "k")]:
        if x >= div:
            return ("%.1f" % (x / div)).rstrip("0").rstrip(".") + suf
    return "%.0f" % x


def peer_rate(peers, system, variant):
    """(workload ops/s or None when it did not finish, the result, its scale)."""
    obj = peers.get(system, {})
    p = obj.get("ingest", {}).get(variant)
    if not p or p.get("error"):
        return None, p, obj.get("scale")
    rate = p.get("workload_ops_per_s") if p.get("completed") else None
    return rate, p, obj.get("scale")


def msglog_at(res, variant, n):
    """msglog's ingest result for variant at n ops, or None."""
    if n == int(res["gen"]["ops"]) and (variant != "shuffled" or res["ingest"]["shuffled"]["full_scale"]):
        return res["ingest"][variant]
    if variant == "shuffled":
        for r in res["ingest"]["shuffled"]["all_series"]:
            if r["ops"] == n:
                return r
        return None
    return res["ingest_at"].get(n, {}).get(variant)


def targets(a, res, peers):
    t = []
    ing = res["ingest"]
    c = ing["causal"]["ops_per_s"]
    t.append({"target": "durable merge >= 1,000,000 ops/s, causal order",
              "measured": "%s ops/s (%s ops, %s ops per commit, median of %d runs)" % (
                  fmt(c), fmt(ing["causal"]["ops"]), fmt(a.batch), ing["causal"]["runs"]),
              "met": c >= 1e6})
    s_ = ing["shuffled"]
    note = "" if s_["full_scale"] else (" at %s ops, the largest full shuffle that fit the %d s budget (the whole "
                                        "%s would take far longer: see the series below)" % (
                                            fmt(s_["ops"]), a.shuffled_budget, fmt(a.ops)))
    t.append({"target": "durable merge >= 500,000 ops/s, shuffled",
              "measured": "%s ops/s%s" % (fmt(s_["ops_per_s"]), note),
              "met": s_["full_scale"] and s_["ops_per_s"] >= 5e5})
    parts, met10, any_peer = [], True, False
    for variant in VARIANTS:
        worst = None   # the smallest msglog / peer ratio at the peer's own scale
        missing = []
        for name in SYSTEMS[1:]:
            rate, p, n = peer_rate(peers, name, variant)
            if rate is None:
                if p is not None:
                    missing.append("%s did not finish" % name)
                continue
            any_peer = True
            m = msglog_at(res, variant, n)
            if not m:
                missing.append("no msglog run at %s's %s ops" % (name, fmt(n)))
                met10 = False
                continue
            ratio = m["ops_per_s"] / rate
            if worst is None or ratio < worst[0]:
                worst = (ratio, name, n, m["ops_per_s"], rate)
        if worst:
            met10 = met10 and worst[0] >= 10
            one_call = variant == "shuffled" and worst[2] <= a.batch
            parts.append("%s: %.1fx %s (%s vs %s ops/s at %s ops%s)%s" % (
                variant, worst[0], worst[1], fmt(worst[3]), fmt(worst[4]), fmt(worst[2]),
                ": msglog gets that shuffle in one call and sorts it, the peer gets one update at a time"
                if one_call else "", "; " + ", ".join(missing) if missing else ""))
        else:
            parts.append("%s: %s" % (variant, ", ".join(missing) or "no peer result"))
    if not any_peer:
        met10 = False
    t.append({"target": ">= 10x the fastest peer's ingest rate, same workload (each peer against msglog at the "
                        "peer's scale; the smallest ratio shown)",
              "measured": "; ".join(parts) if peers else "peers not measured in this run", "met": met10})
    worst, rt_ok, bytes_ok = None, True, True
    for r in res["sync"]["runs"]:
        rt_ok = rt_ok and r["rounds_per_direction"] == 1
        for d in ("a_pulls", "b_pulls"):
            x = r[d]
            bytes_ok = bytes_ok and x["target_met"]
            used = (x["request_bytes"] + x["response_bytes"]) / x["limit_bytes"]
            if worst is None or used > worst[0]:
                worst = (used, r["k"], d, x)
    w = worst[3]
    t.append({"target": "sync bytes <= 1.1 x encoded missing ops + 64 B per vv entry; one round trip",
              "measured": "closest to the limit: k=%s, %s: %s B vs limit %s B (%.0f%% of it); round trips per "
                          "direction: 1 for every k" % (
                              fmt(worst[1]), worst[2].replace("_", " "), fmt(w["request_bytes"] + w["response_bytes"]),
                              fmt(w["limit_bytes"]), 100 * worst[0]) if rt_ok else
                          "round trips per direction: " + ", ".join("k=%d: %d" % (r["k"], r["rounds_per_direction"])
                                                                    for r in res["sync"]["runs"]),
              "met": rt_ok and bytes_ok})
    eq = res["equiv"]
    eq_ratio = max(eq["send"]["ratio_of_medians"], eq["react_on_equivocated"]["ratio_of_medians"])
    t.append({"target": "writes into a conversation holding one equivocation within 2x of one without",
              "measured": "%s messages, median of %s writes: send %.2f ms vs %.2f ms (%.2fx), react on the "
                          "equivocated message %.2f ms vs %.2f ms (%.2fx)" % (
                              fmt(eq["messages"]), fmt(eq["writes"]), eq["send"]["evidence"]["median_ms"],
                              eq["send"]["plain"]["median_ms"], eq["send"]["ratio_of_medians"],
                              eq["react_on_equivocated"]["evidence"]["median_ms"],
                              eq["react_on_equivocated"]["plain"]["median_ms"],
                              eq["react_on_equivocated"]["ratio_of_medians"]),
              "met": eq_ratio <= 2.0})
    co = res["coldopen"]
    t.append({"target": "cold open + newest 50 messages <= 2 ms at 1M messages",
              "measured": "%.2f ms median of %d fresh processes, file in the page cache; %.2f ms with the file "
                          "evicted from the page cache (%s messages)" % (
                              co["warm"]["median_total_ms"], co["warm"]["runs"], co["cold"]["median_total_ms"],
                              fmt(co["messages"])),
              "met": co["warm"]["median_total_ms"] <= 2.0 and co["messages"] >= 1000000})
    ic = ing["causal"]
    limit = 1.5 * ic["raw_body_bytes"] + 48 * ic["ops"]
    t.append({"target": "storage <= 1.5 x raw body bytes + 48 B per op",
              "measured": "%s B data.mdb for %s ops (%.1f B/op) vs limit %s B (%.1f B/op): %.2fx the limit" % (
                  fmt(ic["data_mdb_bytes"]), fmt(ic["ops"]), ic["bytes_per_op"], fmt(limit), limit / ic["ops"],
                  ic["data_mdb_bytes"] / limit),
              "met": ic["data_mdb_bytes"] <= limit})
    return t


# ---------------------------------------------------------------------------
# Chart


CHART_CODE = r'''
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
d = json.load(open(sys.argv[1]))
variants, systems = d["variants"], d["systems"]
fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
w = 0.8 / len(systems)
colors = ["#1f77b4", "#aec7e8", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
for i, s in enumerate(systems):
    xs, ys, labels = [], [], []
    for j, v in enumerate(variants):
        val = d["rates"].get(s, {}).get(v)
        if val:
            xs.append(j + (i - (len(systems) - 1) / 2) * w)
            ys.append(val)
            labels.append(d["labels"].get(s, {}).get(v, ""))
    bars = ax.bar(xs, ys, w, label=s, color=d.get("colors", {}).get(s, colors[i % len(colors)]))
    for x, y, lab in zip(xs, ys, labels):
        ax.text(x, y * 1.08, lab, ha="center", va="bottom", fontsize=7, rotation=90)
ax.set_yscale("log")
ax.set_xticks(range(len(variants)))
ax.set_xticklabels(d["xlabels"])
ax.set_ylabel("ops/s (log scale)")
ax.set_title(d["title"], fontsize=10)
ax.legend(fontsize=8)
ax.grid(axis="y", which="both", alpha=0.3)
top = max([v for s in d["rates"].values() for v in s.values() if v] + [10])
ax.set_ylim(top=top * 20)
fig.tight_layout()
fig.savefig(sys.argv[2])
'''


def make_chart(data, out_png, scratch):
    dj = os.path.join(scratch, "chart.json")
    json.dump(data, open(dj, "w"))
    for py in [sys.executable, "/usr/bin/python3"]:
        if not os.path.exists(py):
            continue
        if subprocess.run([py, "-c", "import matplotlib"], stderr=subprocess.DEVNULL).returncode != 0:
            continue
        p = subprocess.run([py, "-c", CHART_CODE, dj, out_png], stderr=subprocess.PIPE, text=True)
        if p.returncode == 0:
            return "matplotlib"
        log("chart failed: " + p.stderr[-500:])
    if shutil.which("gnuplot"):
        dat = os.path.join(scratch, "chart.dat")
        with open(dat, "w") as f:
            f.write("variant " + " ".join(data["systems"]) + "\n")
            for v, xl in zip(data["variants"], data["xlabels"]):
                f.write('"%s" ' % xl.replace("\n", " ") + " ".join(
                    str(data["rates"].get(s, {}).get(v) or "NaN") for s in data["systems"]) + "\n")
        gp = ("set terminal pngcairo size 900,480; set output '%s'; set style data histograms; "
              "set style fill solid; set logscale y; set ylabel 'ops/s'; set key top right; "
              "set title '%s'; plot for [i=2:%d] '%s' using i:xtic(1) title columnheader\n"
              % (out_png, data["title"], 1 + len(data["systems"]), dat))
        if subprocess.run(["gnuplot"], input=gp, text=True).returncode == 0:
            return "gnuplot"
    return None


# ---------------------------------------------------------------------------
# The document


def write_doc(a, path, png_name, ctx):
    res, peers, t = ctx["res"], ctx["peers"], ctx["targets"]
    gen, m, v = res["gen"], ctx["machine"], ctx["versions"]
    checks = ctx["checks"]
    L = []
    w = L.append

    def view_status(system, prefix):
        for c in checks:
            if c["system"] == system and c["what"].startswith(prefix):
                return c["status"]
        return "n/a"

    w("# msglog benchmarks")
    w("")
    w("Written by `make bench` (`bench/run.py`) on %s; every figure below comes from that one run. "
      "Scale: **%s ops** for msglog (seed %d); the peers run on the first %s ops of the same workload "
      "(Automerge: %s), with msglog measured again at those scales next to them: one native update per op "
      "at the full scale would keep the peers busy for hours on this machine (Automerge's cost per update "
      "grows with the document, see `bench/peers/README.md`). Rerun with `make bench` "
      "(or `python3 bench/run.py --ops N`); the raw results are in `bench/results/*.json`." % (
          ctx["date"], fmt(a.ops), a.seed, fmt(min(a.ops, a.peer_ops)), fmt(peer_scales(a)["automerge"])))
    w("")
    w("## Targets")
    w("")
    w("| target | measured in this run | |")
    w("|---|---|---|")
    for x in t:
        w("| %s | %s | **%s** |" % (x["target"], x["measured"], "MET" if x["met"] else "NOT MET"))
    w("")
    w("## Machine, command, versions")
    w("")
    w("- machine: %s cores (`nproc`), %s; %s memory; %s; virtualization: %s; 1-minute load average %s before "
      "and %s after the run (other work shares this machine: figures move between runs)" % (
          m["cores"], m["cpu"], m["memory"], m["kernel"], m["virtualization"], ctx["load_before"],
          ctx["load_after"]))
    w("- disk of the scratch directory (`df -hT`): `%s`; device %s: %s%s" % (
        m["df"], m["device"], m["device_model"],
        "" if m["rotational"] == "" else " (queue/rotational=%s)" % m["rotational"]))
    w("- command: `%s` from the repository root; %.0f s in all" % (ctx["command"], ctx["elapsed"]))
    w("- versions: " + "; ".join("%s %s" % (k, val) for k, val in v.items()))
    w("- msglog: CMake Release build (`-O3`); the bench programs link the library's objects (the generator "
      "uses the internal codec; everything measured goes through `include/msglog.h`). Stores live in a "
      "scratch directory on the disk above, removed afterwards; durable commits (LMDB without `MDB_NOSYNC`); "
      "16 GiB initial map; no cap on the pending buffer (`max_pending_ops`/`max_pending_bytes` raised: a full "
      "shuffle parks almost every op).")
    w("- peers: `bench/peers/run.mjs` (see `bench/peers/README.md`), in-memory documents, nothing persisted; "
      "%d s budget per ingest run, %d load runs." % (a.peer_budget, a.load_runs))
    w("")
    w("## Workload")
    w("")
    w("`bench/workload.c`, seeded and deterministic: one conversation, 8 replicas (6 users; u1 and u6 on two "
      "devices each), a linear causal history (each op's creator has seen every earlier op; deps, hlc and edit "
      "refs as msglog makes them), so any prefix is itself a complete workload. Targets lean to recent "
      "messages (exponential: mean 3 messages back for edits and deletes of the user's own live messages, 20 "
      "for reactions on live messages, 2 for reads).")
    w("")
    w("| ops | sends | edits | deletes | reactions | reads | raw body bytes | msglog encoding | mean op |")
    w("|---|---|---|---|---|---|---|---|---|")
    w("| %s | %s | %s | %s | %s | %s | %s | %s B | %.1f B |" % (
        fmt(gen["ops"]), fmt(gen["sends"]), fmt(gen["edits"]), fmt(gen["deletes"]), fmt(gen["reacts"]),
        fmt(gen["reads"]), fmt(gen["raw_body_bytes"]), fmt(gen["encoded_bytes"]),
        gen["encoded_bytes"] / gen["ops"]))
    w("")
    w("The peers get the same ops as `workload.jsonl`, one JSON object per line in creation order: "
      "`{\"op\":\"send\",\"replica\":0..7,\"user\":\"u1\"..\"u6\",\"msg\":17,\"body\":\"...\"}`; edit, delete, "
      "react and read name their message by `msg`, the index of its send (react adds `key`); `replica` is "
      "msglog's replica id minus 1. Each system applies every op as its own native update. Every final view is "
      "compared with the generator's `expected.json` as the sha256 of its canonical JSON (sorted keys, "
      "`(',', ':')` separators, UTF-8), computed in `bench/run.py` only (see View checks).")
    w("")

    # ---- ingest
    w("## 1. Merge ingest")
    w("")
    w("An empty replica receives every op. msglog: `msglog_receive_batch` with **%s ops per call, one durable "
      "commit per call**, timed over the receive calls only. Peers: one native update per op applied to an "
      "empty in-memory document, one call per update, timed the same way (producing the updates is not "
      "timed). Orders: **causal** (creation order), **shuffled** (a uniform seeded shuffle of all the ops), "
      "**duplicates** (causal, and after each op with probability 0.1 a re-delivery of a uniformly chosen "
      "earlier op: about 1.1 n deliveries). ops/s = workload ops / seconds. Peak RSS: msglog's process "
      "(it holds the whole workload: see the size before open); peers: VmHWM reset after the updates were "
      "loaded." % fmt(a.batch))
    w("")
    if ctx.get("chart"):
        w("![ops/s per system and delivery order](%s)" % png_name)
    else:
        w("(no chart: neither matplotlib nor gnuplot was available)")
    w("")
    w("| system | order | ops | ops/s | seconds | peak RSS | bytes/op stored | final view |")
    w("|---|---|---|---|---|---|---|---|")
    scales = sorted({a.ops} | set(res["ingest_at"]) | {r["ops"] for r in res["ingest"]["shuffled"]["all_series"]},
                    reverse=True)
    for variant in VARIANTS:
        for n in scales:
            r = msglog_at(res, variant, n)
            if not r:
                continue
            if variant == "shuffled" and n not in res["ingest_at"] and n != res["ingest"]["shuffled"]["ops"]:
                continue   # the rest of the series is listed below the table
            runs = r.get("runs", 1)
            w("| msglog | %s | %s | **%s**%s | %.2f (CPU %.2f) | %.0f MiB (%.0f before open) | %.1f (data.mdb) | %s |" % (
                variant, fmt(n), fmt(r["ops_per_s"]),
                " (median of %d: %s)" % (runs, ", ".join(fmt(x) for x in r["ops_per_s_runs"])) if runs > 1 else "",
                r["seconds"], r.get("cpu_seconds", 0), r["peak_rss_kb"] / 1024, r["rss_before_open_kb"] / 1024,
                r["bytes_per_op"], view_status("msglog", "ingest %s (%s ops)" % (variant, fmt(n)))))
        for name in SYSTEMS[1:]:
            rate, p, n = peer_rate(peers, name, variant)
            if name not in peers:
                continue
            if not p:
                w("| %s | %s | | %s | | | | |" % (name, variant, peers[name].get("error", "not measured")))
                continue
            if p.get("error"):
                w("| %s | %s | %s | error: %s | | | | |" % (name, variant, fmt(n), p["error"]))
                continue
            view = view_status(name, "ingest causal") if variant == "causal" else (
                "matches its in-order fold" if p.get("view_matches_sequential_fold") else
                ("n/a" if not p.get("completed") else "DIFFERENT from its fold"))
            w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name, variant, fmt(n),
                "**%s**" % fmt(rate) if rate else "did not finish: %s of %s deliveries in %s s" % (
                    fmt(p.get("delivered")), fmt(p.get("deliveries")), p.get("seconds")),
                p.get("seconds", "") if rate else "", "%s MiB" % fmt(p.get("peak_rss_mb"), 0) if p.get("peak_rss_mb")
                else "", "%s (doc)" % fmt(p.get("doc_bytes_per_op"), 1) if p.get("doc_bytes_per_op") else "", view))
    w("")
    am = peers.get("automerge", {}).get("ingest", {}).get("causal_core")
    if am and am.get("completed"):
        w("Automerge's Rust core alone (changes applied to the backend handle, no JS document): %s ops/s at %s ops." % (
            fmt(am.get("workload_ops_per_s")), fmt(peers["automerge"].get("scale"))))
        w("")
    for name in SYSTEMS[1:]:
        for note in peers.get(name, {}).get("notes", []):
            w("- %s: %s" % (name, note))
    if peers:
        w("")
    sh_ = res["ingest"]["shuffled"]
    series_text = "; ".join("%s ops: %s ops/s (%.1f s)" % (fmt(x["ops"]), fmt(x["ops_per_s"]), x["seconds"])
                            for x in sh_["series"])
    stop_text = "" if sh_["full_scale"] else (" The series stops where the next run was predicted to take more "
                                              "than %d s." % a.shuffled_budget)
    w("msglog, full shuffle by scale: %s.%s At %s ops or fewer the whole shuffle is one call, which msglog sorts "
      "by hlc before applying it, so it behaves as causal; from two calls on, ops wait in the pending buffer "
      "across calls." % (series_text, stop_text, fmt(a.batch)))
    w("")
    ic = res["ingest"]["causal"]
    if ic.get("lmdb"):
        lm = ic["lmdb"]
        w("Where msglog's bytes go after the causal ingest of %s ops (`mdb_stat`, %s B pages): " % (
            fmt(ic["ops"]), fmt(lm["page_size"])) +
          "; ".join("`%s` %s entries in %s pages = %.1f B/entry" % (
              name, fmt(x["entries"]), fmt(x["pages"]), x["pages"] * lm["page_size"] / x["entries"])
              for name, x in lm["tables"].items() if x["entries"] > 100) +
          "; %s free pages. The op encodings alone are %.1f B/op and the raw bodies %.1f B/op; data.mdb is %.2fx "
          "the raw body bytes. The run wrote %s B to storage (`/proc/self/io`), %.2fx the final data.mdb, and "
          "spent %.2f s of its %.2f s on the CPU: the rest is waiting for writes and `fdatasync`." % (
              fmt(lm["free_pages"]), ic["encoded_op_bytes"] / ic["ops"], ic["raw_body_bytes"] / ic["ops"],
              ic["data_mdb_bytes"] / ic["raw_body_bytes"], fmt(ic.get("written_bytes")),
              ic.get("written_bytes", 0) / ic["data_mdb_bytes"], ic["cpu_seconds"], ic["seconds"]))
        w("")

    # ---- sync
    w("## 2. Delta sync after divergence")
    w("")
    w("Replicas A and B share the %s ops; then A's side (the devices of u1-u3) and B's side (u4-u6) each make "
      "k ops concurrently from that state. msglog: A pulls (A's `msglog_sync_request` -> B's "
      "`msglog_sync_response` -> A's `msglog_sync_apply`), then B pulls the same way. **One pull = one round "
      "trip** (a request and its response); the two pulls are independent and could run at once. Bytes A->B = "
      "A's request + A's response to B's request. The yardstick is the encoded size of the ops the puller "
      "lacks (the generator's encodings of the other side's k ops). After the pulls both digests are equal, "
      "pending is 0, both views equal the expected merged view, and a second pull each way carries no op." % (
          fmt(gen["ops"])))
    w("")
    w("| k | A->B | B->A | round trips per direction | missing ops, encoded (A lacks / B lacks) | "
      "(request + response) / missing | within 1.1x + 64 B per vv entry | apply (A / B) | view |")
    w("|---|---|---|---|---|---|---|---|---|")
    for r in res["sync"]["runs"]:
        pa, pb = r["a_pulls"], r["b_pulls"]
        w("| %s | %s B | %s B | %d | %s B / %s B | %s / %s | %s | %.1f / %.1f ms | %s |" % (
            fmt(r["k"]), fmt(r["bytes_a_to_b"]), fmt(r["bytes_b_to_a"]), r["rounds_per_direction"],
            fmt(pa["missing_ops_encoded_bytes"]), fmt(pb["missing_ops_encoded_bytes"]),
            fmt(pa["ratio_to_missing"], 3) if pa["missing_ops_encoded_bytes"] else "-",
            fmt(pb["ratio_to_missing"], 3) if pb["missing_ops_encoded_bytes"] else "-",
            "yes" if pa["target_met"] and pb["target_met"] else "NO", pa["apply_ms"], pb["apply_ms"],
            view_status("msglog", "sync k=%d " % r["k"])))
    w("")
    rows = []
    for name in SYSTEMS[1:]:
        for k, sy in sorted(peers.get(name, {}).get("sync_by_k", {}).items()):
            if sy.get("error"):
                rows.append("| %s | %s | | error: %s | | | | |" % (name, fmt(k), sy["error"]))
                continue
            for run_ in sy.get("runs", []):
                rows.append("| %s | %s | %s | %s | %s B | %s B | %s | %s |" % (
                    name, fmt(k), fmt(sy.get("shared_ops")), run_.get("variant", ""),
                    fmt(run_.get("a_to_b", {}).get("bytes")), fmt(run_.get("b_to_a", {}).get("bytes")),
                    run_.get("round_trips", ""),
                    (view_status(name, "sync k=%d " % k) if run_ is sy["runs"][0] else
                     ("converged" if run_.get("converged") else "NOT converged"))))
    if rows:
        w("Peers (A and B load the shared document, make their k ops as local changes, then sync with the "
          "library's own protocol, both sides at once; a round trip = two one-way trips):")
        w("")
        w("| system | k | shared ops | protocol variant | A->B | B->A | round trips | view |")
        w("|---|---|---|---|---|---|---|---|")
        L.extend(rows)
        w("")

    # ---- cold open
    co = res["coldopen"]
    w("## 3. Cold open and newest page")
    w("")
    w("A store holding a conversation of %s messages (%s ops, built untimed). A new process (fork + exec) times "
      "`msglog_open` + `msglog_messages(BACKWARD from the end, 50)` + `msglog_free` + `msglog_close` inside "
      "itself; %d runs per cache state, median. **warm**: the OS page cache holds the file (the process is new, "
      "the file is not); **cold**: `data.mdb` and `lock.mdb` evicted with `posix_fadvise(DONTNEED)` before each "
      "run." % (fmt(co["messages"]), fmt(co["ops"]), co["warm"]["runs"]))
    w("")
    w("| system | messages | cache | median | min | max | open | page | close | page faults | stored bytes per message |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for cache in ["warm", "cold"]:
        x = co[cache]
        w("| msglog | %s | %s | **%.3f ms** | %.3f ms | %.3f ms | %.3f ms | %.3f ms | %.3f ms | %d minor, %d major | %.1f B (%.1f B/op) |" % (
            fmt(co["messages"]), cache, x["median_total_ms"], x["min_total_ms"], x["max_total_ms"],
            x["median_run_open_ms"], x["median_run_page_ms"], x["median_run_close_ms"],
            x.get("median_run_minor_faults", 0), x.get("median_run_major_faults", 0),
            co["bytes_per_message"], co["bytes_per_op"]))
    for name in SYSTEMS[1:]:
        lo = peers.get(name, {}).get("load")
        if lo and lo.get("runs"):
            pg = lo.get("page") or {}
            w("| %s | %s | warm | **%s ms** | | | load %s ms | page %s ms | | | %s B (doc file) |" % (
                name, fmt(peers[name]["generation"]["sends"]) if peers[name].get("generation") else "?",
                fmt(lo.get("median_open_and_page_ms"), 3), fmt(lo.get("median_load_ms"), 3),
                fmt(lo.get("median_page_ms"), 3), fmt(lo.get("file_bytes_per_message"), 1)))
    w("")
    if any(peers.get(n, {}).get("load") for n in SYSTEMS[1:]):
        w("Peers: a fresh node process reads the saved document of its causal run, loads it and renders the 50 "
          "newest messages (a scan of the message keys: a map has no order); the median over %d processes of "
          "read + load + page, without node start-up and library import." % a.load_runs)
        w("")

    # ---- micro
    mi = res["micro"]
    w("## 4. Micro")
    w("")
    w("| what | figure |")
    w("|---|---|")
    w("| op encode (`codec_op_encode`, internal), %s ops | %s ops/s (%.0f ns/op, mean op %.1f B) |" % (
        fmt(mi["ops"]), fmt(mi["encode_ops_per_s"]), mi["encode_ns_per_op"], mi["mean_op_bytes"]))
    w("| op decode (`codec_op_decode` + `codec_op_clear`) | %s ops/s (%.0f ns/op) |" % (
        fmt(mi["decode_ops_per_s"]), mi["decode_ns_per_op"]))
    w("| digest update (body hash + `digest_op_hash` + `digest_add`) | %.0f ns/op |" % mi["digest_ns_per_op"])
    for key, label in [("pending_sends", "sends only"), ("pending_mix", "the usual mix, %d deletes")]:
        p = mi[key]
        lab = label % p["deletes"] if "%d" in label else label
        w("| pending buffer: a chain of %s ops of one replica (%s), %d per call, calls in order / reversed "
          "(%s ops wait until the last call) | %s / %s ops/s: **%.2f us per op** for waiting |" % (
              fmt(p["ops"]), lab, p["batch"], fmt(p["pending_before_release"]), fmt(p["causal_ops_per_s"]),
              fmt(p["reverse_ops_per_s"]), p["pending_cost_us_per_op"]))
    w("")
    lo = res["local"]
    w("Local writes (`bench_local`): %s `msglog_send` calls, one durable commit each, against the same "
      "messages through `msglog_write_batch`, %s per commit:" % (fmt(lo["sends"]), fmt(lo["batch"])))
    w("")
    w("| what | figure |")
    w("|---|---|")
    w("| one by one | %s sends/s (%.1f s) |" % (fmt(lo["one_by_one_per_s"]), lo["one_by_one_s"]))
    w("| batched | %s sends/s (%.2f s): %.0fx |" % (fmt(lo["batched_per_s"]), lo["batched_s"],
                                                    lo["batched_per_s"] / lo["one_by_one_per_s"]))
    w("")
    cr = res["crypto"]
    w("Cryptographic primitives (`bench_crypto`; libsodium, one core), beside XXH3:")
    w("")
    w("| what | figure |")
    w("|---|---|")
    w("| Ed25519 verify, 100-byte message | %s per second (%.0f us each) |" % (
        fmt(cr["verify_per_s"]), 1e6 / cr["verify_per_s"]))
    w("| Ed25519 sign, 100-byte message | %s per second |" % fmt(cr["sign_per_s"]))
    w("| BLAKE2b-128: 1 MiB / 100 bytes | %.0f MB/s / %.0f ns |" % (
        cr["blake2b_1mib_mb_per_s"], cr["blake2b_100b_ns"]))
    w("| XXH3-128: 1 MiB / 100 bytes | %.0f MB/s / %.0f ns |" % (cr["xxh3_1mib_mb_per_s"], cr["xxh3_100b_ns"]))
    w("")

    # ---- equivocation
    eq = res["equiv"]
    w("## 5. Writes after an equivocation")
    w("")
    w("`bench_equiv`: two stores hold the same conversation of %s messages (%s ops); one of them then receives a "
      "second version of one send (same id, another body: %.1f ms, `MSGLOG_EEQUIVOCAL`). Then %s rounds of one "
      "`msglog_send` into each store, alternating, each call one durable commit timed alone; then as many "
      "`msglog_react` on the equivocated message (docs/reliability.md, \"Equivocation\")." % (
          fmt(eq["messages"]), fmt(eq["ops"]), eq["receive_other_version_ms"], fmt(eq["writes"])))
    w("")
    w("| write | store | median | mean | p90 | CPU (median) | calls/s | evidence / plain (medians) |")
    w("|---|---|---|---|---|---|---|---|")
    for kind, label in [("send", "send"), ("react_on_equivocated", "react on the equivocated message")]:
        for store in ["plain", "evidence"]:
            x = eq[kind][store]
            w("| %s | %s | %.3f ms | %.3f ms | %.3f ms | %.3f ms | %s | %s |" % (
                label, "without evidence" if store == "plain" else "one equivocation", x["median_ms"],
                x["mean_ms"], x["p90_ms"], x["cpu_median_ms"], fmt(x["calls_per_s"]),
                "**%.2fx**" % eq[kind]["ratio_of_medians"] if store == "evidence" else ""))
    w("")

    # ---- profile
    w("## Where the time goes")
    w("")
    pr = ctx.get("profiles") or {}
    if pr.get("causal"):
        w(profile_notes(pr, res))
    else:
        w("(perf was not available: no profile in this run.)")
    w("")

    # ---- checks
    w("## View checks")
    w("")
    w("Canonical sha256 of the generator's expected view at %s ops: `%s`." % (fmt(a.ops), ctx["expected_hash"]))
    w("")
    w("| system | what | final view vs the generator's expected view |")
    w("|---|---|---|")
    for c in checks:
        w("| %s | %s | %s |" % (c["system"], c["what"], c["status"]))
    w("")
    if ctx.get("peer_status"):
        w("Peers: %s." % ctx["peer_status"])
        w("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def profile_notes(pr, res):
    c = pr["causal"]
    i = c["inclusive"]
    ic = res["ingest"]["causal"]
    lines = []
    lines.append("CPU samples from `perf record --call-graph dwarf` of `bench_ingest` in this run, as a share of "
                 "the samples inside `msglog_receive_batch` (CPU only: time blocked in `fdatasync` is not "
                 "sampled; the %s-op causal run above used %.2f s of CPU in %.2f s of wall time)." % (
                     fmt(ic["ops"]), ic["cpu_seconds"], ic["seconds"]))
    lines.append("")
    lines.append("- **Causal, %s ops**: decoding ops %.0f%% (UTF-8 validation %.0f%%), delivering %.0f%% "
                 "(op records %.0f%%, message states written %.0f%% and loaded %.0f%%, digest %.0f%%), LMDB puts "
                 "%.0f%%, gets %.0f%%, commit %.0f%%, malloc/free %.0f%%, kernel %.0f%%. Top self: %s." % (
                     fmt(c["ops"]), i["codec_op_decode"], i["utf8_valid"], i["apply_deliver"], i["oprec_put"],
                     i["msgrec_store"], i["msgrec_load"], i["digest_op_hash"], i["mdb_put"], i["mdb_get"],
                     i["mdb_txn_commit"], i["malloc"], i["[kernel]"],
                     ", ".join("`%s` %.0f%%" % (s, p) for s, p in c["top_self"][:5])))
    s = pr.get("shuffled")
    if s:
        j = s["inclusive"]
        lines.append("- **Shuffled, %s ops**: waking pending ops %.0f%%, parking them %.0f%%, a delete erasing "
                     "the pending edits of its message %.0f%% (one seek in an index by target since 2f7af09; it "
                     "was a scan of the whole buffer per delete: 82%% of the shuffled profile at 20,000 ops, and "
                     "2,780 ops/s at 80,000 ops, in the run of 4fccd8f), decoding ops (all callers) %.0f%%, LMDB puts %.0f%%. Top self: "
                     "%s. The CPU is not the whole story: the pending buffer is durable, its keys are scattered, "
                     "so each commit rewrites pages all over it (see the bytes written in the table of section "
                     "1)." % (
                         fmt(s["ops"]), j["pending_wake"], j["pending_add"], j["pending_erase_edits"],
                         j["codec_op_decode"], j["mdb_put"], ", ".join("`%s` %.0f%%" % (x, p) for x, p in s["top_self"][:5])))
    d = pr.get("duplicates")
    if d:
        lines.append("- **Duplicates, %s ops** (about 10%% re-deliveries; each is compared byte for byte with "
                     "the held copy read back from LMDB, and decoded and hashed only when the bytes differ, to "
                     "detect equivocation): largest inclusive shares: "
                     "%s." % (fmt(d["ops"]), ", ".join("`%s` %.0f%%" % (x, p) for x, p in d["top_inclusive"][:8])))
    co = res["coldopen"]
    wm, cd = co["warm"], co["cold"]
    lines.append("- **Cold open** (%s messages, from the table above): open %.2f ms, newest page %.2f ms, close "
                 "%.2f ms, %d page faults, with the file in the page cache; evicted, the page takes %.1f ms with "
                 "%d major faults: each of the 50 messages needs its `msgs` entry plus a lookup of its send (and "
                 "best edit) in `ops`, in pages far apart that come from disk when the file is not cached." % (
                     fmt(co["messages"]), wm["median_run_open_ms"], wm["median_run_page_ms"],
                     wm["median_run_close_ms"], wm.get("median_run_minor_faults", 0), cd["median_run_page_ms"],
                     cd.get("median_run_major_faults", 0)))
    lm = res["ingest"]["causal"].get("lmdb")
    if lm and "ops" in lm["tables"] and "msgs" in lm["tables"]:
        o, m_ = lm["tables"]["ops"], lm["tables"]["msgs"]
        lines.append("- **Storage**: `ops` takes %.0f B per op record and `msgs` %.0f B per message (table "
                     "pages / entries), well above the record sizes: keys are inserted in the middle of the "
                     "B-tree (8 interleaved origin ranges in `ops`; `msgs` records rewritten larger by edits and "
                     "reactions) and LMDB splits full pages in half unless `MDB_APPEND` is used." % (
                         o["pages"] * lm["page_size"] / o["entries"], m_["pages"] * lm["page_size"] / m_["entries"]))
    lines.append("- Fixed after the first run: pending edits are indexed by their target, so a delete finds "
                 "its message's pending edits with one seek (the quadratic shuffled ingest); a duplicate is "
                 "recognised by its bytes before any decoding or hashing (no gain that this run can show: "
                 "%s ops/s with duplicates at %s ops, against 401,308 in the run of 4fccd8f, within the "
                 "spread between runs). Tried and dropped (trial builds, "
                 "`bench_ingest --ops 1000000 --mode causal`): `MDB_APPEND` for new `msgs` records (full pages split again as soon as edits and reactions grow their records: "
                 "18,439 pages instead of 16,904 at 1,000,000 ops) and for `ops` (only the last origin's range "
                 "is at the end of the table: 53,814 pages instead of 54,021)." % (
                     fmt(res["ingest"]["duplicates"]["ops_per_s"]), fmt(res["ingest"]["duplicates"]["ops"])))
    lines.append("- Not done, and what it would take: the storage target needs each op stored once, compactly "
                 "and in append order (an arrival-ordered op log with `MDB_APPEND`, message states without "
                 "copies of what the log holds, records without the fields their keys hold); the shuffled "
                 "target needs a pending buffer whose writes do not scatter (an append-only parking log plus an "
                 "in-memory index rebuilt at open); the causal target needs the CPU per op halved (one decode "
                 "per op, no allocation per op, message states updated in place).")
    return "\n".join(lines)


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", type=int, default=None, help="workload size (default 1,000,000; quick: 20,000)")
    ap.add_argument("--quick", action="store_true", help="tiny scale, checks only, no doc")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--batch", type=int, default=10000, help="ops per msglog_receive_batch call (= per commit)")
    ap.add_argument("--repeats", type=int, default=None, help="runs of the causal ingest at --ops (median; 3)")
    ap.add_argument("--ks", default=None, help="divergence sizes (default 0,1,100,10000)")
    ap.add_argument("--runs", type=int, default=None, help="cold-open runs per cache state (default 11)")
    ap.add_argument("--coldopen-messages", type=int, default=None, help="default: --ops")
    ap.add_argument("--chain", type=int, default=None, help="pending-buffer micro chain length")
    ap.add_argument("--equiv-messages", type=int, default=None,
                    help="messages of the equivocation bench's conversation (default 20,000; quick: 2,000)")
    ap.add_argument("--equiv-writes", type=int, default=None, help="writes of each kind per store (200; quick: 20)")
    ap.add_argument("--shuffled-start", type=int, default=None,
                    help="first scale of the shuffled series (default: two calls, 2 x --batch)")
    ap.add_argument("--shuffled-budget", type=int, default=None, help="seconds a shuffled run may take (90)")
    ap.add_argument("--profile-ops", type=int, default=200000)
    ap.add_argument("--profile-shuffled-ops", type=int, default=20000)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-install", action="store_true", help="do not npm-install the peers")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--peer-ops", type=int, default=None, help="Yjs and Loro scale (default 20,000)")
    ap.add_argument("--automerge-ops", type=int, default=None, help="Automerge scale (default 5,000)")
    ap.add_argument("--peer-budget", type=int, default=None, help="seconds per peer ingest run (default 60)")
    ap.add_argument("--load-runs", type=int, default=None, help="peer load runs (default 5)")
    ap.add_argument("--peer-timeout", type=int, default=None, help="seconds per run.mjs call (default 3600)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--bin-dir", default=None)
    ap.add_argument("--scratch", default=None, help="parent of the scratch directory (default $TMPDIR or /tmp)")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    if a.quick:
        a.ops = a.ops or 20000
        a.repeats = a.repeats or 1
        a.ks = a.ks or "0,1,100,1000"
        a.runs = a.runs or 3
        a.chain = a.chain or 2000
        a.equiv_messages = a.equiv_messages or 2000
        a.equiv_writes = a.equiv_writes or 20
        a.shuffled_budget = a.shuffled_budget or 20
        a.peer_ops = a.peer_ops or 2000
        a.automerge_ops = a.automerge_ops or 1000
        a.peer_budget = a.peer_budget or 20
        a.load_runs = a.load_runs or 2
        a.no_profile = True
        a.peer_timeout = a.peer_timeout or 600
    a.ops = a.ops or 1000000
    a.repeats = a.repeats or 3
    a.ks = a.ks or "0,1,100,10000"
    a.runs = a.runs or 11
    a.chain = a.chain or 20000
    a.equiv_messages = a.equiv_messages or 20000
    a.equiv_writes = a.equiv_writes or 200
    a.coldopen_messages = a.coldopen_messages or max(a.ops, 100)
    a.shuffled_budget = a.shuffled_budget or 90
    a.peer_ops = a.peer_ops or 20000
    a.automerge_ops = a.automerge_ops or 5000
    a.peer_budget = a.peer_budget or 60
    a.load_runs = a.load_runs or 5
    a.peer_timeout = a.peer_timeout or 3600

    t_start = time.time()
    load_before = open("/proc/loadavg").read().split()[0]
    parent = a.scratch or os.environ.get("TMPDIR") or "/tmp"
    scratch = tempfile.mkdtemp(prefix="msglog-bench-", dir=parent)
    ok = True
    try:
        bindir = a.bin_dir or (os.path.join(a.build_dir, "bench") if a.no_build else build(a.build_dir))
        wl_dir = os.path.join(scratch, "workload")
        views = os.path.join(scratch, "views")
        os.makedirs(views)
        peer_status = ensure_peers(a)
        res = {}
        res["gen"] = run_json([os.path.join(bindir, "bench_gen"), "--ops", str(a.ops), "--seed", str(a.seed),
                               "--out", wl_dir, "--ks", a.ks, "--scratch", scratch])
        # The peers first: msglog is then also measured at their scales, and
        # shuffled at the scales where a peer finished a shuffled run.
        peers, failures = {}, []
        if peer_status is None:
            peers, failures = run_peers(a, bindir, wl_dir, views, scratch)
            peer_status = "measured: %s" % ", ".join("%s at %s ops" % (n, fmt(p.get("scale")))
                                                      for n, p in sorted(peers.items()))
            if failures:
                peer_status += "; failures: " + "; ".join(failures)
        log("peers: " + peer_status)
        scales = sorted({p["scale"] for p in peers.values() if p.get("scale")})
        shuffled_scales = sorted({p["scale"] for p in peers.values() if p.get("scale") and
                                  peer_rate(peers, p["system"], "shuffled")[0]})
        res.update(c_benches(a, bindir, scratch, wl_dir, views, scales, shuffled_scales))
        prof = profiles(a, bindir, scratch)

        checks, expected_hash = check_views(res, peers, wl_dir)
        tg = targets(a, res, peers)
        for c in checks:
            log("view %-10s %-40s %s" % (c["system"], c["what"], c["status"]))
        c_ok = all(res["ingest"][v]["ok"] for v in VARIANTS) and res["sync"]["ok"] and res["coldopen"]["ok"] and res["equiv"]["ok"] \
            and res["gen"]["check"]["ok"] and all(r["ok"] for byv in res["ingest_at"].values() for r in byv.values())
        ok = c_ok and all(c["ok"] for c in checks) and not failures
        elapsed = time.time() - t_start
        ctx = {"res": res, "peers": peers, "targets": tg, "checks": checks, "expected_hash": expected_hash,
               "machine": machine_info(scratch), "versions": versions(), "profiles": prof,
               "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
               "command": "make bench" if len(sys.argv) == 1 else "python3 bench/run.py " + " ".join(sys.argv[1:]),
               "elapsed": elapsed, "load_before": load_before,
               "load_after": open("/proc/loadavg").read().split()[0], "peer_status": peer_status}
        for x in tg:
            log("target %-8s %s: %s" % ("MET" if x["met"] else "NOT MET", x["target"], x["measured"]))
        if not a.quick:
            os.makedirs(a.results, exist_ok=True)
            for old in os.listdir(a.results):
                if old.endswith(".json"):
                    os.unlink(os.path.join(a.results, old))

            def dump(name, obj):
                with open(os.path.join(a.results, name), "w") as f:
                    json.dump(obj, f, indent=1, ensure_ascii=False, sort_keys=True)
                    f.write("\n")

            ingest_out = {k: {kk: vv for kk, vv in v.items() if kk != "all_series"} for k, v in res["ingest"].items()}
            ingest_out["shuffled"]["series_runs"] = res["ingest"]["shuffled"]["all_series"]
            dump("msglog-gen.json", res["gen"])
            dump("msglog-micro.json", res["micro"])
            dump("msglog-crypto.json", res["crypto"])
            dump("msglog-local.json", res["local"])
            dump("msglog-ingest.json", {"at_full_scale": ingest_out,
                                        "at_peer_scales": {str(k): v for k, v in res["ingest_at"].items()}})
            dump("msglog-sync.json", res["sync"])
            dump("msglog-coldopen.json", res["coldopen"])
            dump("msglog-equiv.json", res["equiv"])
            dump("msglog-profile.json", prof)
            dump("peers.json", peers)
            dump("summary.json", {k: ctx[k] for k in ["targets", "checks", "expected_hash", "machine", "versions",
                                                      "date", "command", "elapsed", "load_before", "load_after",
                                                      "peer_status"]})
            png = os.path.splitext(a.doc)[0] + "-ops.png"
            rates, labels = {}, {}
            p_ops = min(a.ops, a.peer_ops)
            same = "msglog at %s ops" % short(p_ops)
            chart_systems = ["msglog"] + ([same] if p_ops != a.ops and peers else []) + SYSTEMS[1:]
            for s_ in chart_systems:
                rates[s_], labels[s_] = {}, {}
                for v in VARIANTS:
                    if s_ == same:
                        r = msglog_at(res, v, p_ops)
                        if r:
                            rates[s_][v] = r["ops_per_s"]
                            labels[s_][v] = short(r["ops_per_s"])
                    elif s_ == "msglog":
                        r = res["ingest"][v]
                        rates[s_][v] = r["ops_per_s"]
                        labels[s_][v] = short(r["ops_per_s"]) + ("" if r["ops"] == a.ops else
                                                                  " (%s ops)" % short(r["ops"]))
                    else:
                        r, p, n = peer_rate(peers, s_, v)
                        if r:
                            rates[s_][v] = r
                            labels[s_][v] = short(r) + ("" if not n or int(n) == a.ops else " (%s ops)" % short(n))
            chart = make_chart({"systems": [x for x in chart_systems if rates[x]], "variants": VARIANTS,
                                "xlabels": ["causal", "shuffled", "duplicates"], "rates": rates, "labels": labels,
                                "colors": {"msglog": "#1f77b4", same: "#aec7e8", "yjs": "#ff7f0e",
                                           "automerge": "#2ca02c", "loro": "#d62728"},
                                "title": "Merge ingest, ops/s (msglog: %s ops unless noted, durable, %s ops per "
                                         "commit; peers in memory)" % (short(a.ops), short(a.batch))},
                               png, scratch)
            ctx["chart"] = chart
            write_doc(a, a.doc, os.path.basename(png), ctx)
            log("wrote %s, %s and %s/" % (a.doc, png if chart else "(no chart)", a.results))
        log("%s in %.0f s" % ("all checks passed" if ok else "SOME CHECKS FAILED", time.time() - t_start))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
