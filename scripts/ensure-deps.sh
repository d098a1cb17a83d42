#!/bin/sh
# Makes sure the Debian packages msglog builds with are installed.
# As root it installs what is missing; otherwise it prints the command and fails.
# The install test (tests/install/run.sh) needs nothing more: the static
# archives it links come with the -dev packages (libuv1-dev's is libuv_a.a),
# libc.a with build-essential (libc6-dev), readelf with binutils.
set -e
PKGS="build-essential cmake pkg-config python3 python3-dev python3-cffi python3-pytest python3-setuptools liblmdb-dev libmsgpack-dev libxxhash-dev libcriterion-dev libjansson-dev libuv1-dev libsodium-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing:$missing"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
else
  echo "msglog needs these Debian packages:$missing" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
