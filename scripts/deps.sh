#!/bin/sh
# Installs what builds needs on a Debian machine, skipping what is there.
# Run as root. Usage: scripts/deps.sh [run|test]
#   run:  what `builds serve` and a real build need
#   test: that, plus the servers and browser the test suite starts
set -eu

want="${1:-run}"
pkgs="qemu-system-x86 qemu-utils debootstrap e2fsprogs git mercurial openssh-client ca-certificates curl"
if [ "$want" = test ]; then
	pkgs="$pkgs postgresql redis-server docker.io chromium openssh-server sudo"
fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	if [ "$(id -u)" != 0 ]; then
		echo "deps: these Debian packages are missing and installing them needs root:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# Go: the toolchain lives in /usr/local/go on these machines; Debian's own
# golang package is too old for this module.
if ! command -v go >/dev/null 2>&1; then
	if [ -x /usr/local/go/bin/go ]; then
		:
	else
		echo "deps: Go 1.26 or newer is required; install it to /usr/local/go" >&2
		exit 1
	fi
fi
