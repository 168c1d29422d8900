#!/bin/bash
# Live attach-device/detach-device of <filesystem type='mount'> (issue 19),
# in a test host through vivariumd, in the default user namespace
# (mode='pick') and with <vivarium:userns mode='off'/>:
#  - --live: the host directory is mounted at the target inside (made when
#    missing), its files are owned by the container's root (idmapped in the
#    default mode), writable, and what the container writes is the host's
#    root's on disk; <readonly/> refuses writes; dumpxml shows it, the
#    definition does not; detach-device --live unmounts it (the files are
#    gone inside, the host's directory keeps them) and dumpxml forgets it;
#  - --config / --persistent: the definition gains and loses it; a start
#    mounts it; such a mount of the start is unmounted live with mode='off',
#    and refused saying why in the default mode (the kernel locks it in the
#    container's user namespace);
#  - a missing source, a target below a file, a root target, a detach of a
#    target nothing is mounted on: clear errors naming them, nothing mounted
#    or recorded;
#  - the mounts never reach the test host's own mount namespace, and a
#    destroy leaves none.
# Sources and the busybox root live on tmpfs (idmappable).
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl busybox

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/sleep-domain.sh
. "$here/lib/sleep-domain.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
inside() { vivctl enter "$1" -- /bin/sh -c "$2" 2>&1; }
scope_gone() { ! in_host systemctl -q is-active "machine-$1.scope"; }
# the mount table of the container's init, as the host sees it
mounts_of() { inside "$1" 'cat /proc/1/mountinfo'; }
host_has_mount() { in_host grep -q " $1 " /proc/1/mountinfo; }

work=$(mktemp -d /tmp/vt-fsattach.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-fsattach-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# a busybox root on /tmp (tmpfs); the sources on /srv (TESTHOST_TMPFS)
{ in_host "$here/lib/busybox-root.sh" /tmp/dr sh stat cat ls touch sleep grep mkdir &&
	in_host sh -c 'mkdir -p /tmp/dr/mnt /srv/fa
echo hello-from-the-host >/srv/fa/hello
chmod 755 /srv/fa'; } || { echo "not ok 1 - make the root and the source in the test host"; exit 1; }

fs_xml() { # FILE SOURCE TARGET [readonly]
	cat >"$work/$1" <<XML
<filesystem type='mount' accessmode='passthrough'>
  <source dir='$2'/>
  <target dir='$3'/>
  ${4:+<readonly/>}
</filesystem>
XML
}
fs_xml fa.xml /srv/fa /mnt/deep/fa
fs_xml fa-ro.xml /srv/fa /mnt/ro readonly
fs_xml nosource.xml /srv/nope /mnt/nope
fs_xml badtarget.xml /srv/fa /bin/busybox/fa
fs_xml root.xml /srv/fa /
fs_xml notmounted.xml /srv/fa /mnt/never

for mode in pick off; do
	name=fa$mode
	echo "# $mode"
	sleep_domain $name $mode
	sleep_domain_up $name "$mode: starts"

	out=$(vivctl attach-device $name "$work/fa.xml" --live 2>&1)
	check "$mode: attach-device --live of a <filesystem type='mount'> ($out)" same "$out" "Device attached successfully"
	check "$mode: the host's file is seen inside" same "$(inside $name 'cat /mnt/deep/fa/hello')" "hello-from-the-host"
	check "$mode: ... owned by the container's root" same "$(inside $name 'stat -c %u:%g /mnt/deep/fa/hello')" "0:0"
	check "$mode: the target made for it is the container root's" same "$(inside $name 'stat -c %u:%g /mnt/deep')" "0:0"
	out=$(inside $name 'echo made-inside >/mnt/deep/fa/new && echo written')
	check "$mode: writable ($out)" same "$out" "written"
	check "$mode: ... on the host's directory, owned by the host's root" same "$(in_host stat -c %u:%g:%s /srv/fa/new 2>&1)" "0:0:12"
	check "$mode: dumpxml shows it" contains "$(vivctl dumpxml $name 2>&1)" "<target dir='/mnt/deep/fa'/>"
	check "$mode: the definition does not (--live)" lacks "$(vivctl dumpxml $name --inactive 2>&1)" "/mnt/deep/fa"
	check "$mode: the test host's own mount namespace has no such mount" not host_has_mount /mnt/deep/fa

	out=$(vivctl attach-device $name "$work/fa-ro.xml" 2>&1)
	check "$mode: attach-device (--current: live) of a read-only one ($out)" same "$out" "Device attached successfully"
	check "$mode: ... readable" same "$(inside $name 'cat /mnt/ro/hello')" "hello-from-the-host"
	out=$(inside $name 'touch /mnt/ro/x 2>&1 || echo refused')
	check "$mode: ... not writable ($out)" contains "$out" "Read-only file system"
	check "$mode: ... no file made" not in_host test -e /srv/fa/x

	out=$(vivctl detach-device $name "$work/fa.xml" --live 2>&1)
	check "$mode: detach-device --live ($out)" same "$out" "Device detached successfully"
	check "$mode: the files are gone inside" same "$(inside $name 'ls -A /mnt/deep/fa')" ""
	check "$mode: ... no mount on the target" lacks "$(mounts_of $name)" " /mnt/deep/fa "
	check "$mode: ... the host keeps them" same "$(in_host cat /srv/fa/new 2>&1)" "made-inside"
	check "$mode: dumpxml forgets it" lacks "$(vivctl dumpxml $name 2>&1)" "/mnt/deep/fa"
	check "$mode: the read-only one stays" contains "$(mounts_of $name)" " /mnt/ro "

	out=$(vivctl attach-device $name "$work/nosource.xml" --live 2>&1)
	check "$mode: a missing source: named" contains "$out" \
		"Failed to open filesystem source '/srv/nope' for container '$name': No such file or directory"
	check "$mode: ... nothing recorded" lacks "$(vivctl dumpxml $name 2>&1)" "/srv/nope"
	check "$mode: ... nothing made inside" not quiet inside $name 'stat /mnt/nope'
	out=$(vivctl attach-device $name "$work/badtarget.xml" --live 2>&1)
	check "$mode: a target below a file: named" contains "$out" \
		"Failed to mount '/srv/fa' on '/bin/busybox/fa' in container '$name': Not a directory"
	check "$mode: ... nothing recorded" lacks "$(vivctl dumpxml $name 2>&1)" "/bin/busybox/fa"
	check "$mode: ... nothing mounted" lacks "$(mounts_of $name)" "/bin/busybox"
	out=$(vivctl attach-device $name "$work/root.xml" --live 2>&1)
	check "$mode: a root target: refused" contains "$out" "A root filesystem (target '/') cannot be attached or detached"
	out=$(vivctl detach-device $name "$work/notmounted.xml" --live 2>&1)
	check "$mode: detaching what is not attached: refused" contains "$out" "Container '$name' has no such device running"

	out=$(vivctl attach-device $name "$work/fa.xml" --config 2>&1)
	check "$mode: attach-device --config ($out)" same "$out" "Device attached successfully"
	check "$mode: --config: in the definition" contains "$(vivctl dumpxml $name --inactive 2>&1)" "<target dir='/mnt/deep/fa'/>"
	check "$mode: --config: not mounted" lacks "$(mounts_of $name)" " /mnt/deep/fa "
	vivctl destroy $name >/dev/null 2>&1
	check "$mode: destroy: no scope" wait_until 60 scope_gone $name
	check "$mode: ... no mount of the source left in the test host" not in_host sh -c 'grep -q " /mnt/ro " /proc/[0-9]*/mountinfo'
	out=$(vivctl start $name 2>&1)
	check "$mode: a start mounts the --config one ($out)" same "$(inside $name 'cat /mnt/deep/fa/new')" "made-inside"
	if [ $mode = pick ]; then
		# the user namespace's copy of the start's mounts is locked by the kernel
		out=$(vivctl detach-device $name "$work/fa.xml" --persistent 2>&1)
		check "pick: detach-device --persistent of a mount of the start: refused, saying why" contains "$out" \
			"Failed to unmount '/mnt/deep/fa' in container 'fapick': it was mounted at start, and the container's user namespace locks the mounts of its start"
		check "pick: ... still mounted" same "$(inside $name 'cat /mnt/deep/fa/hello')" "hello-from-the-host"
		check "pick: ... still in dumpxml" contains "$(vivctl dumpxml $name 2>&1)" "/mnt/deep/fa"
		check "pick: ... and in the definition" contains "$(vivctl dumpxml $name --inactive 2>&1)" "/mnt/deep/fa"
		out=$(vivctl detach-device $name "$work/fa.xml" --config 2>&1)
		check "pick: detach-device --config of it ($out)" same "$out" "Device detached successfully"
	else
		out=$(vivctl detach-device $name "$work/fa.xml" --persistent 2>&1)
		check "off: detach-device --persistent of a mount of the start ($out)" same "$out" "Device detached successfully"
		check "off: --persistent: unmounted" lacks "$(mounts_of $name)" " /mnt/deep/fa "
	fi
	check "$mode: gone from the definition" lacks "$(vivctl dumpxml $name --inactive 2>&1)" "/mnt/deep/fa"
	vivctl destroy $name >/dev/null 2>&1
	check "$mode: destroyed" wait_until 60 scope_gone $name
	out=$(vivctl attach-device $name "$work/fa.xml" --live 2>&1)
	check "$mode: --live on a stopped domain: refused" contains "$out" "is not running"
	vivctl undefine $name >/dev/null 2>&1
	in_host rm -f /srv/fa/new
done

echo "1..$n"
[ "$failures" -eq 0 ]
