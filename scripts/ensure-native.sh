#!/usr/bin/env bash
# Makes sure the C++ runtime that TorchSharp 0.107's native library links against is present.
# libLibTorchSharp.so needs GLIBCXX_3.4.32 (libstdc++ from GCC 13 or newer).
# Idempotent: does nothing (and prints nothing) when the symbol version is already there.
set -euo pipefail

need=GLIBCXX_3.4.32

has_symbol() {
  local lib
  for lib in $(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64|libstdc\+\+\.so\.6 .*AArch64/{print $NF}') \
             /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6; do
    [ -r "$lib" ] && grep -aq "$need" "$lib" && return 0
  done
  return 1
}

has_symbol && exit 0

explain() {
  cat >&2 <<MSG
ModelDsl setup: TorchSharp's native library needs libstdc++ with $need (GCC 13 or newer),
and this machine's libstdc++ does not provide it. $1
Install a newer libstdc++6, for example:
  Debian 12 (as root):  echo 'deb http://deb.debian.org/debian trixie main' > /etc/apt/sources.list.d/trixie.list
                        apt-get update && apt-get install -y -t trixie libstdc++6
  Ubuntu 22.04:         add-apt-repository ppa:ubuntu-toolchain-r/test && apt-get install libstdc++6
  Other systems:        any GCC >= 13 runtime; put its libstdc++.so.6 on LD_LIBRARY_PATH.
MSG
  exit 1
}

[ "$(id -u)" = 0 ] || explain "Installing it needs root, and this shell is not root."
command -v apt-get >/dev/null || explain "There is no apt-get here to install it with."
. /etc/os-release 2>/dev/null || true
[ "${ID:-}" = debian ] || explain "Automatic installation is only done on Debian (this is '${ID:-unknown}')."

echo "ModelDsl setup: installing libstdc++6 from Debian trixie (needed by TorchSharp) ..." >&2
# trixie at low priority: only packages asked for with -t trixie (and their needs) come from it.
cat > /etc/apt/sources.list.d/modeldsl-trixie.sources <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
cat > /etc/apt/preferences.d/modeldsl-trixie <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -q && apt-get install -y -q -t trixie libstdc++6; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  explain "The automatic installation from Debian trixie failed (log above)."
fi
rm -f "$log"
ldconfig || true
has_symbol || explain "libstdc++6 from trixie was installed but $need is still missing."
echo "ModelDsl setup: libstdc++6 installed." >&2
