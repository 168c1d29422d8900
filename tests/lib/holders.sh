# SPDX-License-Identifier: LGPL-2.1-or-later
# Who holds a block device that a test waits to see released (a loop device
# of an image, an nbd device): "#  " lines on stderr that explain a wait
# that timed out. Source it after testhost.sh and check.sh; its commands run
# in the current test host (testhost_run), and on this machine what only
# this machine sees (sysfs, the kernel's threads).
#   no_loop_of FILE, has_loop_of FILE
#                        no loop device / a loop device is attached to FILE
#                        (losetup -j in the test host; it reads /sys/block)
#   loop_released SECONDS FILE
#                        no loop device of FILE within SECONDS; else says what
#                        losetup -j printed, each of its loop devices' backing
#                        file and autoclear flag, dev_holders and d_state,
#                        and fails (the first line names the check by the
#                        number check gives it: stderr is logged apart)
#   dev_holders DEV      what holds block device DEV (loop5, nbd0): its
#                        number, its sysfs holders (dm, md), whether an ext4
#                        superblock of it is alive (/sys/fs/ext4/DEV: its
#                        filesystem is not gone yet), the processes with the
#                        device or a file of its filesystem open (an fd, a
#                        cwd, a root) and the mount namespaces that have it
#                        mounted: those of the test host (all its PID
#                        namespace's, the containers' included, with the PIDs
#                        the test host gives them) and those of this
#                        machine's own PID namespace (outside every test
#                        host: a udev's or blkid's open, say)
#   d_state              the processes of this machine in uninterruptible
#                        sleep (D), kernel threads included: this machine's
#                        PIDs, with the PIDs their namespaces give them
# shellcheck shell=bash disable=SC2154,SC2012 # $n is check.sh's; sysfs names are plain

no_loop_of() { [ -z "$(testhost_run losetup -n -O NAME -j "$1" 2>&1)" ]; }
has_loop_of() { [ -n "$(testhost_run losetup -n -O NAME -j "$1" 2>/dev/null)" ]; }

loop_released() { # SECONDS FILE
	wait_until "$1" no_loop_of "$2" && return 0
	local out dev
	echo "#  check $((n + 1)): $2 is still on a loop device after $1 s" >&2
	out=$(testhost_run losetup -n -O NAME -j "$2" 2>&1)
	echo "#  losetup -j $2: ${out//$'\n'/ }" >&2
	for dev in $out; do
		case $dev in /dev/loop[0-9]*) ;; *) continue ;; esac
		dev=${dev#/dev/}
		echo "#  $dev: backing file '$(cat "/sys/class/block/$dev/loop/backing_file" 2>&1)'," \
			"autoclear $(cat "/sys/class/block/$dev/loop/autoclear" 2>&1)" >&2
		dev_holders "$dev"
	done
	d_state
	return 1
}

dev_holders() { # DEV
	local majmin
	if ! majmin=$(cat "/sys/class/block/$1/dev" 2>/dev/null); then
		echo "#  $1: no such block device any more" >&2
		return 0
	fi
	echo "#  $1 ($majmin): holders '$(ls "/sys/class/block/$1/holders" 2>&1 | tr '\n' ' ')'," \
		"ext4 superblock $([ -e "/sys/fs/ext4/$1" ] && echo alive || echo gone)" >&2
	testhost_run timeout 60 sh -c "$holders__scan" sh "${majmin%:*}" "${majmin#*:}" all 2>&1 | head -n 40 |
		sed 's/^/#  in the test host: /' >&2
	timeout 60 sh -c "$holders__scan" sh "${majmin%:*}" "${majmin#*:}" own 2>&1 | head -n 40 |
		sed 's/^/#  on this machine: /' >&2
}

d_state() {
	local pid st wchan comm found=
	while read -r pid st wchan comm; do
		case $st in D*) ;; *) continue ;; esac
		found=1
		echo "#  in D state: $pid $st $wchan $comm (NSpid$(sed -n 's/^NSpid://p' "/proc/$pid/status" 2>/dev/null | tr -s '\t ' ' '))" >&2
	done < <(ps -eo pid=,stat=,wchan:32=,comm= 2>/dev/null)
	[ -n "$found" ] || echo "#  no process is in D state" >&2
}

# holders__scan MAJOR MINOR all|own, run by sh where /proc is the one to
# read: the processes (all of them, or only those of the scanning shell's PID
# namespace) with device MAJOR:MINOR open (its node's rdev: whatever the
# node's name, the helper opens some through a private node) or a file of a
# filesystem on it (st_dev: an fd, a mount fd, a cwd, a root), and the mount
# namespaces with a mount of it (mountinfo's third field), one line each.
# Under timeout: a stat of a file of a stuck filesystem would hang.
# shellcheck disable=SC2016 # expanded by that sh
holders__scan='
maj=$1 min=$2 which=$3
dev=$(( ((maj & 0xfff) << 8) | (min & 0xff) | ((min >> 8) << 20) ))
rdev=$(printf "%x:%x" "$maj" "$min")
self=$(readlink /proc/self/ns/pid)
ours() { [ "$which" = all ] || [ "$(readlink "/proc/$1/ns/pid" 2>/dev/null)" = "$self" ]; }
found=
hits=$(printf "%s\n" /proc/[0-9]*/fd/* /proc/[0-9]*/cwd /proc/[0-9]*/root |
	xargs stat -L -c "%n %d %t:%T" 2>/dev/null |
	awk -v dev="$dev" -v rdev="$rdev" "\$3 == rdev || \$2 == dev { print \$1, (\$3 == rdev ? \"device\" : \"file\") }")
while read -r path what; do
	[ -n "$path" ] || continue
	p=${path#/proc/}
	pid=${p%%/*}
	ours "$pid" || continue
	found=1
	if [ "$what" = device ]; then
		echo "PID $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) has the device open (${p#*/} -> $(readlink "$path"))"
	else
		echo "PID $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) has a file of its filesystem open (${p#*/} -> $(readlink "$path"))"
	fi
done <<EOF
$hits
EOF
mounts=$(awk -v d="$maj:$min" "\$3 == d { f = FILENAME; sub(\"^/proc/\", \"\", f); sub(\"/mountinfo\$\", \"\", f); print f, \$5 }" \
	/proc/[0-9]*/mountinfo 2>/dev/null |
	while read -r pid mp; do
		ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null) || ns="mnt:?"
		ours "$pid" && echo "$ns $mp $pid $(cat "/proc/$pid/comm" 2>/dev/null)"
	done | sort -k1,1 -k2,2 -k3,3n)
if [ -n "$mounts" ]; then
	found=1
	printf "%s\n" "$mounts" | awk "{
		k = \$1 \" \" \$2
		if (k != last) {
			if (last != \"\") print line
			line = \"mounted on \" \$2 \" in \" \$1 \", the mount namespace of PID \" \$3 \" (\" \$4 \")\"; n = 0; last = k
		} else if (\$3 == pid) next
		else if (++n < 8) line = line \" \" \$3
		else if (n == 8) line = line \" ...\"
		pid = \$3
	} END { print line }"
fi
[ -n "$found" ] || echo "no process has it or a file of it open, no mount namespace has it mounted"
'
