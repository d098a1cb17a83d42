// Shared helpers for the peer benchmarks: workload reading, seeded orders,
// the canonical view, the sequential reference fold, update files, memory.
import fs from 'node:fs';
import crypto from 'node:crypto';

export const NREPLICAS = 8;
// Separator of flat map keys ("+1" SEP "u4", "u4" SEP writer). Not valid in ids.
export const SEP = '\u001f';

export function log(...a) {
  process.stderr.write(`[peers ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);
}

// ---- workload -------------------------------------------------------------

export function readOps(file, maxOps = Infinity) {
  const text = fs.readFileSync(file, 'utf8');
  const ops = [];
  let start = 0;
  while (start < text.length && ops.length < maxOps) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const line = text.slice(start, end).trim();
      if (line) ops.push(JSON.parse(line));
    }
    start = end + 1;
  }
  return ops;
}

export function sha1File(file) {
  return crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');
}

// ---- ids: native-sized, deterministic, distinct per writer ----------------
// Writers 0..7 are the workload replicas; 'A' and 'B' are the two sync sides.
function mix64(x) {
  // splitmix64 on BigInt
  let z = (BigInt(x) + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
  return z ^ (z >> 31n);
}
function writerNum(w) { return w === 'A' ? 1000 : w === 'B' ? 1001 : Number(w); }
// Yjs: random uint32 like Y.Doc's own generateNewClientId().
export const yjsClientId = (w) => Number(mix64(writerNum(w)) & 0xffffffffn) >>> 0;
// Loro: random 64-bit peer id (kept below 2^63 to stay a plain i64 everywhere).
export const loroPeerId = (w) => mix64(writerNum(w)) & 0x7fffffffffffffffn;
// Automerge: 16 random bytes as hex, like Automerge's own actor ids.
export const amActor = (w) =>
  (mix64(writerNum(w)).toString(16).padStart(16, '0') +
   mix64(writerNum(w) + 7777).toString(16).padStart(16, '0'));

// ---- seeded PRNG and delivery orders ---------------------------------------

export function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// causal: 0..n-1. shuffled: uniform random permutation (seed 42).
// duplicates: causal order, and after each delivery, with probability 0.1, a
// re-delivery of a uniformly chosen update already delivered (seed 43): about
// 1.1 n deliveries, every duplicate after its original.
export function deliveryOrder(n, variant) {
  if (variant === 'causal') {
    const o = new Uint32Array(n);
    for (let i = 0; i < n; i++) o[i] = i;
    return o;
  }
  if (variant === 'shuffled') {
    const r = mulberry32(42);
    const o = new Uint32Array(n);
    for (let i = 0; i < n; i++) o[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      const t = o[i]; o[i] = o[j]; o[j] = t;
    }
    return o;
  }
  if (variant === 'duplicates') {
    const r = mulberry32(43);
    const o = [];
    for (let i = 0; i < n; i++) {
      o.push(i);
      if (r() < 0.1) o.push(Math.floor(r() * (i + 1)));
    }
    return Uint32Array.from(o);
  }
  throw new Error('unknown variant ' + variant);
}

// ---- canonical view ---------------------------------------------------------

// Code point order (JS's default sort compares UTF-16 units).
export function cpCompare(a, b) {
  const ia = a[Symbol.iterator](), ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next(), y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0), cy = y.value.codePointAt(0);
    if (cx !== cy) return cx - cy;
  }
}
const cpSort = (arr) => (arr.every((s) => /^[\x00-\x7f]*$/.test(s)) ? arr.sort() : arr.sort(cpCompare));

// A view builder: systems feed raw facts, we produce the canonical JSON text.
//   addMessage(idx, body|null, deleted, reactionPairs[[key,user],...])
//   addRead(user, idx)
export class ViewBuilder {
  constructor() { this.msgs = []; this.read = new Map(); }
  addMessage(idx, body, deleted, pairs) { this.msgs.push([idx, body, deleted, pairs]); }
  addRead(user, idx) {
    const cur = this.read.get(user);
    if (cur === undefined || idx > cur) this.read.set(user, idx);
  }
  // Canonical text: messages ascending by index, reaction keys and users by code point.
  text() {
    this.msgs.sort((a, b) => a[0] - b[0]);
    const parts = [];
    for (const [idx, body, deleted, pairs] of this.msgs) {
      let reactions = '{}';
      if (!deleted && pairs.length) {
        const byKey = new Map();
        for (const [k, u] of pairs) {
          let s = byKey.get(k);
          if (!s) byKey.set(k, (s = new Set()));
          s.add(u);
        }
        const keys = cpSort([...byKey.keys()]);
        reactions = '{' + keys.map((k) => JSON.stringify(k) + ':' + JSON.stringify(cpSort([...byKey.get(k)]))).join(',') + '}';
      }
      parts.push(`${JSON.stringify(String(idx))}:{"body":${deleted ? 'null' : JSON.stringify(body)},"deleted":${deleted},"reactions":${reactions}}`);
    }
    const users = cpSort([...this.read.keys()]);
    const read = users.map((u) => JSON.stringify(u) + ':' + this.read.get(u)).join(',');
    return `{"messages":{${parts.join(',')}},"read":{${read}}}`;
  }
}

export const digest = (text) => crypto.createHash('sha256').update(text).digest('hex');

// ---- the sequential reference fold ------------------------------------------
// Every op's origin replica has seen every earlier op (the file is a causal,
// creation-order linearisation), so the expected view is the in-order fold,
// with msglog's rules: edits/deletes only by the author count, delete wins,
// reactions add, read = greatest index per user, ops on unknown messages are
// no-ops.
export function foldView(ops) {
  const m = new Map();
  const read = new Map();
  for (const op of ops) {
    const s = m.get(op.msg);
    switch (op.op) {
      case 'send':
        if (!s) m.set(op.msg, { author: op.user, body: op.body, deleted: false, pairs: new Map() });
        break;
      case 'edit':
        if (s && s.author === op.user && !s.deleted) s.body = op.body;
        break;
      case 'delete':
        if (s && s.author === op.user) s.deleted = true;
        break;
      case 'react':
        if (s) s.pairs.set(op.key + SEP + op.user, [op.key, op.user]);
        break;
      case 'read':
        if (s) { const c = read.get(op.user); if (c === undefined || op.msg > c) read.set(op.user, op.msg); }
        break;
      default:
        throw new Error('unknown op ' + op.op);
    }
  }
  const v = new ViewBuilder();
  for (const [idx, s] of m) v.addMessage(idx, s.deleted ? null : s.body, s.deleted, [...s.pairs.values()]);
  for (const [u, i] of read) v.addRead(u, i);
  return v;
}

// ---- update files: [u32 count][u32 len]*count[bytes...] ----------------------

export function writeUpdates(file, updates) {
  let total = 0;
  for (const u of updates) total += u.length;
  const head = Buffer.alloc(4 + 4 * updates.length);
  head.writeUInt32LE(updates.length, 0);
  updates.forEach((u, i) => head.writeUInt32LE(u.length, 4 + 4 * i));
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, head);
  // write in chunks of concatenated updates
  let chunk = [], clen = 0;
  for (const u of updates) {
    chunk.push(u); clen += u.length;
    if (clen > 1 << 24) { fs.writeSync(fd, Buffer.concat(chunk)); chunk = []; clen = 0; }
  }
  if (chunk.length) fs.writeSync(fd, Buffer.concat(chunk));
  fs.closeSync(fd);
  return total;
}

export function readUpdates(file) {
  const buf = fs.readFileSync(file);
  const n = buf.readUInt32LE(0);
  const out = new Array(n);
  let off = 4 + 4 * n;
  for (let i = 0; i < n; i++) {
    const len = buf.readUInt32LE(4 + 4 * i);
    out[i] = new Uint8Array(buf.buffer, buf.byteOffset + off, len);
    off += len;
  }
  return out;
}

// ---- memory -----------------------------------------------------------------

export function procStatus() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => { const m = s.match(new RegExp('^' + k + ':\\s+(\\d+) kB', 'm')); return m ? +m[1] : null; };
  return { rss_kb: kb('VmRSS'), hwm_kb: kb('VmHWM') };
}
// Reset VmHWM to the current RSS (Linux: write 5 to clear_refs).
export function resetPeak() {
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); return true; } catch { return false; }
}
export const mb = (kb) => (kb == null ? null : Math.round(kb / 102.4) / 10);

// top n numeric keys, descending
export function topN(keys, n) {
  const top = [];
  for (const k of keys) {
    const v = +k;
    if (top.length < n) { top.push(v); if (top.length === n) top.sort((a, b) => b - a); continue; }
    if (v <= top[n - 1]) continue;
    let i = n - 1;
    while (i > 0 && top[i - 1] < v) { top[i] = top[i - 1]; i--; }
    top[i] = v;
  }
  return top.sort((a, b) => b - a);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : null;
}
export const r3 = (x) => (x == null ? null : Math.round(x * 1000) / 1000);

// Installed version of a package (some packages do not export package.json).
export function pkgVersion(name) {
  const p = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(fs.readFileSync(p, 'utf8')).version;
}
