#!/bin/bash
# libvirt LXC documents as Vivarium runs them (issue 19): our own documents in
# tests/lxcxml/, one per feature group, together using every element and
# attribute of libvirt's tests/lxcxml2xmldata/ (whose files we do not ship:
# tools/lxcxml-check runs those from a libvirt checkout). Through
# tools/lxcxml-check --expect, each document validates without an
# "ignoring" warning, is defined in a test host with the resources it names
# made by the tool, and starts and runs (init's stand-in reports the argv,
# user, group, directory and environment the document gives it) or fails
# at start with the error expected here; nothing is left running after it.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivctl busybox
testhost_require_tools python3 mkfs.ext4 qemu-img losetup ip

expect=$(mktemp /tmp/vt-lxcxml.XXXXXX)
trap 'rm -f "$expect"' EXIT
cat >"$expect" <<'EXPECT'
root-features.xml running
root-features.xml init argv=/sbin/init uid=0 gid=0 cwd=/ FOO=
init.xml running
init.xml init argv=/usr/lib/systemd/systemd --unit rescue.target uid=1000 gid=4321 cwd=/srv/work FOO=from-initenv
shared-root.xml running
ram.xml running
image-loop.xml running
image-loop.xml init argv=/sbin/init uid=0 gid=0 cwd=/ FOO=
hostdev.xml running
ethernet.xml running
ethernet-hostip.xml running
bridge.xml running
namespace.xml fails shares the uts namespace of container 'lx-root' (<shareuts>), which is not running
EXPECT
# qemu-nbd needs the kernel's nbd driver: without it the start says so
if [ -e /sys/module/nbd ]; then
	echo "image-nbd.xml running" >>"$expect"
else
	echo "image-nbd.xml fails this kernel has no nbd driver" >>"$expect"
fi

# Not exec: the EXIT trap removes $expect (an exec left one file in /tmp a run).
"$here/../tools/lxcxml-check" --build "$build" --expect "$expect" "$here/lxcxml"
exit $?
