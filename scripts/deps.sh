#!/bin/sh
# Installs what builds needs on a Debian machine, skipping what is there.
# Run as root. Usage: scripts/deps.sh [run|test]
#   run:  what `builds serve` and a real build need
#   test: that, plus the servers and browser the test suite starts
set -eu

want="${1:-run}"
pkgs="qemu-system-x86 qemu-utils debootstrap e2fsprogs git mercurial openssh-client ca-certificates curl iproute2 iptables util-linux"
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

# qemu never runs as root: the control script starts it as this user (and
# docker containers run as its uid). It may use KVM, nothing else.
qemu_user=${BUILDS_QEMU_USER:-builds-qemu}
if ! id "$qemu_user" >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: user $qemu_user is missing and creating it needs root" >&2
		exit 1
	fi
	echo "deps: creating system user $qemu_user"
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$qemu_user"
fi
if getent group kvm >/dev/null && ! id -nG "$qemu_user" | grep -qw kvm && [ "$(id -u)" = 0 ]; then
	usermod -aG kvm "$qemu_user"
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
