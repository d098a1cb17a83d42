// Yjs adapter. Document shape (one Y.Doc per replica, its own clientID):
//   messages: Y.Map  "17" -> Y.Map { author, body, deleted, reactions: Y.Map }
//     reactions keys are flat "key SEP user" -> true (concurrent first reactions
//     on one key cannot overwrite each other, as nested per-key maps would)
//   read: Y.Map  "user SEP writer" -> greatest msg index that writer saw the
//     user read (one slot per writer: a max register; the view takes the max)
import * as Y from 'yjs';
import { SEP, yjsClientId, ViewBuilder, pkgVersion } from './common.mjs';

export const info = { system: 'yjs', package: 'yjs', version: pkgVersion('yjs') };
export const canSwitchWriter = true;

function wrap(doc, writer) {
  const h = { doc, writer: String(writer), last: null };
  doc.on('update', (u) => { h.last = u; });
  return h;
}
export function newDoc(writer) {
  const doc = new Y.Doc();
  doc.clientID = yjsClientId(writer);
  return wrap(doc, writer);
}
// One generator doc writing as each replica in turn (see README).
export function setWriter(h, writer) {
  h.doc.clientID = yjsClientId(writer);
  h.writer = String(writer);
}
export function newReceiver() { return { doc: new Y.Doc() }; }
export function receive(h, u) { Y.applyUpdate(h.doc, u); }
export function receiveBatch(h, us) {
  h.doc.transact(() => { for (const u of us) Y.applyUpdate(h.doc, u); });
  h.last = null;
}
export function snapshot(h) { return Y.encodeStateAsUpdate(h.doc); }
export function loadDoc(bytes, writer) {
  const doc = new Y.Doc();
  doc.clientID = yjsClientId(writer);
  Y.applyUpdate(doc, bytes);
  return wrap(doc, writer);
}

function readMax(readMap, user) {
  let best = -1;
  readMap.forEach((v, k) => { if (k.slice(0, k.indexOf(SEP)) === user && v > best) best = v; });
  return best;
}

// Make op a native change as h's writer. Returns that transaction's update, or
// null when the op changes nothing at its origin (see README: no-ops).
export function localOp(h, op) {
  const doc = h.doc;
  const msgs = doc.getMap('messages');
  const key = String(op.msg);
  const m = msgs.get(key);
  let fn;
  switch (op.op) {
    case 'send':
      if (m) return null;
      fn = () => {
        const mm = new Y.Map();
        msgs.set(key, mm);
        mm.set('author', op.user);
        mm.set('body', op.body);
        mm.set('deleted', false);
        mm.set('reactions', new Y.Map());
      };
      break;
    case 'edit':
      if (!m || m.get('author') !== op.user || m.get('deleted')) return null;
      fn = () => m.set('body', op.body);
      break;
    case 'delete':
      if (!m || m.get('author') !== op.user || m.get('deleted')) return null;
      fn = () => { m.set('deleted', true); m.delete('body'); };
      break;
    case 'react': {
      if (!m || m.get('deleted')) return null;
      const r = m.get('reactions');
      const rk = op.key + SEP + op.user;
      if (r.has(rk)) return null;
      fn = () => r.set(rk, true);
      break;
    }
    case 'read': {
      if (!m) return null;
      const readMap = doc.getMap('read');
      if (readMax(readMap, op.user) >= op.msg) return null;
      fn = () => readMap.set(op.user + SEP + h.writer, op.msg);
      break;
    }
    default: throw new Error('unknown op ' + op.op);
  }
  h.last = null;
  doc.transact(fn);
  return h.last;
}

export function view(h) {
  const v = new ViewBuilder();
  h.doc.getMap('messages').forEach((m, key) => {
    const deleted = m.get('deleted') === true;
    const pairs = [];
    if (!deleted) for (const k of m.get('reactions').keys()) { const i = k.indexOf(SEP); pairs.push([k.slice(0, i), k.slice(i + 1)]); }
    v.addMessage(+key, deleted ? null : m.get('body'), deleted, pairs);
  });
  h.doc.getMap('read').forEach((val, k) => v.addRead(k.slice(0, k.indexOf(SEP)), val));
  return v;
}

export function messageKeys(h) { return h.doc.getMap('messages').keys(); }
export function renderMessage(h, idx) {
  const m = h.doc.getMap('messages').get(String(idx));
  const deleted = m.get('deleted') === true;
  const reactions = {};
  if (!deleted) for (const k of m.get('reactions').keys()) { const i = k.indexOf(SEP); (reactions[k.slice(0, i)] ??= []).push(k.slice(i + 1)); }
  return { msg: idx, author: m.get('author'), body: deleted ? null : m.get('body'), deleted, reactions };
}

// y-protocols style sync, both sides starting at once:
//   round 1: each sends its state vector; round 2: each sends
//   encodeStateAsUpdate(doc, peerStateVector). Two one-way rounds = 1 round trip.
export function sync(a, b) {
  const svA = Y.encodeStateVector(a.doc), svB = Y.encodeStateVector(b.doc);
  const dA = Y.encodeStateAsUpdate(a.doc, svB), dB = Y.encodeStateAsUpdate(b.doc, svA);
  Y.applyUpdate(b.doc, dA);
  Y.applyUpdate(a.doc, dB);
  return {
    protocol: 'y-protocols sync step 1 (state vector) + step 2 (encodeStateAsUpdate(doc, sv)), both sides at once',
    a_to_b: { messages: 2, bytes: svA.length + dA.length, state_vector_bytes: svA.length, update_bytes: dA.length },
    b_to_a: { messages: 2, bytes: svB.length + dB.length, state_vector_bytes: svB.length, update_bytes: dB.length },
    rounds: 2,
    round_trips: 1,
  };
}
