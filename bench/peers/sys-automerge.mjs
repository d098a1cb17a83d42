// Automerge adapter (the standard JS API over the Rust/WASM core). One doc per
// replica, actor = 16 bytes. Document shape:
//   messages: { "17": { author, body, deleted, reactions: { "key SEP user": true } } }
//   read: { "user SEP writer": greatest msg index }   (max register per writer)
// author and body are ImmutableString: scalar last-writer-wins strings, like a
// Yjs or Loro map value (a plain JS string would become collaborative Text,
// one op per character).
import * as A from '@automerge/automerge';
import { SEP, amActor, ViewBuilder, pkgVersion } from './common.mjs';

export const info = { system: 'automerge', package: '@automerge/automerge', version: pkgVersion('@automerge/automerge') };
// An Automerge doc's actor is fixed at creation: generation keeps 8 docs.
export const canSwitchWriter = false;

// Changes are made with the backend handle (A.getBackend(doc): the same calls
// A.change makes, commit time = now in seconds as A.change does), so they are
// byte-for-byte what A.change would produce. Reason: A.change on the
// materialized JS doc copies the whole changed map per change (O(messages)),
// which made generation quadratic; that cost is still measured where it
// belongs, on the receiving side (A.applyChanges on a materialized doc).
const now = () => Math.floor(Date.now() / 1000);
function wrapDoc(doc, writer) { return { doc, be: A.getBackend(doc), writer: String(writer) }; }
export function newDoc(writer) { return wrapDoc(A.init({ actor: amActor(writer) }), writer); }
export function newReceiver() { return { doc: A.init() }; }
export function receive(h, u) { h.doc = A.applyChanges(h.doc, [u])[0]; }
// Generator catch-up (untimed): backend only.
export function receiveBatch(h, us) { h.be.applyChanges(us); }
// Receiving variant without the JS document: the Rust core alone.
export const coreReceiver = {
  newReceiver: () => ({ be: A.getBackend(A.init()) }),
  receive: (h, u) => { h.be.applyChanges([u]); },
  snapshot: (h) => h.be.save(),
  view: (h) => viewOf(h.be.materialize('/')),
  pendingInfo: (h) => h.be.getMissingDeps(h.be.getHeads()).length,
};
export function snapshot(h) { return h.be ? h.be.save() : A.save(h.doc); }
export function loadDoc(bytes, writer) { return wrapDoc(A.load(bytes, { actor: amActor(writer) }), writer); }
// Changes received whose dependencies never arrived stay queued, invisible.
export function pendingInfo(h) { return A.getMissingDeps(h.doc, A.getHeads(h.doc)).length; }

const str = (s) => (s == null ? s : typeof s === 'string' ? s : s.val ?? String(s));
const objId = (be, obj, key) => { const v = be.getWithType(obj, key); return v && v[0] === 'map' ? v[1] : null; };

function readMax(be, read, user) {
  let best = -1;
  if (read) for (const k of be.keys(read)) if (k.slice(0, k.indexOf(SEP)) === user) { const v = be.get(read, k); if (v > best) best = v; }
  return best;
}

// Native change as h's writer; returns getLastLocalChange() (the change's
// bytes), or null when the op changes nothing (README: no-ops).
export function localOp(h, op) {
  const be = h.be;
  const msgs = objId(be, '_root', 'messages');
  const key = String(op.msg);
  const m = msgs && objId(be, msgs, key);
  const author = () => str(be.get(m, 'author'));
  switch (op.op) {
    case 'send': {
      if (m) return null;
      let ms = msgs;
      if (!ms) { ms = be.putObject('_root', 'messages', {}); be.putObject('_root', 'read', {}); }
      const mm = be.putObject(ms, key, {});
      be.put(mm, 'author', op.user, 'str');
      be.put(mm, 'body', op.body, 'str');
      be.put(mm, 'deleted', false);
      be.putObject(mm, 'reactions', {});
      break;
    }
    case 'edit':
      if (!m || author() !== op.user || be.get(m, 'deleted')) return null;
      be.put(m, 'body', op.body, 'str');
      break;
    case 'delete':
      if (!m || author() !== op.user || be.get(m, 'deleted')) return null;
      be.put(m, 'deleted', true);
      be.delete(m, 'body');
      break;
    case 'react': {
      if (!m || be.get(m, 'deleted')) return null;
      const r = objId(be, m, 'reactions');
      const rk = op.key + SEP + op.user;
      if (be.get(r, rk) !== undefined) return null;
      be.put(r, rk, true);
      break;
    }
    case 'read': {
      const read = objId(be, '_root', 'read');
      if (!m || readMax(be, read, op.user) >= op.msg) return null;
      be.put(read, op.user + SEP + h.writer, op.msg);
      break;
    }
    default: throw new Error('unknown op ' + op.op);
  }
  be.commit(null, now());
  return be.getLastLocalChange();
}

// h.be is the source of truth where there is one (generator docs are written
// through the backend; their JS doc is not kept up to date).
export function view(h) { return viewOf(h.be ? h.be.materialize('/') : h.doc); }
function viewOf(root) {
  const v = new ViewBuilder();
  const msgs = root.messages ?? {};
  for (const key of Object.keys(msgs)) {
    const m = msgs[key];
    const deleted = m.deleted === true;
    const pairs = [];
    if (!deleted) for (const k of Object.keys(m.reactions)) { const i = k.indexOf(SEP); pairs.push([k.slice(0, i), k.slice(i + 1)]); }
    v.addMessage(+key, deleted ? null : str(m.body), deleted, pairs);
  }
  const read = root.read ?? {};
  for (const k of Object.keys(read)) v.addRead(k.slice(0, k.indexOf(SEP)), read[k]);
  return v;
}

export function messageKeys(h) { return Object.keys(h.doc.messages ?? {}); }
export function renderMessage(h, idx) {
  const m = h.doc.messages[String(idx)];
  const deleted = m.deleted === true;
  const reactions = {};
  if (!deleted) for (const k of Object.keys(m.reactions)) { const i = k.indexOf(SEP); (reactions[k.slice(0, i)] ??= []).push(k.slice(i + 1)); }
  return { msg: idx, author: str(m.author), body: deleted ? null : str(m.body), deleted, reactions };
}

// Automerge's sync protocol, both sides at once, in lockstep rounds: each
// round both call generateSyncMessage, then both messages are delivered with
// receiveSyncMessage; stop when neither side has anything to send. Rounds are
// one-way trips; round_trips = rounds / 2. states: optional persisted sync
// states from an earlier session (see worker: "persisted" variant).
export function sync(a, b, states) {
  let sA = states ? states.a : A.initSyncState();
  let sB = states ? states.b : A.initSyncState();
  const st = { a_to_b: { messages: 0, bytes: 0, sizes: [] }, b_to_a: { messages: 0, bytes: 0, sizes: [] } };
  let rounds = 0;
  for (;;) {
    let mA, mB;
    [sA, mA] = A.generateSyncMessage(a.doc, sA);
    [sB, mB] = A.generateSyncMessage(b.doc, sB);
    if (!mA && !mB) break;
    rounds++;
    if (mA) { st.a_to_b.messages++; st.a_to_b.bytes += mA.length; st.a_to_b.sizes.push(mA.length); [b.doc, sB] = A.receiveSyncMessage(b.doc, sB, mA); }
    if (mB) { st.b_to_a.messages++; st.b_to_a.bytes += mB.length; st.b_to_a.sizes.push(mB.length); [a.doc, sA] = A.receiveSyncMessage(a.doc, sA, mB); }
    if (rounds > 1000) throw new Error('automerge sync did not converge in 1000 rounds');
  }
  return {
    protocol: 'Automerge sync protocol (initSyncState, generateSyncMessage/receiveSyncMessage until both return null), both sides at once',
    ...st, rounds, round_trips: rounds / 2,
    states: { a: sA, b: sB },
  };
}
// Persist/restore sync state the way an app would between sessions.
export function persistStates(s) { return { a: A.decodeSyncState(A.encodeSyncState(s.a)), b: A.decodeSyncState(A.encodeSyncState(s.b)) }; }
