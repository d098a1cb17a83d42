// One measurement per process. run.mjs spawns this; it is not meant to be
// called by hand (but can be: every argument is explicit).
//   gen        workload.jsonl -> per-op native updates (untimed generator side)
//   ingest     apply the updates to an empty doc in one delivery order (timed)
//   load-once  read a saved doc, load it, render the newest 50 messages (timed)
//   sync       shared + a_only + b_only -> divergence -> native delta sync
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  log, readOps, foldView, digest, writeUpdates, readUpdates, deliveryOrder,
  procStatus, resetPeak, mb, topN, r3, NREPLICAS,
} from './common.mjs';

const SYSTEMS = { yjs: './sys-yjs.mjs', automerge: './sys-automerge.mjs', loro: './sys-loro.mjs' };

function parseArgs(argv) {
  const a = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) a[argv[i].slice(2)] = argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : true;
    else a._.push(argv[i]);
  }
  return a;
}
const args = parseArgs(process.argv.slice(2));
const cmd = args._[0];
const sysName = args.system;
if (!SYSTEMS[sysName]) throw new Error('--system yjs|automerge|loro');
const maxOps = args['max-ops'] ? +args['max-ops'] : Infinity;
const writeResult = (obj) => fs.writeFileSync(args.result, JSON.stringify(obj, null, 1));

// Turn ops into one native update each (null for no-ops), as the origin
// replicas would make them. Not timed as ingest: this is the sender side.
function generate(S, ops, mode, label) {
  const t0 = performance.now();
  const updates = new Array(ops.length);
  const origin = new Uint8Array(ops.length);
  const progress = Math.max(1, Math.floor(ops.length / 10));
  let final;
  if (mode === 'world') {
    if (!S.canSwitchWriter) throw new Error(`${S.info.system} cannot switch writer: use --gen replicas`);
    const h = S.newDoc(0);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      S.setWriter(h, op.replica);
      updates[i] = S.localOp(h, op);
      if ((i + 1) % progress === 0) log(`${label}: ${i + 1}/${ops.length} ops`);
    }
    final = h;
  } else {
    // 8 docs; before replica r makes op i it receives every update made since
    // its previous op (it has then seen all ops before i).
    const docs = [], seen = new Array(NREPLICAS).fill(0);
    for (let r = 0; r < NREPLICAS; r++) docs.push(S.newDoc(r));
    const catchUp = (r, upto) => {
      const batch = [];
      for (let j = seen[r]; j < upto; j++) if (updates[j] && origin[j] !== r) batch.push(updates[j]);
      if (batch.length) S.receiveBatch(docs[r], batch);
      seen[r] = upto;
    };
    for (let i = 0; i < ops.length; i++) {
      const r = ops[i].replica;
      if (!(r >= 0 && r < NREPLICAS)) throw new Error(`op ${i}: replica ${r} not in 0..${NREPLICAS - 1}`);
      catchUp(r, i);
      origin[i] = r;
      updates[i] = S.localOp(docs[r], ops[i]);
      if ((i + 1) % progress === 0) log(`${label}: ${i + 1}/${ops.length} ops`);
    }
    catchUp(0, ops.length);
    final = docs[0];
  }
  return { updates, final, seconds: (performance.now() - t0) / 1000 };
}

function opCounts(ops) {
  const c = {};
  for (const op of ops) c[op.op] = (c[op.op] ?? 0) + 1;
  return c;
}

async function loadOnce() {
  // Library import is timed separately (it includes WASM compilation).
  const t0 = performance.now();
  const L = await import(SYSTEMS[sysName]);
  const t1 = performance.now();
  const bytes = fs.readFileSync(args.file);
  const t2 = performance.now();
  const h = L.loadDoc(bytes, 'A');
  const t3 = performance.now();
  const n = +(args.n ?? 50);
  const page = topN(L.messageKeys(h), n).map((idx) => L.renderMessage(h, idx));
  const t4 = performance.now();
  writeResult({
    import_ms: r3(t1 - t0), read_ms: r3(t2 - t1), load_ms: r3(t3 - t2), page_ms: r3(t4 - t3),
    open_and_page_ms: r3(t4 - t1),
    page_len: page.length, page_first: page[0]?.msg ?? null, page_last: page.at(-1)?.msg ?? null,
    page_sha256: digest(JSON.stringify(page)),
    rss_mb: mb(procStatus().hwm_kb),
  });
}

async function main() {
  if (cmd === 'load-once') return loadOnce();
  const S = await import(SYSTEMS[sysName]);

  if (cmd === 'gen') {
    const ops = readOps(args.workload, maxOps);
    const total = +args['ops-in-file'] || null;
    log(`${sysName} gen: ${ops.length} ops, mode ${args.gen}`);
    const expected = foldView(ops).text();
    const { updates, final, seconds } = generate(S, ops, args.gen, `${sysName} gen`);
    const genView = S.view(final).text();
    const real = updates.filter((u) => u);
    const noop = {};
    updates.forEach((u, i) => { if (!u) noop[ops[i].op] = (noop[ops[i].op] ?? 0) + 1; });
    const bytes = writeUpdates(path.join(args.outdir, 'updates.bin'), real);
    const snap = S.snapshot(final);
    fs.writeFileSync(path.join(args.outdir, 'gen_snapshot.bin'), snap);
    fs.writeFileSync(path.join(args.outdir, 'expected_view.json'), expected);
    const meta = {
      ops: ops.length,
      op_counts: opCounts(ops),
      sends: ops.filter((o) => o.op === 'send').length,
      updates: real.length,
      noop_ops_at_origin: noop,
      update_bytes_total: bytes,
      update_bytes_per_update: r3(bytes / real.length),
      gen_mode: args.gen,
      gen_seconds: r3(seconds),
      expected_view_sha256: digest(expected),
      generator_view_matches_fold: digest(genView) === digest(expected),
      gen_peak_rss_mb: mb(procStatus().hwm_kb),
    };
    if (!meta.generator_view_matches_fold) log(`WARNING: ${sysName} generator view differs from the sequential fold`);
    fs.writeFileSync(path.join(args.outdir, 'gen.json'), JSON.stringify(meta, null, 1));
    log(`${sysName} gen done in ${meta.gen_seconds}s: ${real.length} updates, ${bytes} bytes`);
    return;
  }

  if (cmd === 'ingest') {
    const meta = JSON.parse(fs.readFileSync(path.join(args.dir, 'gen.json'), 'utf8'));
    const variant = args.variant;
    // "<order>_core": Automerge's Rust core without the materialized JS doc.
    const R = variant.endsWith('_core') ? S.coreReceiver : S;
    if (!R) throw new Error(`${sysName} has no ${variant} variant`);
    const budget = +(args['budget-s'] ?? 180) * 1000;
    const updates = readUpdates(path.join(args.dir, 'updates.bin'));
    const order = deliveryOrder(updates.length, variant.replace(/_core$/, ''));
    const base = procStatus();
    const resetOk = resetPeak();
    log(`${sysName} ingest ${variant}: ${order.length} deliveries of ${updates.length} updates (budget ${budget / 1000}s)`);
    const h = R.newReceiver();
    const t0 = performance.now();
    let i = 0, dnf = false, nextLog = t0 + 10000;
    for (; i < order.length; i++) {
      R.receive(h, updates[order[i]]);
      if ((i & 63) === 63) {
        const now = performance.now();
        if (now - t0 > budget) { dnf = true; i++; break; }
        if (now > nextLog) { log(`${sysName} ${variant}: ${i + 1}/${order.length} (${Math.round((i + 1) / ((now - t0) / 1000))}/s)`); nextLog = now + 10000; }
      }
    }
    const secs = (performance.now() - t0) / 1000;
    const peakIngest = procStatus().hwm_kb;
    const res = {
      variant,
      deliveries: order.length,
      delivered: i,
      updates: updates.length,
      seconds: r3(secs),
      completed: !dnf,
      updates_per_s: dnf ? null : Math.round(updates.length / secs),
      deliveries_per_s: Math.round(i / secs),
      workload_ops_per_s: dnf ? null : Math.round(meta.ops / secs),
      us_per_delivery: r3((secs * 1e6) / i),
      rss_before_mb: mb(base.rss_kb),
      peak_rss_mb: mb(peakIngest),
      peak_rss_is_ingest_only: resetOk,
    };
    if (dnf) res.note = `did not finish within the ${budget / 1000}s budget: ${i} of ${order.length} deliveries applied (rate falls as the buffer of out-of-order updates grows)`;
    if (!dnf) {
      if (R.pendingInfo) res.pending_after = R.pendingInfo(h);
      const tv = performance.now();
      const text = R.view(h).text();
      res.view_seconds = r3((performance.now() - tv) / 1000);
      res.view_sha256 = digest(text);
      res.view_matches_sequential_fold = res.view_sha256 === meta.expected_view_sha256;
      if (args['view-out']) fs.writeFileSync(args['view-out'], text);
      const ts = performance.now();
      const snap = R.snapshot(h);
      res.encode_seconds = r3((performance.now() - ts) / 1000);
      res.doc_bytes = snap.length;
      res.doc_bytes_per_op = r3(snap.length / meta.ops);
      res.doc_bytes_per_message = r3(snap.length / meta.sends);
      if (args['save-doc']) fs.writeFileSync(args['save-doc'], snap);
      res.peak_rss_with_encode_mb = mb(procStatus().hwm_kb);
    }
    log(`${sysName} ingest ${variant}: ${res.completed ? res.updates_per_s + ' updates/s' : 'DNF'} in ${res.seconds}s, peak ${res.peak_rss_mb} MB`);
    writeResult(res);
    return;
  }

  if (cmd === 'sync') {
    const dir = args.workload;
    const cacheDir = args.cache;
    const shared = readOps(path.join(dir, 'shared.jsonl'), maxOps);
    const aOps = readOps(path.join(dir, 'a_only.jsonl'));
    const bOps = readOps(path.join(dir, 'b_only.jsonl'));
    const snapFile = cacheDir && path.join(cacheDir, 'shared_snapshot.bin');
    let snap, genSeconds = null, cached = false;
    if (snapFile && fs.existsSync(snapFile)) { snap = fs.readFileSync(snapFile); cached = true; }
    else {
      log(`${sysName} sync: generating shared doc from ${shared.length} ops`);
      const g = generate(S, shared, args.gen, `${sysName} shared`);
      snap = S.snapshot(g.final);
      genSeconds = r3(g.seconds);
      if (snapFile) fs.writeFileSync(snapFile, snap);
    }
    const expected = digest(foldView([...shared, ...aOps, ...bOps]).text());
    const runs = [];
    const variants = sysName === 'automerge' ? ['fresh_sync_state', 'persisted_sync_state'] : ['stateless'];
    for (const variant of variants) {
      const tl = performance.now();
      const a = S.loadDoc(snap, 'A'), b = S.loadDoc(snap, 'B');
      const loadMs = performance.now() - tl;
      let states;
      if (variant === 'persisted_sync_state') {
        // A and B synced when both had exactly the shared ops, and kept their
        // sync states (encodeSyncState) until now.
        states = S.persistStates(S.sync(a, b).states);
      }
      const side = (h, ops) => {
        let n = 0, bytes = 0, noop = 0;
        for (const op of ops) { const u = S.localOp(h, op); if (u) { n++; bytes += u.length; } else noop++; }
        return { ops: ops.length, native_updates: n, noop_ops: noop, native_update_bytes: bytes };
      };
      const la = side(a, aOps), lb = side(b, bOps);
      const ts = performance.now();
      const s = S.sync(a, b, states);
      const syncMs = performance.now() - ts;
      delete s.states;
      const va = S.view(a).text(), vb = S.view(b).text();
      const run = {
        variant,
        a_local: la, b_local: lb,
        ...s,
        sync_ms: r3(syncMs),
        load_both_ms: r3(loadMs),
        converged: digest(va) === digest(vb),
        view_sha256: digest(va),
        view_matches_in_order_fold: digest(va) === expected,
        a_to_b_bytes_over_native_updates: la.native_update_bytes ? r3(s.a_to_b.bytes / la.native_update_bytes) : null,
        b_to_a_bytes_over_native_updates: lb.native_update_bytes ? r3(s.b_to_a.bytes / lb.native_update_bytes) : null,
      };
      if (s.a_to_b.sizes) { run.a_to_b.sizes = s.a_to_b.sizes; run.b_to_a.sizes = s.b_to_a.sizes; }
      runs.push(run);
      if (args['view-out'] && variant === variants[0]) fs.writeFileSync(args['view-out'], va);
      log(`${sysName} sync ${variant}: a->b ${s.a_to_b.bytes} B, b->a ${s.b_to_a.bytes} B, ${s.round_trips} round trips, converged ${run.converged}`);
    }
    writeResult({
      shared_ops: shared.length, a_only_ops: aOps.length, b_only_ops: bOps.length,
      shared_doc_bytes: snap.length, shared_generated_seconds: genSeconds, shared_cached: cached,
      runs,
      peak_rss_mb: mb(procStatus().hwm_kb),
    });
    return;
  }
  throw new Error('unknown command ' + cmd);
}

main().catch((e) => { console.error(e); process.exit(1); });
