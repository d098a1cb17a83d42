#!/bin/sh
# The install test (the ctest `install`): what a new user does with an
# installed msglog, the commands of README.md, on this build.
#
# usage: run.sh BUILD_DIR LIBDIR VERSION CC CMAKE
#
#  1. cmake --install BUILD_DIR into a temporary prefix, which is then moved:
#     msglog.pc and the CMake package must find the new place themselves.
#  2. hello.c with `pkg-config --cflags --libs msglog`: linked against
#     libmsglog.so.MAJOR, run with LD_LIBRARY_PATH on the prefix.
#  3. hello.c with `cc -static` and `pkg-config --static --cflags --libs`: a
#     fully static executable (no dynamic section): libmsglog.a, liblmdb.a,
#     libmsgpackc.a, libxxhash.a, libuv_a.a, libsodium.a and glibc's libc.a.
#     The linker warns that libuv's getpwuid_r and getaddrinfo would need
#     glibc's shared NSS modules at run time; hello calls neither.
#  4. tests/install/CMakeLists.txt, find_package(msglog CONFIG): hello with
#     msglog::msglog (found through its RPATH) and with msglog::msglog_static
#     (libmsglog.a, the packages below it shared); a request for the next
#     major version is refused.
#  5. bin/msglog --version and bin/msglog version.
# Each hello opens a new store, sends, reads the message back and prints
# msglog_version(); its whole output is compared.
set -eu
build=$1 libdir=$2 version=$3 cc=$4 cmake=$5
here=$(cd "$(dirname "$0")" && pwd)
major=${version%%.*}
export LC_ALL=C
# Not the jobserver of a `make test` around ctest: the CMake build below has
# its own make.
unset MAKEFLAGS MFLAGS MAKELEVEL
tmp=$(mktemp -d "${TMPDIR:-/tmp}/msglog-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "install: FAIL: $*" >&2; exit 1; }
# Runs a command with its output in $tmp/log, shown only if it fails.
quiet() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; fail "$*"; }; }
expect="msglog $version (header $version)
1:1 alice: hello from C"
# hello PROGRAM NAME: runs PROGRAM on a new store and checks what it prints.
hello() {
    out=$("$1" "$tmp/store-$2") || fail "$2 exited with $?"
    [ "$out" = "$expect" ] || fail "$2 printed:
$out
instead of:
$expect"
    echo "install: ok: $2"
}
# needs PROGRAM LIB: whether PROGRAM names LIB as a shared library it needs.
needs() { readelf -d "$1" | grep -q "(NEEDED).*\[$2\]"; }
# loads PROGRAM: where the dynamic loader finds libmsglog for PROGRAM.
loads() { ldd "$1" | sed -n 's/^[[:space:]]*libmsglog\.so[^ ]* => \([^ ]*\) .*/\1/p'; }

case $libdir in
    /*) fail "LIBDIR $libdir is absolute: the installation cannot be moved" ;;
esac
quiet "$cmake" --install "$build" --prefix "$tmp/staged"
mv "$tmp/staged" "$tmp/prefix"
P=$tmp/prefix
echo "install: ok: installed into a prefix and moved"

# pkg-config
export PKG_CONFIG_PATH="$P/$libdir/pkgconfig"
[ "$(pkg-config --modversion msglog)" = "$version" ] ||
    fail "msglog.pc: version $(pkg-config --modversion msglog), not $version"
[ "$(cd "$(pkg-config --variable=prefix msglog)" && pwd -P)" = "$(cd "$P" && pwd -P)" ] ||
    fail "msglog.pc: prefix $(pkg-config --variable=prefix msglog) is not $P"
quiet "$cc" -Wall -Wextra -Werror "$here/hello.c" $(pkg-config --cflags --libs msglog) \
    -o "$tmp/hello-pc"
needs "$tmp/hello-pc" "libmsglog.so.$major" || fail "hello-pc does not need libmsglog.so.$major"
[ "$(LD_LIBRARY_PATH="$P/$libdir" loads "$tmp/hello-pc")" = "$P/$libdir/libmsglog.so.$major" ] ||
    fail "hello-pc does not load the installed libmsglog.so.$major"
LD_LIBRARY_PATH="$P/$libdir" hello "$tmp/hello-pc" "pkg-config shared"

quiet "$cc" -static -Wall -Wextra -Werror "$here/hello.c" \
    $(pkg-config --static --cflags --libs msglog) -o "$tmp/hello-pc-static"
readelf -d "$tmp/hello-pc-static" | grep -q "no dynamic section" ||
    fail "hello-pc-static is not fully static"
hello "$tmp/hello-pc-static" "pkg-config --static, cc -static"

# CMake
quiet "$cmake" -S "$here" -B "$tmp/cmake" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$P" -DMSGLOG_WANTED="$version"
quiet "$cmake" --build "$tmp/cmake"
[ "$(loads "$tmp/cmake/hello")" = "$P/$libdir/libmsglog.so.$major" ] ||
    fail "the CMake hello does not load the installed libmsglog.so.$major"
hello "$tmp/cmake/hello" "find_package, msglog::msglog"
! needs "$tmp/cmake/hello_static" "libmsglog.so.$major" ||
    fail "the CMake hello_static needs libmsglog.so"
hello "$tmp/cmake/hello_static" "find_package, msglog::msglog_static"
if "$cmake" -S "$here" -B "$tmp/cmake-next" -DCMAKE_PREFIX_PATH="$P" \
        -DMSGLOG_WANTED="$((major + 1)).0" >"$tmp/log" 2>&1; then
    fail "find_package(msglog $((major + 1)).0) accepted version $version"
fi
grep -q "msglogConfig.cmake, version: $version" "$tmp/log" || { cat "$tmp/log" >&2;
    fail "find_package(msglog $((major + 1)).0) failed for another reason"; }
echo "install: ok: find_package(msglog $((major + 1)).0) refused"

# The CLI
for arg in --version version; do
    out=$("$P/bin/msglog" $arg) || fail "msglog $arg exited with $?"
    [ "$out" = "msglog $version" ] || fail "msglog $arg printed '$out'"
done
echo "install: ok: msglog --version, msglog version"
