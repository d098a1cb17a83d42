#!/usr/bin/env node
// Yjs, Automerge and Loro on msglog's benchmark workload. See README.md.
//
//   node bench/peers/run.mjs --system yjs|automerge|loro|all --workload DIR
//        --mode ingest|sync|load|all (or a comma list, e.g. ingest,load)
//        --out FILE.json [--view-out VIEW.json] [--sync-view-out VIEW.json]
//        [--max-ops N] [--SYSTEM-max-ops N (defaults: automerge 10000,
//        loro and yjs none; 0 = no cap)] [--variants causal,shuffled,duplicates]
//        [--budget-s 180] [--sync-timeout-s 900] [--load-runs 7] [--cache DIR]
//        [--gen world|replicas] [--fresh]
//
// Every measurement runs in a fresh node process (worker.mjs): generation,
// each ingest variant, each load run, the sync. Progress goes to stderr,
// results to --out.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { log, median, r3, pkgVersion } from './common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.join(HERE, 'worker.mjs');
const PKG = { yjs: 'yjs', automerge: '@automerge/automerge', loro: 'loro-crdt' };
const ALL_VARIANTS = ['causal', 'shuffled', 'duplicates'];

function usage(msg) {
  if (msg) process.stderr.write(`run.mjs: ${msg}\n`);
  process.stderr.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split("\n").slice(1, 14).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) usage(`unexpected argument ${k}`);
    const name = k.slice(2);
    if (name === 'fresh' || name === 'help') { a[name] = true; continue; }
    if (i + 1 >= argv.length) usage(`${k} needs a value`);
    a[name] = argv[++i];
  }
  return a;
}

if (!fs.existsSync(path.join(HERE, 'node_modules', 'yjs'))) {
  process.stderr.write(`run.mjs: dependencies missing: run "npm ci" in ${HERE}\n`);
  process.exit(2);
}
const args = parseArgs(process.argv.slice(2));
if (args.help) usage();
if (!args.system || !args.workload || !args.out) usage('--system, --workload and --out are required');
const systems = args.system === 'all' ? Object.keys(PKG) : args.system.split(',');
for (const s of systems) if (!PKG[s]) usage(`unknown system ${s}`);
const modes = !args.mode || args.mode === 'all' ? ['ingest', 'sync', 'load'] : args.mode.split(',');
for (const m of modes) if (!['ingest', 'sync', 'load'].includes(m)) usage(`unknown mode ${m}`);
const variantsReq = args.variants ? args.variants.split(',') : null;
const budget = +(args['budget-s'] ?? 180);
const loadRuns = +(args['load-runs'] ?? 7);
const cacheRoot = args.cache ?? path.join(os.tmpdir(), 'msglog-bench-peers');
const genMode = args.gen ?? 'auto';
const maxOpsAll = args['max-ops'] ? +args['max-ops'] : Infinity;
// Per-system caps (the driver may choose each system's scale itself and pass 0).
const DEFAULT_CAP = { automerge: 10000, loro: 0, yjs: 0 };
const sysCap = (s) => (args[`${s}-max-ops`] !== undefined ? +args[`${s}-max-ops`] : DEFAULT_CAP[s]);
const syncTimeout = +(args['sync-timeout-s'] ?? 900);
const workDir = path.resolve(args.workload);

const NODE_FLAGS = ['--max-old-space-size=16384'];

function runWorker(cmd, system, extra, timeoutS = 0) {
  const resFile = path.join(os.tmpdir(), `peers-res-${process.pid}-${crypto.randomBytes(4).toString('hex')}.json`);
  const argv = [...NODE_FLAGS, WORKER, cmd, '--system', system, '--result', resFile, ...extra];
  const t0 = performance.now();
  const p = spawnSync(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'], cwd: HERE, timeout: timeoutS * 1000, killSignal: 'SIGKILL' });
  const wall = performance.now() - t0;
  if (p.status !== 0) {
    try { fs.unlinkSync(resFile); } catch {}
    const timedOut = timeoutS && p.error && p.error.code === 'ETIMEDOUT';
    return { error: timedOut ? `worker ${cmd} did not finish within ${timeoutS} s (stopped)` : `worker ${cmd} exited with ${p.status ?? p.signal}`, completed: false, wall_ms: r3(wall) };
  }
  const res = cmd === 'gen' ? {} : JSON.parse(fs.readFileSync(resFile, 'utf8'));
  try { fs.unlinkSync(resFile); } catch {}
  res.process_wall_ms = r3(wall);
  return res;
}

function countLines(file) {
  const buf = fs.readFileSync(file);
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  if (buf.length && buf[buf.length - 1] !== 10) n++;
  return n;
}
const sha1 = (file) => crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');

function withSystem(file, system) {
  if (!file) return null;
  if (systems.length === 1) return file;
  if (file.includes('{system}')) return file.replaceAll('{system}', system);
  const ext = path.extname(file);
  return file.slice(0, file.length - ext.length) + '.' + system + ext;
}

function capFor(system) {
  let cap = maxOpsAll;
  if (sysCap(system) > 0) cap = Math.min(cap, sysCap(system));
  return cap;
}

function measure(system) {
  const version = pkgVersion(PKG[system]);
  const gmode = genMode === 'auto' ? (system === 'automerge' ? 'replicas' : 'world') : genMode;
  const cap = capFor(system);
  const out = {
    system, package: PKG[system], version,
    node: process.version,
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, mem_gb: Math.round(os.totalmem() / 2 ** 30), load_avg_1m: r3(os.loadavg()[0]) },
    command: process.argv.slice(1).join(' '),
    notes: [],
  };
  if (cap < maxOpsAll && cap === sysCap(system)) out.notes.push({
    automerge: `Automerge is capped at ${cap} ops (--automerge-max-ops): in @automerge/automerge ${version} each applyChanges call costs time proportional to the document (measured ~7 ms per single-change call at 20k ops in the Rust core alone, ~38 ms through the JS document API), so one update per op is quadratic; 1M ops would take days.`,
    loro: `Loro is capped at ${cap} ops (--loro-max-ops): per-op cost grows with the document in Node (at 200k ops about half of ingest time was V8 garbage collection: hundreds of full collections of an ~8 MB JS heap while the WASM heap grows), 200k ops took 104 s causal and 243 s to generate; and the first import of concurrent changes into a doc loaded from a snapshot took 22-24 s at 200k shared ops (with 10 or with 1000 ops each side); the whole sync run at 200k did not finish within 11 minutes.`,
  }[system] ?? `capped at ${cap} ops (--${system}-max-ops)`);

  // ---- generation (cached) ----
  let cacheDir = null, ops = null;
  const wl = path.join(workDir, 'workload.jsonl');
  const needGen = modes.includes('ingest') || modes.includes('load');
  if (needGen) {
    if (!fs.existsSync(wl)) throw new Error(`${wl} not found`);
    const inFile = countLines(wl);
    ops = Math.min(inFile, cap);
    out.workload = { file: wl, ops_in_file: inFile, ops_used: ops, capped: ops < inFile };
    if (ops < inFile) out.notes.push(`ran at the first ${ops} of ${inFile} ops (a causal prefix); the view is that prefix's view`);
    cacheDir = path.join(cacheRoot, `${system}-${version}-${sha1(wl).slice(0, 12)}-${ops}-${gmode}`);
    if (args.fresh) fs.rmSync(cacheDir, { recursive: true, force: true });
    fs.mkdirSync(cacheDir, { recursive: true });
    const genJson = path.join(cacheDir, 'gen.json');
    let cached = fs.existsSync(genJson);
    if (!cached) {
      const r = runWorker('gen', system, ['--workload', wl, '--max-ops', String(ops), '--gen', gmode, '--outdir', cacheDir]);
      if (r.error) throw new Error(r.error);
    }
    out.generation = { ...JSON.parse(fs.readFileSync(genJson, 'utf8')), cached };
    const g = out.generation;
    if (g.gen_mode === 'world') out.notes.push('updates made by one generator doc whose writer id (clientID / peer id) is set to the op\'s replica before each op; byte-identical to 8 caught-up replica docs (checked with --gen replicas), at 1/8 of the memory and time');
    const noop = Object.values(g.noop_ops_at_origin).reduce((a, b) => a + b, 0);
    if (noop) out.notes.push(`${noop} ops change nothing at their origin (see README: no-ops) and make no update: ${JSON.stringify(g.noop_ops_at_origin)}; rates are given per update applied and per workload op`);
  }

  // ---- ingest ----
  const docFile = cacheDir && path.join(cacheDir, 'doc.bin');
  if (modes.includes('ingest')) {
    const variants = variantsReq ?? (system === 'automerge' ? [...ALL_VARIANTS, 'causal_core'] : ALL_VARIANTS);
    out.ingest = { budget_s_per_variant: budget, timed: 'applying every update to an empty document, one call per update (Yjs Y.applyUpdate, Automerge A.applyChanges(doc,[change]), Loro doc.import); producing the updates is not timed' };
    for (const v of variants) {
      const extra = ['--dir', cacheDir, '--variant', v, '--budget-s', String(budget)];
      if (v === 'causal') {
        extra.push('--save-doc', docFile);
        const vo = withSystem(args['view-out'], system);
        if (vo) extra.push('--view-out', vo);
      }
      out.ingest[v] = runWorker('ingest', system, extra);
    }
    if (system === 'automerge') out.ingest.causal_core_note = 'causal_core: the same changes applied with the backend handle (A.getBackend(doc).applyChanges) without updating the materialized JS document; the Rust core alone';
    const c = out.ingest.causal;
    if (c && c.completed) out.doc = { bytes: c.doc_bytes, bytes_per_op: c.doc_bytes_per_op, bytes_per_message: c.doc_bytes_per_message, encoding: { yjs: 'Y.encodeStateAsUpdate', automerge: 'A.save', loro: 'export({mode:"snapshot"})' }[system] };
    if (c) out.view = { file: withSystem(args['view-out'], system), sha256: c.view_sha256, matches_sequential_fold: c.view_matches_sequential_fold, scope: `${ops} ops` };
    const sh = out.ingest.shuffled;
    if (sh) out.ingest.shuffled_note = {
      yjs: 'Yjs keeps updates with missing dependencies in doc.store.pendingStructs and retries them when later updates arrive',
      automerge: 'Automerge queues changes whose dependencies are missing (applyChanges) and applies them once the dependencies arrive',
      loro: 'Loro keeps imported updates with missing dependencies pending and applies them once the dependencies arrive',
    }[system];
  }

  // ---- load ----
  if (modes.includes('load')) {
    if (!fs.existsSync(docFile)) {
      log(`${system} load: building the document (causal ingest, untimed here)`);
      const r = runWorker('ingest', system, ['--dir', cacheDir, '--variant', 'causal', '--budget-s', '100000', '--save-doc', docFile]);
      if (r.error) throw new Error(r.error);
    }
    const runs = [];
    for (let i = 0; i < loadRuns; i++) runs.push(runWorker('load-once', system, ['--file', docFile, '--n', '50']));
    const ok = runs.filter((r) => !r.error);
    const med = (k) => r3(median(ok.map((r) => r[k])));
    const bytes = fs.statSync(docFile).size;
    out.load = {
      runs: ok.length,
      file_bytes: bytes,
      file_bytes_per_message: r3(bytes / out.generation.sends),
      file_bytes_per_op: r3(bytes / out.generation.ops),
      median_open_and_page_ms: med('open_and_page_ms'),
      median_read_ms: med('read_ms'), median_load_ms: med('load_ms'), median_page_ms: med('page_ms'),
      median_import_ms: med('import_ms'),
      median_process_wall_ms: med('process_wall_ms'),
      median_rss_mb: med('rss_mb'),
      page: ok[0] ? { len: ok[0].page_len, newest: ok[0].page_first, oldest: ok[0].page_last, same_in_every_run: ok.every((r) => r.page_sha256 === ok[0].page_sha256) } : null,
      what: 'fresh node process: read the file, load the document (Y.applyUpdate into a new Y.Doc / A.load / LoroDoc.fromSnapshot), find the 50 greatest message indexes among the messages map keys and render those messages; open_and_page excludes the library import (import_ms, WASM compile included) and node start-up (in process_wall_ms)',
    };
    if (runs.length !== ok.length) out.load.errors = runs.filter((r) => r.error).map((r) => r.error);
  }

  // ---- sync ----
  if (modes.includes('sync')) {
    const sh = path.join(workDir, 'shared.jsonl');
    for (const f of ['shared.jsonl', 'a_only.jsonl', 'b_only.jsonl']) if (!fs.existsSync(path.join(workDir, f))) throw new Error(`${path.join(workDir, f)} not found`);
    const inFile = countLines(sh);
    const sOps = Math.min(inFile, cap);
    const sdir = path.join(cacheRoot, `${system}-${version}-shared-${sha1(sh).slice(0, 12)}-${sOps}-${gmode}`);
    if (args.fresh) fs.rmSync(sdir, { recursive: true, force: true });
    fs.mkdirSync(sdir, { recursive: true });
    const extra = ['--workload', workDir, '--cache', sdir, '--gen', gmode, '--max-ops', String(sOps)];
    const svo = args['sync-view-out'] ?? (modes.length === 1 ? args['view-out'] : null);
    if (svo) extra.push('--view-out', withSystem(svo, system));
    out.sync = runWorker('sync', system, extra, syncTimeout);
    out.sync.shared_ops_in_file = inFile;
    if (sOps < inFile) out.notes.push(`sync: shared ran at its first ${sOps} of ${inFile} ops`);
    out.sync.note = 'A and B load the shared document (A writes as writer "A", B as "B", whatever the op\'s replica field says), make their ops as native local changes, then sync. Rounds are one-way trips with both sides sending at once; round_trips = rounds / 2. Concurrent edits of one message resolve by each library\'s own last-writer rule, which need not match msglog\'s (hlc, replica, seq): compare converged and view_matches_in_order_fold, not the view itself, where a and b conflict.';
  }
  return out;
}

const results = [];
for (const s of systems) {
  log(`=== ${s} ===`);
  try {
    results.push(measure(s));
  } catch (e) {
    log(`${s} failed: ${e.stack || e}`);
    results.push({ system: s, error: String(e.message || e) });
  }
}
fs.writeFileSync(args.out, JSON.stringify(systems.length === 1 ? results[0] : { peers: results }, null, 1) + '\n');
log(`wrote ${args.out}`);
if (results.some((r) => r.error)) process.exit(1);
