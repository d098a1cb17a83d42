#!/usr/bin/env python3
"""Builds msglog's Python binding: the package `msglog` with its cffi
extension `msglog._msglog`, compiled in API mode against include/msglog.h and
libmsglog (the way PyNaCl binds libsodium), by the interpreter that runs this
script, for that interpreter.

usage:
  build_msglog.py --prefix P --out DIR             against an installed msglog
  build_msglog.py --include I --libdir L --out DIR against a build tree

--prefix P looks for P/include/msglog.h and libmsglog.so in P/lib,
P/lib64 or P/lib/<multiarch>. Writes DIR/msglog/: the package's .py files
and the extension, linked with an rpath to the library's directory (so
nothing needs LD_LIBRARY_PATH); put DIR on sys.path (PYTHONPATH, or DIR a
site-packages). The CMake build runs the second form (python/CMakeLists.txt).
Needs cffi, setuptools and the Python headers (Debian: python3-cffi,
python3-setuptools, python3-dev) and libuv's headers (libuv1-dev).
"""
import argparse
import glob
import os
import shutil
import sys
import tempfile

import cffi

HERE = os.path.dirname(os.path.abspath(__file__))

# The declarations the package uses, from include/msglog.h. Structs end in
# `...;`: the compiler supplies their layout, so fields the header gains
# later do not break the binding, and only the fields named here are used.
# `#define X ...` takes each constant's value from the header too.
CDEF = """
#define MSGLOG_VERSION_MAJOR ...
#define MSGLOG_VERSION_MINOR ...
#define MSGLOG_VERSION_PATCH ...
static const char *const MSGLOG_VERSION_STRING;
const char *msglog_version(void);

#define MSGLOG_OK ...
#define MSGLOG_EINVAL ...
#define MSGLOG_ENOTFOUND ...
#define MSGLOG_EDENIED ...
#define MSGLOG_ELIMIT ...
#define MSGLOG_ECORRUPT ...
#define MSGLOG_EVERSION ...
#define MSGLOG_EMISMATCH ...
#define MSGLOG_EFULL ...
#define MSGLOG_ENOMEM ...
#define MSGLOG_EIO ...
#define MSGLOG_EKIND ...
#define MSGLOG_EPENDINGFULL ...
#define MSGLOG_EEQUIVOCAL ...
#define MSGLOG_EBUSY ...
#define MSGLOG_ENET ...

#define MSGLOG_MAX_CONV ...
#define MSGLOG_MAX_USER ...
#define MSGLOG_MAX_BODY ...
#define MSGLOG_MAX_KEY ...

#define MSGLOG_OPTIONS_VERSION ...
#define MSGLOG_FORWARD ...
#define MSGLOG_BACKWARD ...
#define MSGLOG_STATUS_PENDING ...
#define MSGLOG_STATUS_SENT ...
#define MSGLOG_STATUS_DELIVERED ...
#define MSGLOG_STATUS_READ ...
#define MSGLOG_CLIENT_OPTIONS_VERSION ...

typedef struct msglog msglog;
typedef struct msglog_id { uint64_t replica; uint64_t seq; ...; } msglog_id;
typedef struct msglog_options {
    unsigned version;
    size_t map_size;
    size_t max_map_size;
    uint64_t max_pending_ops;
    uint64_t max_pending_bytes;
    ...;
} msglog_options;
typedef struct msglog_str { const char *data; size_t len; ...; } msglog_str;
typedef struct msglog_reaction {
    msglog_str key;
    size_t n_users;
    const msglog_str *users;
    ...;
} msglog_reaction;
typedef struct msglog_message {
    msglog_id id;
    uint64_t hlc;
    msglog_str author;
    msglog_str body;
    int edited;
    int deleted;
    int conflict;
    int equivocated;
    size_t n_reactions;
    const msglog_reaction *reactions;
    ...;
} msglog_message;
typedef struct msglog_page { size_t n; msglog_message *messages; ...; } msglog_page;
typedef struct msglog_cursor { int from_end; uint64_t hlc; msglog_id id; ...; } msglog_cursor;
typedef struct msglog_read_marker { msglog_str user; msglog_id message; ...; } msglog_read_marker;
typedef struct msglog_vv_entry { uint64_t replica; uint64_t seq; ...; } msglog_vv_entry;
typedef struct msglog_conv_info {
    size_t n_vv;
    msglog_vv_entry *vv;
    uint64_t pending;
    uint64_t n_messages;
    uint8_t digest[16];
    size_t n_read;
    msglog_read_marker *read;
    ...;
} msglog_conv_info;
typedef struct msglog_buf { const void *data; size_t len; ...; } msglog_buf;

const char *msglog_strerror(int err);
int msglog_open(msglog **out, const char *path, uint64_t replica,
                const char *user, size_t user_len, const msglog_options *opts);
int msglog_identity(msglog *log, uint64_t *replica, const char **user, size_t *user_len);
void msglog_close(msglog *log);
const char *msglog_errmsg(const msglog *log);
void msglog_free(void *p);

int msglog_send(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                const void *body, size_t body_len);
int msglog_edit(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                msglog_id target, const void *body, size_t body_len);
int msglog_delete(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                  msglog_id target);
int msglog_react(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                 msglog_id target, const char *key, size_t key_len);
int msglog_unreact(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                   msglog_id target, const char *key, size_t key_len);
int msglog_mark_read(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                     msglog_id target);
int msglog_op_bytes(msglog *log, void **out, size_t *out_len, const char *conv,
                    size_t conv_len, msglog_id id);

#define MSGLOG_WRITE_SEND ...
#define MSGLOG_WRITE_EDIT ...
#define MSGLOG_WRITE_DELETE ...
#define MSGLOG_WRITE_REACT ...
#define MSGLOG_WRITE_UNREACT ...
#define MSGLOG_WRITE_READ ...
#define MSGLOG_MAX_WRITE_BATCH ...
typedef struct msglog_write {
    int kind;
    const char *conv;
    size_t conv_len;
    msglog_id target;
    const void *text;
    size_t text_len;
    ...;
} msglog_write;
int msglog_write_batch(msglog *log, msglog_id *ids, const msglog_write *w, size_t n,
                       size_t *failed);
int msglog_compact(msglog *log, uint64_t *before, uint64_t *after);
uint64_t msglog_new_replica_id(void);

int msglog_messages(msglog *log, msglog_page **out, const char *conv, size_t conv_len,
                    int dir, msglog_cursor from, size_t limit);
int msglog_message_get(msglog *log, msglog_page **out, const char *conv, size_t conv_len,
                       msglog_id id);
int msglog_conv_info_get(msglog *log, msglog_conv_info **out, const char *conv,
                         size_t conv_len);
int msglog_conversations(msglog *log, msglog_str **out, size_t *n_out);
void msglog_digest_hex(char out[33], const uint8_t digest[16]);

int msglog_receive(msglog *log, const void *op, size_t op_len);
int msglog_receive_batch(msglog *log, const msglog_buf *ops, size_t n_ops);
int msglog_sync_request(msglog *log, void **out, size_t *out_len, const char *conv,
                        size_t conv_len);
int msglog_sync_response(msglog *log, void **out, size_t *out_len, const void *request,
                         size_t request_len);
int msglog_sync_apply(msglog *log, const void *response, size_t response_len);
int msglog_delivery_status(msglog *log, int *out, const char *conv, size_t conv_len,
                           msglog_id id);

/* Network sync, once mode only (docs/python.md): no callbacks. */
typedef struct uv_loop_s { ...; } uv_loop_t;
typedef enum { UV_RUN_DEFAULT, ... } uv_run_mode;
int uv_loop_init(uv_loop_t *loop);
int uv_run(uv_loop_t *loop, uv_run_mode mode);
int uv_loop_close(uv_loop_t *loop);
const char *uv_strerror(int err);

typedef struct msglog_client msglog_client;
typedef struct msglog_conn_info { int last_error; const char *detail; ...; } msglog_conn_info;
typedef struct msglog_client_options {
    unsigned version;
    const char *host;
    uint16_t port;
    int watch;
    const msglog_str *convs;
    size_t n_convs;
    uint32_t timeout_ms;
    ...;
} msglog_client_options;
int msglog_client_new(msglog_client **out, msglog *log, uv_loop_t *loop,
                      const msglog_client_options *opts);
int msglog_client_start(msglog_client *c);
void msglog_client_state(const msglog_client *c, msglog_conn_info *out);
int msglog_client_result(const msglog_client *c);
void msglog_client_close(msglog_client *c);
"""


def builder(include, libdir):
    """The cffi builder of msglog._msglog against include/msglog.h in
    `include` and libmsglog.so in `libdir`."""
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("msglog._msglog", "#include <msglog.h>\n#include <uv.h>\n",
                   include_dirs=[include], library_dirs=[libdir],
                   libraries=["msglog", "uv"],
                   extra_link_args=["-Wl,-rpath," + libdir])
    return ffi


def find_libdir(prefix):
    for d in [os.path.join(prefix, "lib"), os.path.join(prefix, "lib64")] + \
             sorted(glob.glob(os.path.join(prefix, "lib", "*-linux-*"))):
        if os.path.exists(os.path.join(d, "libmsglog.so")):
            return d
    sys.exit("build_msglog.py: no libmsglog.so in %s/lib, lib64 or lib/<multiarch>" % prefix)


def build(include, libdir, out, verbose=False):
    """Compiles the extension and writes the package into out/msglog/."""
    if not os.path.exists(os.path.join(include, "msglog.h")):
        sys.exit("build_msglog.py: no msglog.h in %s" % include)
    package = os.path.join(out, "msglog")
    os.makedirs(package, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="msglog-cffi-") as tmp:
        so = builder(include, libdir).compile(tmpdir=tmp, verbose=verbose)
        shutil.copy2(so, os.path.join(package, os.path.basename(so)))
    for py in glob.glob(os.path.join(HERE, "msglog", "*.py")):
        shutil.copy2(py, package)


def main():
    p = argparse.ArgumentParser(description="Builds the msglog Python package into OUT/msglog/.")
    p.add_argument("--prefix", help="an installed msglog: PREFIX/include and PREFIX/lib*")
    p.add_argument("--include", help="the directory of msglog.h")
    p.add_argument("--libdir", help="the directory of libmsglog.so")
    p.add_argument("--out", required=True, help="where to write the package msglog/")
    p.add_argument("--verbose", action="store_true", help="show the compiler's commands")
    a = p.parse_args()
    if a.prefix:
        include = a.include or os.path.join(a.prefix, "include")
        libdir = a.libdir or find_libdir(a.prefix)
    elif a.include and a.libdir:
        include, libdir = a.include, a.libdir
    else:
        p.error("give --prefix, or --include and --libdir")
    build(os.path.abspath(include), os.path.abspath(libdir), a.out, a.verbose)


if __name__ == "__main__":
    main()
