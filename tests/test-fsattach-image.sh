#!/bin/bash
# Live attach-device/detach-device of <filesystem type='ram'>, type='file'
# (<driver type='loop'>, a raw ext4 image) and type='block' (issue 19;
# libvirt's LXC driver attaches no filesystem live), in a test host through
# vivariumd, in the default user namespace (mode='pick') and with
# <vivarium:userns mode='off'/>:
#  - ram: a tmpfs of the given usage on the target, the container root's,
#    writable; detach unmounts it;
#  - file: the image's files inside, the container root's (idmapped in the
#    default mode), writable; after detach the loop device is released and
#    what the container wrote is in the image on the host; <readonly/>
#    refuses writes;
#  - block: a loop device of the test's, its filesystem mounted; after
#    detach the kernel holds no filesystem of it any more;
#  - refused live, nothing recorded or left: <driver type='nbd'>, a missing
#    image, an image without a filesystem (its loop device released);
#  - an image attached live is released on every way out: destroy, init
#    killed, the helper SIGKILLed.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd vivctl busybox
testhost_require_tools mkfs.ext4 debugfs losetup
[ -e /dev/loop-control ] || testhost_skip_or_fail "no /dev/loop-control on this machine"

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/sleep-domain.sh
. "$here/lib/sleep-domain.sh"
# shellcheck source=tests/lib/holders.sh
. "$here/lib/holders.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }
inside() { vivctl enter "$1" -- /bin/sh -c "$2" 2>&1; }
scope_gone() { ! in_host systemctl -q is-active "machine-$1.scope"; }
mounts_of() { inside "$1" 'cat /proc/1/mountinfo'; }
is_state() { [ "$(vivctl domstate "$1" 2>&1)" = "$2" ]; }
# the kernel has an ext4 filesystem of block device DEV (loopN) alive
ext4_alive() { in_host test -e "/proc/fs/ext4/$1"; }

work=$(mktemp -d /tmp/vt-fsattach-image.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

testhost_up "vt-fsai-$$" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

# The test host's /dev is a small tmpfs: the loop devices' nodes, as the
# machine's devtmpfs would have them (test-images.sh does the same).
in_host sh -c 'mknod -m 660 /dev/loop-control c 10 237
for i in $(seq 0 255); do mknod -m 660 /dev/loop$i b 7 $i; done' ||
	{ echo "not ok 1 - make the loop device nodes in the test host"; exit 1; }
# a busybox root on /tmp (tmpfs); the images on /srv (TESTHOST_TMPFS), with
# names of this run's: losetup -j matches paths of the whole machine
img=/srv/vt-fsai-$$
{ in_host "$here/lib/busybox-root.sh" /tmp/dr sh stat cat ls touch sleep grep mkdir df sync &&
	in_host sh -c '
set -e
mkdir -p /tmp/dr/mnt /tmp/data /tmp/blk
echo hello-image >/tmp/data/hello
echo hello-block >/tmp/blk/hello
mkfs.ext4 -q -F -d /tmp/data "$1-data.img" 8M
mkfs.ext4 -q -F -d /tmp/data "$1-ro.img" 8M
mkfs.ext4 -q -F -d /tmp/blk "$1-blk.img" 8M
truncate -s 8M "$1-empty.img"' sh "$img"; } || { echo "not ok 1 - make the root and the images in the test host"; exit 1; }
# the block device: a loop device on $img-blk.img, held open by a sleep of
# the test host's and already detached with losetup -d, so that the kernel
# detaches it when the last holder goes (the sleep, a mount of it). The
# shell opens it before losetup -d and the sleep inherits that open: opened
# by the sleep itself, it could come after losetup -d, which then detached
# the device at once; the sleep then held a free device, the helper's next
# loop device for the data image (the lowest free one), so that the data
# image was never released and /mnt/blk was the data image (once in CI).
blkdev=$(in_host sh -c 'd=$(losetup -f --show "$1-blk.img") || exit 1
exec 3<"$d" || exit 1
setsid sleep 100000 <&3 3<&- >/dev/null 2>&1 &
echo $! >/tmp/blk.holder
losetup -d "$d" && echo "$d"' sh "$img") || { echo "not ok 1 - attach the block device's loop"; exit 1; }
echo "# block device for type='block': $blkdev"
# block_seen NAME: the block device's file is seen on NAME's /mnt/blk; else
# what is there: which loop device the block device is, the test host's loop
# devices, the container's mounts on /mnt/blk and who holds the device
block_seen() {
	same "$(inside "$1" 'cat /mnt/blk/hello')" hello-block && return 0
	echo "#  check $((n + 1)): $1's /mnt/blk is not the block device's filesystem" >&2
	echo "#  the block device is $blkdev ($(cat "/sys/class/block/${blkdev#/dev/}/dev" 2>&1)), attached by the test to $img-blk.img;" \
		"its holder: $(in_host sh -c 'p=$(cat /tmp/blk.holder); echo "PID $p, $(readlink /proc/$p/fd/0 || echo gone)"' 2>&1)" >&2
	printf '%s\n' "$(in_host losetup -a 2>&1)" | sed 's/^/#  losetup -a: /; s/: $/: (none)/' >&2
	printf '%s\n' "$(inside "$1" 'grep " /mnt/blk " /proc/self/mountinfo')" |
		sed 's/^/#  its mountinfo: /; s/: $/: (no mount on \/mnt\/blk)/' >&2
	dev_holders "${blkdev#/dev/}"
	return 1
}

cat >"$work/ram.xml" <<XML
<filesystem type='ram'><source usage='8' units='MiB'/><target dir='/mnt/ram'/></filesystem>
XML
cat >"$work/file.xml" <<XML
<filesystem type='file' accessmode='passthrough'><driver type='loop' format='raw'/><source file='$img-data.img'/><target dir='/mnt/img'/></filesystem>
XML
cat >"$work/file-ro.xml" <<XML
<filesystem type='file'><driver type='loop'/><source file='$img-ro.img'/><target dir='/mnt/img-ro'/><readonly/></filesystem>
XML
cat >"$work/block.xml" <<XML
<filesystem type='block'><source dev='$blkdev'/><target dir='/mnt/blk'/></filesystem>
XML
cat >"$work/nbd.xml" <<XML
<filesystem type='file'><driver type='nbd' format='qcow2'/><source file='$img-data.img'/><target dir='/mnt/nbd'/></filesystem>
XML
cat >"$work/missing.xml" <<XML
<filesystem type='file'><driver type='loop'/><source file='$img-nope.img'/><target dir='/mnt/nope'/></filesystem>
XML
cat >"$work/empty.xml" <<XML
<filesystem type='file'><driver type='loop'/><source file='$img-empty.img'/><target dir='/mnt/empty'/></filesystem>
XML

for mode in pick off; do
	name=fai$mode
	echo "# $mode"
	sleep_domain $name $mode
	sleep_domain_up $name "$mode: starts"

	# --- ram
	out=$(vivctl attach-device $name "$work/ram.xml" --live 2>&1)
	check "$mode: attach-device --live of a <filesystem type='ram'> ($out)" same "$out" "Device attached successfully"
	check "$mode: ram: a tmpfs on the target" contains "$(mounts_of $name)" " /mnt/ram rw,nosuid,nodev"
	check "$mode: ram: of 8 MiB" same "$(inside $name 'echo $(($(stat -f -c %b /mnt/ram) * $(stat -f -c %S /mnt/ram)))')" 8388608
	check "$mode: ram: the container root's" same "$(inside $name 'stat -c %u:%g /mnt/ram')" "0:0"
	out=$(inside $name 'echo in-ram >/mnt/ram/x && cat /mnt/ram/x')
	check "$mode: ram: writable ($out)" same "$out" "in-ram"
	check "$mode: dumpxml shows it" contains "$(vivctl dumpxml $name 2>&1)" "<target dir='/mnt/ram'/>"
	out=$(vivctl detach-device $name "$work/ram.xml" --live 2>&1)
	check "$mode: ram: detach-device --live ($out)" same "$out" "Device detached successfully"
	check "$mode: ram: no mount on the target" lacks "$(mounts_of $name)" " /mnt/ram "
	check "$mode: ram: dumpxml forgets it" lacks "$(vivctl dumpxml $name 2>&1)" "/mnt/ram"

	# --- file, through a loop device
	out=$(vivctl attach-device $name "$work/file.xml" --live 2>&1)
	check "$mode: attach-device --live of a <filesystem type='file'> (loop) ($out)" same "$out" "Device attached successfully"
	check "$mode: file: the image's file is seen inside" same "$(inside $name 'cat /mnt/img/hello')" "hello-image"
	check "$mode: file: ... the container root's" same "$(inside $name 'stat -c %u:%g /mnt/img/hello')" "0:0"
	check "$mode: file: an ext4 mount on the target" contains "$(mounts_of $name)" " /mnt/img "
	check "$mode: file: on a loop device" has_loop_of "$img-data.img"
	out=$(inside $name "echo written-$mode >/mnt/img/new-$mode && cat /mnt/img/new-$mode")
	check "$mode: file: writable ($out)" same "$out" "written-$mode"
	out=$(vivctl attach-device $name "$work/file-ro.xml" --live 2>&1)
	check "$mode: file: another image, <readonly/> ($out)" same "$out" "Device attached successfully"
	check "$mode: file: ... readable" same "$(inside $name 'cat /mnt/img-ro/hello')" "hello-image"
	out=$(inside $name 'touch /mnt/img-ro/x 2>&1 || echo refused')
	check "$mode: file: ... not writable ($out)" contains "$out" "Read-only file system"
	out=$(vivctl detach-device $name "$work/file-ro.xml" --live 2>&1)
	check "$mode: file: ... detached ($out)" same "$out" "Device detached successfully"
	check "$mode: file: ... its loop device released" loop_released 60 "$img-ro.img"
	out=$(vivctl detach-device $name "$work/file.xml" --live 2>&1)
	check "$mode: file: detach-device --live ($out)" same "$out" "Device detached successfully"
	check "$mode: file: no mount on the target" lacks "$(mounts_of $name)" " /mnt/img "
	check "$mode: file: the loop device is released" loop_released 60 "$img-data.img"
	out=$(in_host debugfs -R "cat /new-$mode" "$img-data.img" 2>/dev/null)
	check "$mode: file: what the container wrote is in the image ($out)" same "$out" "written-$mode"
	uid=$(in_host debugfs -R "stat /new-$mode" "$img-data.img" 2>/dev/null | grep -o 'User: *[0-9]*' | grep -o '[0-9]*$')
	check "$mode: file: ... owned by root on disk (uid $uid)" same "$uid" 0

	# --- block: the test's loop device
	out=$(vivctl attach-device $name "$work/block.xml" --live 2>&1)
	check "$mode: attach-device --live of a <filesystem type='block'> ($out)" same "$out" "Device attached successfully"
	check "$mode: block: its file is seen inside" block_seen $name
	check "$mode: block: ... the container root's" same "$(inside $name 'stat -c %u:%g /mnt/blk/hello')" "0:0"
	check "$mode: block: the kernel has a filesystem of ${blkdev#/dev/}" ext4_alive "${blkdev#/dev/}"
	out=$(vivctl detach-device $name "$work/block.xml" --live 2>&1)
	check "$mode: block: detach-device --live ($out)" same "$out" "Device detached successfully"
	check "$mode: block: the kernel holds no filesystem of ${blkdev#/dev/} any more" \
		wait_until 60 not ext4_alive "${blkdev#/dev/}"

	# --- refused, nothing left
	out=$(vivctl attach-device $name "$work/nbd.xml" --live 2>&1)
	check "$mode: <driver type='nbd'> live: refused, saying so" contains "$out" \
		"Live attach of a <filesystem type='file'> with <driver type='nbd'> is not supported: use --config"
	out=$(vivctl attach-device $name "$work/missing.xml" --live 2>&1)
	check "$mode: a missing image: named" contains "$out" \
		"Failed to open image file '$img-nope.img' of container '$name': No such file or directory"
	out=$(vivctl attach-device $name "$work/empty.xml" --live 2>&1)
	check "$mode: an image without a filesystem: named" contains "$out" "no filesystem this kernel knows was found in it"
	check "$mode: ... its loop device released" loop_released 60 "$img-empty.img"
	xml=$(vivctl dumpxml $name 2>&1)
	check "$mode: none of them recorded" eval '[[ "$xml" != *nbd* && "$xml" != *nope* && "$xml" != *empty* ]]'
	check "$mode: ... nor mounted" eval '[[ "$(mounts_of $name)" != *" /mnt/n"* && "$(mounts_of $name)" != *" /mnt/empty "* ]]'

	# --- every way out releases an image attached live
	out=$(vivctl attach-device $name "$work/file.xml" --live 2>&1)
	check "$mode: attached again ($out)" has_loop_of "$img-data.img"
	vivctl destroy $name >/dev/null 2>&1
	check "$mode: destroy: no scope" wait_until 60 scope_gone $name
	check "$mode: destroy: the loop device is released" loop_released 60 "$img-data.img"
	if [ $mode = pick ]; then
		for how in init helper; do
			vivctl start $name >/dev/null 2>&1
			vivctl attach-device $name "$work/file.xml" --live >/dev/null 2>&1
			check "pick: $how: attached" has_loop_of "$img-data.img"
			if [ $how = init ]; then
				pid=$(in_host machinectl show $name -p Leader --value 2>/dev/null)
			else
				pid=$(vivctl domid $name 2>/dev/null | head -1)
			fi
			in_host kill -KILL "${pid:-0}"
			check "pick: $how killed: shut off" wait_until 120 is_state $name "shut off"
			check "pick: $how killed: the loop device is released" loop_released 60 "$img-data.img"
		done
	fi
	vivctl undefine $name >/dev/null 2>&1
done

echo "1..$n"
[ "$failures" -eq 0 ]
