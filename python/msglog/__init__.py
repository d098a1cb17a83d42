"""msglog for Python: a store of offline-first chat, for bots and test harnesses.

A thin binding of include/msglog.h (cffi, API mode; docs/python.md):

    with msglog.Store("/path/to/store", 1, "alice") as store:
        hi = store.send("team", "hi bob")
        for m in store.messages("team"):
            print(m.id, m.author, m.body)

Arguments that are text (conversation ids, users, bodies, reaction keys)
accept str (encoded as UTF-8) or bytes (which must be UTF-8: the library
refuses anything else). Texts returned are str: the library holds only strict
UTF-8, so `text.encode()` gives back its exact bytes. Encoded ops and sync
messages are bytes. A failed call raises a MsglogError subclass and, like the
C call, leaves the store as it was (PendingFull and Equivocal: see there).

Every result is copied into Python objects before the call returns: nothing
points into the library's memory afterwards, and every buffer the library
hands out is freed exactly once, at once. A Store may be shared by threads
(calls on it are serialised); close it (or use `with`) to release it.
"""
import collections
import dataclasses
import enum
import os
import signal
import threading
from typing import Dict, Optional, Tuple

from ._msglog import ffi, lib

__all__ = [
    "version", "new_replica_id", "Store", "Id", "Message", "ConvInfo", "Status",
    "MsglogError", "InvalidArgument", "NotFound", "Denied", "Limit", "Corrupt",
    "UnknownVersion", "Mismatch", "Full", "NoMemory", "IOFailure", "UnknownKind",
    "PendingFull", "Equivocal", "Busy", "NetworkFailure",
    "MAX_CONV", "MAX_USER", "MAX_BODY", "MAX_KEY", "MAX_WRITE_BATCH",
]

# The version of the header the binding was built against.
__version__ = ffi.string(lib.MSGLOG_VERSION_STRING).decode()

MAX_CONV = lib.MSGLOG_MAX_CONV
MAX_USER = lib.MSGLOG_MAX_USER
MAX_BODY = lib.MSGLOG_MAX_BODY
MAX_KEY = lib.MSGLOG_MAX_KEY
MAX_WRITE_BATCH = lib.MSGLOG_MAX_WRITE_BATCH


def version():
    """The version of the libmsglog running ("MAJOR.MINOR.PATCH",
    msglog_version()), which may be newer than __version__."""
    return ffi.string(lib.msglog_version()).decode()


def new_replica_id():
    """A new random replica id in [1, 2**53) (msglog_new_replica_id()), for
    a new store."""
    replica = lib.msglog_new_replica_id()
    if replica == 0:
        raise IOFailure(lib.MSGLOG_EIO, "the system gave no random replica id")
    return replica


# --------------------------------------------------------------------------
# Errors

class MsglogError(Exception):
    """A library call failed. `code` is its MSGLOG_E* code (negative),
    `message` the handle's text of the failure (msglog_errmsg(); for a failed
    open, which has no handle, what was opened)."""

    def __init__(self, code, message=""):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        reason = ffi.string(lib.msglog_strerror(self.code)).decode()
        return "%s (%s)" % (self.message, reason) if self.message else reason


class InvalidArgument(MsglogError):
    """MSGLOG_EINVAL: a bad argument (invalid UTF-8, an empty path...)."""


class NotFound(MsglogError):
    """MSGLOG_ENOTFOUND: no such conversation, message, op or store."""


class Denied(MsglogError):
    """MSGLOG_EDENIED: the merge rules forbid it (not the author, the message
    is deleted, no reaction to remove)."""


class Limit(MsglogError):
    """MSGLOG_ELIMIT: a size limit is exceeded (or a text is empty where it
    may not be)."""


class Corrupt(MsglogError):
    """MSGLOG_ECORRUPT: bytes that are not a valid encoding (received, or
    stored)."""


class UnknownVersion(MsglogError):
    """MSGLOG_EVERSION: an encoding or store version this build does not know."""


class Mismatch(MsglogError):
    """MSGLOG_EMISMATCH: the store belongs to another replica or user."""


class Full(MsglogError):
    """MSGLOG_EFULL: the store's map is full (max_map_size reached)."""


class NoMemory(MsglogError):
    """MSGLOG_ENOMEM: the library ran out of memory."""


class IOFailure(MsglogError):
    """MSGLOG_EIO: the operating system or LMDB failed."""


class Busy(MsglogError):
    """MSGLOG_EBUSY: another process claimed the store (a relay, a watching
    client); the message names it."""


class NetworkFailure(MsglogError):
    """MSGLOG_ENET: the network failed: resolving, connecting, a reset, a
    timeout, the relay ending the session."""


class UnknownKind(MsglogError):
    """MSGLOG_EKIND: an op kind this build does not know."""


class PendingFull(MsglogError):
    """MSGLOG_EPENDINGFULL (receiving): the pending buffer is full. Ops whose
    dependencies are missing were dropped (send them again later); the rest
    of the batch WAS committed."""


class Equivocal(MsglogError):
    """MSGLOG_EEQUIVOCAL (receiving): an op reuses an id already held with
    other content; it was kept as evidence, not applied as received. The rest
    of the batch WAS committed."""


_ERRORS = {
    lib.MSGLOG_EINVAL: InvalidArgument,
    lib.MSGLOG_ENOTFOUND: NotFound,
    lib.MSGLOG_EDENIED: Denied,
    lib.MSGLOG_ELIMIT: Limit,
    lib.MSGLOG_ECORRUPT: Corrupt,
    lib.MSGLOG_EVERSION: UnknownVersion,
    lib.MSGLOG_EMISMATCH: Mismatch,
    lib.MSGLOG_EFULL: Full,
    lib.MSGLOG_ENOMEM: NoMemory,
    lib.MSGLOG_EIO: IOFailure,
    lib.MSGLOG_EKIND: UnknownKind,
    lib.MSGLOG_EPENDINGFULL: PendingFull,
    lib.MSGLOG_EEQUIVOCAL: Equivocal,
    lib.MSGLOG_EBUSY: Busy,
    lib.MSGLOG_ENET: NetworkFailure,
}


def _error(code, message):
    return _ERRORS.get(code, MsglogError)(code, message)


# Store.write_batch()'s entries: name -> (kind, has a target, has a text).
_WRITES = {
    "send": (lib.MSGLOG_WRITE_SEND, False, True),
    "edit": (lib.MSGLOG_WRITE_EDIT, True, True),
    "delete": (lib.MSGLOG_WRITE_DELETE, True, False),
    "react": (lib.MSGLOG_WRITE_REACT, True, True),
    "unreact": (lib.MSGLOG_WRITE_UNREACT, True, True),
    "mark_read": (lib.MSGLOG_WRITE_READ, True, False),
}


# --------------------------------------------------------------------------
# Values

class Id(collections.namedtuple("Id", "replica seq")):
    """An op id: the seq-th op (1-based) of replica `replica` in its
    conversation. A message's id is the id of its send. str() is
    'REPLICA.SEQ', as the msglog CLI prints it; any (replica, seq) pair is
    accepted where an Id is expected."""
    __slots__ = ()

    def __str__(self):
        return "%d.%d" % self

    @classmethod
    def parse(cls, text):
        """Id.parse('10.3') == Id.parse('10:3') == Id(10, 3): the CLI's two
        forms."""
        replica, seq = text.replace(":", ".").split(".")
        return cls(int(replica), int(seq))


class Status(enum.IntEnum):
    """How far a message has got (msglog_delivery_status()); each implies
    the ones before it."""
    PENDING = lib.MSGLOG_STATUS_PENDING
    SENT = lib.MSGLOG_STATUS_SENT
    DELIVERED = lib.MSGLOG_STATUS_DELIVERED
    READ = lib.MSGLOG_STATUS_READ


@dataclasses.dataclass(frozen=True)
class Message:
    """A message as this store shows it (msglog_message)."""
    id: Id
    hlc: int
    author: str
    body: Optional[str]    # None when deleted, or when its text was erased
                           # by a delete that has not arrived here yet
    edited: bool
    deleted: bool
    conflict: bool         # two or more concurrent edit heads
    equivocated: bool      # sent or edited in two versions: the text may
                           # have been replaced (docs/reliability.md)
    reactions: Dict[str, Tuple[str, ...]]   # key -> users, both sorted bytewise


@dataclasses.dataclass(frozen=True)
class ConvInfo:
    """A conversation's summary (msglog_conv_info)."""
    vector: Dict[int, int]   # replica -> highest seq delivered
    pending: int             # ops waiting for their dependencies
    n_messages: int          # delivered messages, deleted included
    digest: str              # 32 hex digits, as `msglog show` prints them
    digest_bytes: bytes      # the 16 bytes
    read: Dict[str, Id]      # user -> the message their read marker is at


# --------------------------------------------------------------------------
# Conversions (every one copies)

def _text_arg(value, what):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(value).__name__))


def _bytes_arg(value, what):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be bytes, not %s" % (what, type(value).__name__))


def _id_arg(value):
    replica, seq = value
    return ffi.new("msglog_id *", {"replica": replica, "seq": seq})[0]


def _id(c):
    return Id(c.replica, c.seq)


def _str(s):
    """A msglog_str as str; None for a NULL one (a deleted body)."""
    if s.data == ffi.NULL:
        return None
    return ffi.unpack(s.data, s.len).decode("utf-8")


def _message(m):
    reactions = {}
    for i in range(m.n_reactions):
        r = m.reactions[i]
        reactions[_str(r.key)] = tuple(_str(r.users[j]) for j in range(r.n_users))
    return Message(_id(m.id), m.hlc, _str(m.author), _str(m.body), bool(m.edited),
                   bool(m.deleted), bool(m.conflict), bool(m.equivocated), reactions)


def _page(page):
    return [_message(page.messages[i]) for i in range(page.n)]


def _conv_info(c):
    hexdigits = ffi.new("char[33]")
    lib.msglog_digest_hex(hexdigits, c.digest)
    return ConvInfo({c.vv[i].replica: c.vv[i].seq for i in range(c.n_vv)},
                    c.pending, c.n_messages, ffi.string(hexdigits).decode(),
                    ffi.unpack(ffi.cast("char *", c.digest), 16),
                    {_str(c.read[i].user): _id(c.read[i].message) for i in range(c.n_read)})


def _take(ptr, convert, *args):
    """convert(ptr, *args), then msglog_free(ptr) whatever happens: memory
    the library returned through an out-parameter is freed exactly once, and
    nothing of it outlives this call."""
    try:
        return convert(ptr, *args)
    finally:
        lib.msglog_free(ptr)


def _unpack(ptr, length):
    return ffi.unpack(ffi.cast("char *", ptr), length)


# --------------------------------------------------------------------------
# The store

class Store:
    """One replica's store (an LMDB environment in a directory).

    Store(path, replica, user) opens the store of that identity, creating it
    (and the directory, whose parent must exist) when missing; a store of
    another identity raises Mismatch. Store(path) opens an existing store
    with the identity it holds (NotFound when there is none) and creates
    nothing. The keyword options are msglog_options' (0: the library's
    default): map_size, max_map_size (bytes), max_pending_ops,
    max_pending_bytes.

    Use it as a context manager, or call close(). Do not open one path twice
    in one process, nor use a store across fork().
    """

    def __init__(self, path, replica=0, user=None, *, map_size=0, max_map_size=0,
                 max_pending_ops=0, max_pending_bytes=0):
        self._lock = threading.Lock()
        self._log = None
        self.path = os.fspath(path)
        raw_path = os.fsencode(self.path)
        if b"\0" in raw_path:
            raise ValueError("embedded null byte in path")
        user_bytes = b"" if user is None else _text_arg(user, "user")
        opts = ffi.new("msglog_options *")
        opts.version = lib.MSGLOG_OPTIONS_VERSION
        opts.map_size = map_size
        opts.max_map_size = max_map_size
        opts.max_pending_ops = max_pending_ops
        opts.max_pending_bytes = max_pending_bytes
        out = ffi.new("msglog **")
        rc = lib.msglog_open(out, raw_path, replica,
                             ffi.NULL if user is None else user_bytes, len(user_bytes), opts)
        if rc != lib.MSGLOG_OK:
            raise _error(rc, "cannot open the store in %s" % self.path)
        self._log = ffi.gc(out[0], lib.msglog_close)
        replica_out = ffi.new("uint64_t *")
        user_out = ffi.new("const char **")
        len_out = ffi.new("size_t *")
        self._call(lib.msglog_identity, replica_out, user_out, len_out)
        self.replica = replica_out[0]
        self.user = ffi.unpack(user_out[0], len_out[0]).decode("utf-8")

    def __repr__(self):
        state = "closed" if self._log is None else "replica %d of %s" % (self.replica, self.user)
        return "<msglog.Store %s: %s>" % (self.path, state)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        return self._log is None

    def close(self):
        """Closes the store (msglog_close(), once). Results already returned
        stay valid; calls on a closed store raise ValueError."""
        with self._lock:
            if self._log is not None:
                ffi.release(self._log)    # runs ffi.gc's msglog_close now
                self._log = None

    def _call(self, fn, *args):
        """fn(handle, *args) under the store's lock; a failure raises with
        the handle's message, read before any other call can replace it."""
        with self._lock:
            if self._log is None:
                raise ValueError("the store is closed")
            rc = fn(self._log, *args)
            if rc != lib.MSGLOG_OK:
                text = ffi.string(lib.msglog_errmsg(self._log)).decode("utf-8", "replace")
                raise _error(rc, text)

    # -- creating ops ------------------------------------------------------

    def send(self, conv, body):
        """Sends message `body` to conversation `conv` (created when new);
        returns its Id."""
        c, b = _text_arg(conv, "conv"), _text_arg(body, "body")
        out = ffi.new("msglog_id *")
        self._call(lib.msglog_send, out, c, len(c), ffi.from_buffer(b), len(b))
        return _id(out)

    def edit(self, conv, target, body):
        """Replaces the text of message `target` (only its author may);
        returns the edit's Id."""
        c, b = _text_arg(conv, "conv"), _text_arg(body, "body")
        out = ffi.new("msglog_id *")
        self._call(lib.msglog_edit, out, c, len(c), _id_arg(target), ffi.from_buffer(b), len(b))
        return _id(out)

    def delete(self, conv, target):
        """Deletes message `target` and erases its texts (only its author
        may); returns the delete's Id."""
        c = _text_arg(conv, "conv")
        out = ffi.new("msglog_id *")
        self._call(lib.msglog_delete, out, c, len(c), _id_arg(target))
        return _id(out)

    def react(self, conv, target, key):
        """Adds this user's reaction `key` to message `target`; returns the
        op's Id."""
        c, k = _text_arg(conv, "conv"), _text_arg(key, "key")
        out = ffi.new("msglog_id *")
        self._call(lib.msglog_react, out, c, len(c), _id_arg(target), k, len(k))
        return _id(out)

    def unreact(self, conv, target, key):
        """Removes this user's reaction `key` from message `target`; returns
        the op's Id."""
        c, k = _text_arg(conv, "conv"), _text_arg(key, "key")
        out = ffi.new("msglog_id *")
        self._call(lib.msglog_unreact, out, c, len(c), _id_arg(target), k, len(k))
        return _id(out)

    def mark_read(self, conv, target):
        """Moves this user's read marker of `conv` to message `target`
        (never back); returns the op's Id."""
        c = _text_arg(conv, "conv")
        out = ffi.new("msglog_id *")
        self._call(lib.msglog_mark_read, out, c, len(c), _id_arg(target))
        return _id(out)

    def compact(self):
        """Rewrites the store with its live pages only (msglog_compact()):
        the free pages, and any erased text they still held, go. Needs the
        store alone (Busy while another process has it open). Returns the
        data file's sizes (before, after) in bytes."""
        before, after = ffi.new("uint64_t *"), ffi.new("uint64_t *")
        self._call(lib.msglog_compact, before, after)
        return before[0], after[0]

    def write_batch(self, writes):
        """Creates many ops in one write transaction and one durable commit
        (msglog_write_batch()), each as its own method would, all or nothing.
        `writes` is a sequence of tuples, one for each call, named after the
        methods:
            ("send", conv, body)        ("edit", conv, target, body)
            ("delete", conv, target)    ("react", conv, target, key)
            ("unreact", conv, target, key)    ("mark_read", conv, target)
        An entry may target a message an earlier entry sends: its id is
        Id(store.replica, the conversation's next seq), in entry order.
        Returns the ops' Ids, in order. A refusal commits nothing and raises
        with `index`, the entry refused (0 too when the batch as a whole
        failed: more than MAX_WRITE_BATCH entries, the store)."""
        writes = list(writes)
        entries = ffi.new("msglog_write[]", len(writes))
        keep = []
        for w, entry in zip(entries, writes):
            kind, conv, *fields = entry
            if kind not in _WRITES:
                raise ValueError("unknown write %r: one of %s" % (kind, ", ".join(_WRITES)))
            w.kind, has_target, has_text = _WRITES[kind]
            if len(fields) != has_target + has_text:
                raise TypeError("a %r write takes %d fields after conv, not %d"
                                % (kind, has_target + has_text, len(fields)))
            c = ffi.from_buffer(_text_arg(conv, "conv"))
            w.conv, w.conv_len = c, len(c)
            keep.append(c)
            if has_target:
                w.target = _id_arg(fields[0])
            if has_text:
                t = ffi.from_buffer(_text_arg(fields[-1], "text"))
                w.text, w.text_len = t, len(t)
                keep.append(t)
        ids = ffi.new("msglog_id[]", len(writes))
        failed = ffi.new("size_t *")
        try:
            self._call(lib.msglog_write_batch, ids, entries, len(writes), failed)
        except MsglogError as e:
            e.index = failed[0]
            raise
        return [_id(i) for i in ids]

    # -- reading the view --------------------------------------------------

    def page(self, conv, limit, *, backward=False, start=None):
        """Up to `limit` messages of `conv` in message order (newest first
        when `backward`), from one read of the store: from the oldest (the
        newest) message, or when `start` (a Message) is given, from just after
        it (just before it). A list of Message."""
        c = _text_arg(conv, "conv")
        cursor = ffi.new("msglog_cursor *")
        if start is None:
            cursor.from_end = 1
        else:
            cursor.hlc = start.hlc
            cursor.id = _id_arg(start.id)
        out = ffi.new("msglog_page **")
        direction = lib.MSGLOG_BACKWARD if backward else lib.MSGLOG_FORWARD
        self._call(lib.msglog_messages, out, c, len(c), direction, cursor[0], limit)
        return _take(out[0], _page)

    def messages(self, conv, *, backward=False, page_size=256, start=None):
        """An iterator over the messages of `conv` in message order (newest
        first when `backward`), read `page_size` at a time with page(), each
        page continuing from the last message of the one before. Each page
        is a consistent snapshot; messages delivered between pages appear
        when they fall after the position reached."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        while True:
            page = self.page(conv, page_size, backward=backward, start=start)
            yield from page
            if len(page) < page_size:
                return
            start = page[-1]

    def message(self, conv, id):
        """Message `id` (the id of its send) of `conv`; NotFound when it is
        not a message delivered here."""
        c = _text_arg(conv, "conv")
        out = ffi.new("msglog_page **")
        self._call(lib.msglog_message_get, out, c, len(c), _id_arg(id))
        return _take(out[0], _page)[0]

    def info(self, conv):
        """The summary of `conv` (a ConvInfo); NotFound when the store holds
        no op of it."""
        c = _text_arg(conv, "conv")
        out = ffi.new("msglog_conv_info **")
        self._call(lib.msglog_conv_info_get, out, c, len(c))
        return _take(out[0], _conv_info)

    def conversations(self):
        """The ids of the conversations this store holds an op of, in
        ascending bytewise order (a list of str)."""
        out = ffi.new("msglog_str **")
        n = ffi.new("size_t *")
        self._call(lib.msglog_conversations, out, n)
        return _take(out[0], lambda convs: [_str(convs[i]) for i in range(n[0])])

    def delivery_status(self, conv, id):
        """How far message `id` of `conv` has got (a Status), from what a
        relay told this store."""
        c = _text_arg(conv, "conv")
        out = ffi.new("int *")
        self._call(lib.msglog_delivery_status, out, c, len(c), _id_arg(id))
        return Status(out[0])

    # -- moving ops --------------------------------------------------------

    def op_bytes(self, conv, id):
        """The encoding of op `id` of `conv` as this store holds it, for
        another store's receive() (bytes)."""
        c = _text_arg(conv, "conv")
        out = ffi.new("void **")
        n = ffi.new("size_t *")
        self._call(lib.msglog_op_bytes, out, n, c, len(c), _id_arg(id))
        return _take(out[0], _unpack, n[0])

    def receive(self, op):
        """Receives one encoded op (bytes): delivered, or pending until its
        dependencies arrive; a duplicate is ignored. Corrupt (UnknownVersion,
        UnknownKind, Limit) for bytes that do not decode: nothing changes."""
        b = _bytes_arg(op, "op")
        self._call(lib.msglog_receive, ffi.from_buffer(b), len(b))

    def receive_batch(self, ops):
        """Receives encoded ops (an iterable of bytes) in one transaction:
        refused whole when one does not decode."""
        keep = [ffi.from_buffer(_bytes_arg(op, "op")) for op in ops]
        bufs = ffi.new("msglog_buf[]", len(keep))
        for buf, data in zip(bufs, keep):
            buf.data = data
            buf.len = len(data)
        self._call(lib.msglog_receive_batch, bufs, len(keep))

    def sync_request(self, conv=None):
        """Delta sync, step 1, at the receiver: what it has of `conv` (every
        conversation when None), as bytes for the sender's sync_response()."""
        out = ffi.new("void **")
        n = ffi.new("size_t *")
        if conv is None:
            self._call(lib.msglog_sync_request, out, n, ffi.NULL, 0)
        else:
            c = _text_arg(conv, "conv")
            self._call(lib.msglog_sync_request, out, n, c, len(c))
        return _take(out[0], _unpack, n[0])

    def sync_response(self, request):
        """Delta sync, step 2, at the sender: the ops the requester lacks, as
        bytes for its sync_apply()."""
        b = _bytes_arg(request, "request")
        out = ffi.new("void **")
        n = ffi.new("size_t *")
        self._call(lib.msglog_sync_response, out, n, ffi.from_buffer(b), len(b))
        return _take(out[0], _unpack, n[0])

    def sync_apply(self, response):
        """Delta sync, step 3, at the receiver: applies a response as one
        receive_batch()."""
        b = _bytes_arg(response, "response")
        self._call(lib.msglog_sync_apply, ffi.from_buffer(b), len(b))

    def sync_from(self, other, conv=None):
        """The three steps between two stores of this process: brings this
        store up to date with `other` (for `conv`, or everything)."""
        self.sync_apply(other.sync_response(self.sync_request(conv)))

    # -- network sync ------------------------------------------------------

    def sync(self, host, port, *, convs=None, timeout=None):
        """Syncs once with the relay at host:port over TCP (a once-mode
        msglog_client on a private libuv loop, run on this thread until the
        store is up to date with the relay): sends what the relay lacks,
        takes what it has, for the conversations `convs` (default: every
        conversation either side holds). Blocks until done, or until
        `timeout` seconds (default: no limit), and is not interrupted by
        signals (KeyboardInterrupt comes after). Raises NetworkFailure for
        the network (refused, cut, timed out), another MsglogError for a protocol
        or storage failure, with the connection's detail as message."""
        if signal.getsignal(signal.SIGPIPE) != signal.SIG_IGN:
            raise RuntimeError("network sync needs SIGPIPE ignored "
                               "(signal.signal(signal.SIGPIPE, signal.SIG_IGN))")
        h = _text_arg(host, "host")
        if b"\0" in h:
            raise ValueError("embedded null byte in host")
        host_c = ffi.new("char[]", h)    # NUL-terminated
        keep = [ffi.from_buffer(_text_arg(conv, "conv")) for conv in convs or ()]
        conv_strs = ffi.new("msglog_str[]", len(keep))
        for s, data in zip(conv_strs, keep):
            s.data = data
            s.len = len(data)
        opts = ffi.new("msglog_client_options *")
        opts.version = lib.MSGLOG_CLIENT_OPTIONS_VERSION
        opts.host = host_c
        opts.port = port
        opts.convs = conv_strs
        opts.n_convs = len(keep)
        if timeout is not None:
            if not timeout > 0:
                raise ValueError("timeout must be a positive number of seconds")
            opts.timeout_ms = max(1, round(timeout * 1000))
        with self._lock:
            if self._log is None:
                raise ValueError("the store is closed")
            _run_client(self._log, opts)


def _run_client(log, opts):
    """Runs one once-mode client of handle `log` to its end on a loop of its
    own, and closes both (the store's lock held)."""
    loop = ffi.new("uv_loop_t *")
    e = lib.uv_loop_init(loop)
    if e != 0:
        raise IOFailure(lib.MSGLOG_EIO, "cannot make an event loop: %s"
                        % ffi.string(lib.uv_strerror(e)).decode())
    client = ffi.new("msglog_client **")
    try:
        rc = lib.msglog_client_new(client, log, loop, opts)
        if rc == lib.MSGLOG_OK:
            rc = lib.msglog_client_start(client[0])
        if rc != lib.MSGLOG_OK:
            raise _error(rc, ffi.string(lib.msglog_errmsg(log)).decode("utf-8", "replace"))
        lib.uv_run(loop, lib.UV_RUN_DEFAULT)
        rc = lib.msglog_client_result(client[0])
        if rc != lib.MSGLOG_OK:
            info = ffi.new("msglog_conn_info *")
            lib.msglog_client_state(client[0], info)
            raise _error(rc, ffi.string(info.detail).decode("utf-8", "replace"))
    finally:
        lib.msglog_client_close(client[0])   # NULL when it was never made
        lib.uv_run(loop, lib.UV_RUN_DEFAULT)   # runs the close callbacks
        lib.uv_loop_close(loop)
