"""The session protocol of docs/protocol.md, spoken by hand, for tests that
play a hostile or odd peer against a real relay process.

Only what the tests need: a MessagePack subset (uint, str, bin, bool, nil,
array; always the smallest form, as msglog's decoders require), the 4-byte
framing, builders for the session messages and for op encodings
(docs/format.md), and a blocking socket peer that reads whole frames.
"""
import socket
import struct

VERSION = 1
HELLO, BATCH, ACK, WANT, REPAIR, STATUS, ERROR = range(16, 23)
SEND = 1


class Bin(bytes):
    """Bytes to be packed as MessagePack bin (plain bytes pack as str)."""


def pack(v):
    """The smallest MessagePack form of v: bool, None, int >= 0, str or
    bytes (str), Bin (bin), list or tuple (array)."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        return _pack_uint(v)
    if isinstance(v, Bin):
        return _pack_len(len(v), None, 0xc4, 0xc5, 0xc6) + bytes(v)
    if isinstance(v, str):
        v = v.encode("utf-8")
    if isinstance(v, bytes):
        return _pack_len(len(v), 0xa0, 0xd9, 0xda, 0xdb, fix_max=31) + v
    if isinstance(v, (list, tuple)):
        return _pack_len(len(v), 0x90, None, 0xdc, 0xdd, fix_max=15) + b"".join(pack(x) for x in v)
    raise TypeError("cannot pack %r" % type(v))


def _pack_uint(n):
    if n < 0:
        raise ValueError("only unsigned integers")
    if n < 128:
        return bytes([n])
    for tag, fmt, limit in ((0xcc, ">B", 1 << 8), (0xcd, ">H", 1 << 16), (0xce, ">I", 1 << 32),
                            (0xcf, ">Q", 1 << 64)):
        if n < limit:
            return bytes([tag]) + struct.pack(fmt, n)
    raise ValueError("integer over 64 bits")


def _pack_len(n, fix, tag8, tag16, tag32, fix_max=-1):
    if fix is not None and n <= fix_max:
        return bytes([fix | n])
    if tag8 is not None and n < 1 << 8:
        return bytes([tag8, n])
    if n < 1 << 16:
        return bytes([tag16]) + struct.pack(">H", n)
    return bytes([tag32]) + struct.pack(">I", n)


def unpack(data):
    """The one object in data (a test's own decoder: trusts its input)."""
    v, end = _unpack(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return v


def _unpack(d, i):
    b = d[i]
    i += 1
    if b < 0x80:
        return b, i
    if 0xa0 <= b <= 0xbf:
        return d[i:i + (b & 31)], i + (b & 31)
    if 0x90 <= b <= 0x9f:
        return _unpack_array(d, i, b & 15)
    if b in (0xc0, 0xc2, 0xc3):
        return {0xc0: None, 0xc2: False, 0xc3: True}[b], i
    sizes = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}
    if b in sizes:
        n = sizes[b]
        return int.from_bytes(d[i:i + n], "big"), i + n
    lens = {0xd9: 1, 0xda: 2, 0xdb: 4, 0xc4: 1, 0xc5: 2, 0xc6: 4, 0xdc: 2, 0xdd: 4}
    if b in lens:
        n = lens[b]
        count = int.from_bytes(d[i:i + n], "big")
        i += n
        if b in (0xdc, 0xdd):
            return _unpack_array(d, i, count)
        return d[i:i + count], i + count
    raise ValueError("unsupported MessagePack byte 0x%02x" % b)


def _unpack_array(d, i, n):
    out = []
    for _ in range(n):
        v, i = _unpack(d, i)
        out.append(v)
    return out, i


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def flat(pairs):
    """[(a, b), ...] -> [a, b, ...], the layout of vectors and id lists."""
    return [x for pair in pairs for x in pair]


def hello(replica, user, convs=(), all_convs=False, budget=1 << 20, window=4):
    """convs: [(conv, vv pairs, digest bytes)] strictly ascending by conv."""
    listed = [[c, flat(vv), Bin(dg or bytes(16))] for c, vv, dg in convs]
    return pack([VERSION, HELLO, replica, user, budget, window, all_convs, listed])


def batch(batch_no, conv, ops, more=False):
    return pack([VERSION, BATCH, batch_no, conv, more, [Bin(o) for o in ops]])


def want(conv, ids):
    return pack([VERSION, WANT, conv, flat(ids)])


def ack(batch_no, conv, vv, digest=bytes(16), result=0):
    return pack([VERSION, ACK, batch_no, conv, result, flat(vv), Bin(digest)])


def op_send(conv, replica, seq, hlc, user, body, deps=()):
    """A send op's encoding (docs/format.md, "Op encoding")."""
    return pack([VERSION, SEND, conv, replica, seq, hlc, user, flat(deps), body])


class Peer:
    """A blocking TCP peer that writes and reads whole frames; `source`: the
    local address to connect from (any 127.x.y.z on Linux loopback)."""

    def __init__(self, host, port, timeout=30, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, payload):
        self.sock.sendall(frame(payload))

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self):
        """The next message, decoded, skipping keep-alives; None at EOF."""
        while True:
            while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">I", self.buf[:4])[0]:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                self.buf += chunk
            n = struct.unpack(">I", self.buf[:4])[0]
            payload, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
            if n:
                return unpack(payload)

    def recv_type(self, kind):
        """Reads until a message of type kind (others are skipped)."""
        while True:
            m = self.recv()
            if m is None or m[1] == kind:
                return m

    def error_then_eof(self):
        """(code, reason) of the ERROR the peer ends with (other messages
        before it skipped), once its end of stream followed; raises
        ValueError when the stream ends without one or goes on after it."""
        m = self.recv_type(ERROR)
        if m is None:
            raise ValueError("the stream ended without an ERROR")
        try:
            rest = self.recv()
        except ConnectionResetError:
            # What we sent after the peer closed (a HELLO racing a refusal
            # at accept) is answered with a reset: an end all the same.
            rest = None
        if rest is not None:
            raise ValueError("bytes after the ERROR")
        return m[2], m[3].decode("utf-8", "replace")

    def close(self):
        self.sock.close()


def vv_of(entries, replica):
    """The seq of replica in a flat vector [replica, seq, ...] (0: none)."""
    for i in range(0, len(entries), 2):
        if entries[i] == replica:
            return entries[i + 1]
    return 0
