#!/bin/sh
# Installs the Debian packages ax needs to build and test, if any is missing.
# Idempotent: does nothing when everything is present. As root it runs
# apt-get; otherwise it prints the exact command and fails.
set -eu

PKGS="gcc make pkg-config libc6-dev clang libclang-rt-14-dev libcriterion-dev
      libdw-dev libsqlite3-dev libedit-dev libncurses-dev tmux"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "ax: missing Debian packages:$missing" >&2
    echo "ax: run as root:  apt-get update && $cmd" >&2
    exit 1
fi
echo "ax: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$cmd
