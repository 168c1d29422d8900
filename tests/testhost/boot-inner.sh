#!/bin/bash
# Part of the test host harness (testhost.sh): exec'd by "unshare --fork" as PID 1
# of fresh PID, mount, UTS, IPC and network namespaces; joins the host's cgroup
# subtree, unshares a cgroup namespace rooted there, builds the host's root and
# execs systemd, keeping its PID throughout.
#
# From testhost.sh, in the environment:
#   TH_NAME      host name (also the cgroup subtree's name)
#   TH_DIR       state directory on the machine: pid file, log, cgroups (the
#                machine's hierarchies, "MOUNTPOINT FSTYPE OPTIONS" lines), and
#                fs/, where this mount namespace mounts the host's tmpfs
#   TH_HOSTNAME  the host's hostname
#   TH_BINDS     newline-separated paths bound read-only at the same path inside
#   TH_CAPS      capabilities to drop from the bounding set (comma-separated)
#   TH_MASK      units to mask inside
#   TH_TRACE     if not empty, trace this script into the log (set -x)
#   TH_ENV       VAR=VALUE words for every unit (systemd.setenv=)
#   TH_TMPFS     directories that get a fresh tmpfs (space-separated)
set -euo pipefail
if [ -n "${TH_TRACE:-}" ]; then
	PS4='+ $EPOCHREALTIME '
	set -x
fi
say() { echo "boot-inner[$TH_NAME]: $*" >&2; }
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

if [ "${1:-}" != stage2 ]; then
	# /proc is still this machine's procfs: the first NSpid is our PID out
	# there. systemd will have it too (exec keeps the PID): the host's handle.
	while read -r key val _; do
		if [ "$key" = NSpid: ]; then
			echo "$val" >"$TH_DIR/pid"
			break
		fi
	done </proc/self/status
	# Into the host's subtree in every hierarchy, then a cgroup namespace
	# rooted there. Only this process (systemd-to-be) ever sits in the
	# subtree's root, which systemd leaves for init.scope: on cgroup v2 it can
	# then enable controllers below. (unshare, our parent, stays outside.)
	while read -r mp _; do
		echo 0 >"$mp/$TH_NAME/cgroup.procs"
	done <"$TH_DIR/cgroups"
	exec unshare --cgroup -- /bin/bash "${BASH_SOURCE[0]}" stage2
fi

# Root: an overlay of / whose upper layer is a tmpfs that only this mount
# namespace sees (it goes away with the host).
S=$TH_DIR/fs
R=$S/root
mount -t tmpfs -o mode=0700 "testhost-$TH_NAME" "$S"
mkdir "$S/upper" "$S/work" "$R"
mount -t overlay -o "lowerdir=/,upperdir=$S/upper,workdir=$S/work" "testhost-$TH_NAME" "$R"

# /proc of the new PID namespace; /proc/sys read-only but for the network part
# (per namespace), as in systemd-nspawn: sysctls elsewhere act on the machine.
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
# A bind of a read-only mount is read-only too: make the network part writable.
mount -o remount,bind,rw "$R/proc/sys/net"
if [ -e "$R/proc/sysrq-trigger" ]; then
	mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"
	mount -o remount,bind,ro "$R/proc/sysrq-trigger"
fi

# A sysfs of the new network namespace, read-only (udev and friends stay off),
# with the cgroup hierarchies mounted again inside the new cgroup namespace:
# otherwise systemd would see, and create its cgroups in, the machine's tree.
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
if grep -q '^/sys/fs/cgroup ' "$TH_DIR/cgroups"; then
	# Pure cgroup v2: /sys/fs/cgroup is the hierarchy itself.
	read -r _mp fstype opts < <(grep '^/sys/fs/cgroup ' "$TH_DIR/cgroups")
	mount -t "$fstype" -o "nosuid,nodev,noexec,$opts" "$fstype" "$R/sys/fs/cgroup"
else
	# Hybrid or legacy: a tmpfs with one mount per hierarchy (and the
	# machine's symlinks, e.g. cpu -> cpu,cpuacct).
	mount -t tmpfs -o mode=0755,nosuid,nodev,noexec tmpfs "$R/sys/fs/cgroup"
	links=()
	for e in /sys/fs/cgroup/*; do
		[ -L "$e" ] && links+=("$e")
	done
	if [ ${#links[@]} != 0 ]; then
		cp -P "${links[@]}" "$R/sys/fs/cgroup/"
	fi
	dirs=()
	while read -r mp _; do
		dirs+=("$R$mp")
	done <"$TH_DIR/cgroups"
	mkdir -p "${dirs[@]}"
	while read -r mp fstype opts; do
		mount -t "$fstype" -o "nosuid,nodev,noexec,$opts" "$fstype" "$R$mp"
	done <"$TH_DIR/cgroups"
	mount -o remount,ro,nosuid,nodev,noexec "$R/sys/fs/cgroup"
fi

# A /dev of its own: a few device nodes, its own devpts instance and shm.
# Nothing the host does there reaches the machine's /dev.
mount -t tmpfs -o mode=0755,nosuid "testhost-dev" "$R/dev"
nodes=()
for n in null zero full random urandom tty fd stdin stdout stderr fuse autofs; do
	if [ -e "/dev/$n" ] || [ -L "/dev/$n" ]; then
		nodes+=("/dev/$n")
	fi
done
cp -a "${nodes[@]}" "$R/dev/"
mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/net"
if [ -c /dev/net/tun ]; then
	cp -a /dev/net/tun "$R/dev/net/"
fi
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev "testhost-shm" "$R/dev/shm"
# The console is the launcher's log file: whatever writes there lands in it.
: >"$R/dev/console"
mount --bind "$TH_DIR/log" "$R/dev/console"

mount -t tmpfs -o mode=0755,nosuid,nodev "testhost-run" "$R/run"
mount -t tmpfs -o mode=1777,nosuid,nodev "testhost-tmp" "$R/tmp"
# Containers run in a user namespace by default, with idmapped roots and bind
# sources: the overlay cannot be idmapped, a tmpfs can.
for d in ${TH_TMPFS:-}; do
	mkdir -p "$R$d"
	mount -t tmpfs -o mode=0755 "testhost-tmpfs" "$R$d"
done

# The project's tree and build dir: the real files, bound read-only, so that
# what is written there after boot is seen at once. Through the overlay they
# would not be: a file replaced or created in the lower layer after the host
# looked it up stays stale or missing there.
while read -r b; do
	if [ -z "$b" ] || [ ! -d "$b" ]; then
		continue
	fi
	mkdir -p "$R$b"
	mount --rbind "$b" "$R$b"
	while read -r m; do
		mount -o remount,bind,ro "$m" || say "could not make $m read-only"
	done < <(findmnt -R -n -l -o TARGET --mountpoint "$R$b")
done <<<"$TH_BINDS"

# Host identity, written to the overlay's upper layer: systemd sets the
# hostname from /etc/hostname; a machine ID of its own.
echo "$TH_HOSTNAME" >"$R/etc/hostname"
read -r uuid </proc/sys/kernel/random/uuid
echo "${uuid//-/}" >"$R/etc/machine-id"

# Switch to the new root; the old one is stacked under it and detached.
cd "$R"
pivot_root . .
umount -l .
cd /

# PID 1's arguments are the kernel command line of a system in a container:
# systemd.mask= goes to systemd-debug-generator.
args=(--system --unit=basic.target)
for u in $TH_MASK; do
	args+=("systemd.mask=$u")
done
for e in ${TH_ENV:-}; do
	args+=("systemd.setenv=$e")
done
for s in /lib/systemd/systemd /usr/lib/systemd/systemd; do
	[ -x "$s" ] && break
done
exec env -i container=other PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	setpriv --bounding-set "-${TH_CAPS//,/,-}" -- "$s" "${args[@]}"
