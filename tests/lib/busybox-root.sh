#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# busybox_root DIR [APPLET...]: a private root for a container at DIR: the
# directories its mounts go on (bin dev proc sys tmp, tmp sticky and
# world-writable), the static /bin/busybox as DIR/bin/busybox and a link to
# it for each APPLET (only sh when none is named). Called again on the same
# DIR it adds links and leaves the busybox in place (a container may run it:
# overwriting a running program fails, ETXTBSY).
# Source it (tests/lib/busybox-root.sh) and call busybox_root, or run it as
# a program with the same arguments: inside a test host, where the
# repository is bound at the same path,
#   testhost_run "$here/lib/busybox-root.sh" /tmp/dr sh cat sleep
# A test that needs the static busybox says so first (testhost_require busybox).
# shellcheck shell=bash

busybox_root() { # DIR [APPLET...]
	local dir=$1 a
	shift
	mkdir -p "$dir/bin" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/tmp" &&
		chmod 1777 "$dir/tmp" || return 1
	[ -e "$dir/bin/busybox" ] || cp /bin/busybox "$dir/bin/busybox" || return 1
	[ $# -gt 0 ] || set -- sh
	for a in "$@"; do
		ln -sfn busybox "$dir/bin/$a" || return 1
	done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	if [ $# -lt 1 ]; then
		echo "usage: $0 DIR [APPLET...]" >&2
		exit 2
	fi
	busybox_root "$@"
fi
