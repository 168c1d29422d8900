# SPDX-License-Identifier: LGPL-2.1-or-later
# The kernel features a test may find missing without failing CI: the one list.
# shellcheck shell=bash
#
# Machines of the same kind run different kernel builds; some lack a feature
# that a test needs (one had no autofs at all: not in /proc/filesystems, no
# /dev/autofs, no module). Such a test cannot pass or fail there: it has
# nothing to act on. It calls
#
#   kernel_require FEATURE
#
# which returns when the running kernel has FEATURE, and otherwise prints
#
#   KERNEL-LACKS: FEATURE: how it was found missing
#
# and exits 77. tools/test counts such a skip apart ("1 skipped (kernel lacks:
# autofs)") and accepts it in CI only when FEATURE is listed here AND its check,
# run again by tools/test itself, still finds the kernel without it. Any other
# skip fails in CI. A feature is added to this list only with a check that
# proves its absence from the kernel (not from a package or a device node that
# a script could create).

KERNEL_FEATURES=(autofs nbd nf-egress)

# Each kernel_has_FEATURE returns 0 when the kernel has FEATURE, else prints
# why it is missing and returns 1.

# autofs: systemd's .automount units and the helper's autofs detach.
kernel_has_autofs() {
	grep -qw autofs /proc/filesystems && return 0
	if [ ! -e /proc/modules ]; then
		echo "'autofs' is not in /proc/filesystems and the kernel loads no modules (no /proc/modules; kernel $(uname -r))"
		return 1
	fi
	# built as a module that is not loaded yet; without modprobe nothing is
	# proved: the test runs (and fails) rather than skip on a guess
	command -v modprobe >/dev/null || return 0
	modprobe -q autofs4 2>/dev/null && grep -qw autofs /proc/filesystems && return 0
	echo "'autofs' is not in /proc/filesystems and 'modprobe autofs4' loads no module (kernel $(uname -r))"
	return 1
}

# nbd: <filesystem type='file'><driver type='nbd'/> (qemu-nbd serves the
# image on /dev/nbdN). Absent when the kernel has no nbd module loaded or
# built in (no /sys/module/nbd, which the kernel itself makes) and cannot
# load one.
kernel_has_nbd() {
	[ -d /sys/module/nbd ] && return 0
	if [ ! -e /proc/modules ]; then
		echo "no /sys/module/nbd and the kernel loads no modules (no /proc/modules; kernel $(uname -r))"
		return 1
	fi
	command -v modprobe >/dev/null || return 0
	modprobe -q nbd 2>/dev/null && [ -d /sys/module/nbd ] && return 0
	echo "no /sys/module/nbd and 'modprobe nbd' loads no module (kernel $(uname -r))"
	return 1
}

# nf-egress: nftables' netdev egress hook (CONFIG_NETFILTER_EGRESS), which
# <filterref> with DHCPSERVER or clean-traffic-gateway uses for what leaves
# the host side towards the container. Tried on lo of a network namespace of
# its own; only the kernel's "Operation not supported" proves its absence
# (any other failure, or no nft, proves nothing: the test runs).
kernel_has_nf-egress() {
	local out
	command -v nft >/dev/null && command -v unshare >/dev/null || return 0
	out=$(unshare -n nft -f - 2>&1 <<'NFT'
table netdev vt_egress_probe {
	chain c { type filter hook egress device "lo" priority 0; policy accept; }
}
NFT
) && return 0
	case $out in
	*"Operation not supported"*)
		echo "nft cannot add a netdev chain on the egress hook: Operation not supported (kernel $(uname -r))"
		return 1 ;;
	esac
	return 0
}

# kernel_lacks FEATURE: 0 (and the reason on stdout) when FEATURE is on the
# list and the kernel lacks it; 1 when the kernel has it; 2 when FEATURE is not
# on the list (a skip for it would not be accepted).
kernel_lacks() {
	local f=$1 why
	case " ${KERNEL_FEATURES[*]} " in
	*" $f "*) ;;
	*) echo "'$f' is not a listed kernel feature (tests/lib/kernel-features.sh)"; return 2 ;;
	esac
	why=$("kernel_has_$f") && return 1
	echo "$why"
	return 0
}

# kernel_require FEATURE: returns when the kernel has FEATURE, else prints the
# KERNEL-LACKS line and exits 77 (also when VIVARIUM_TESTS_MUST_RUN=1:
# tools/test decides whether the skip is accepted).
kernel_require() {
	local f=$1 why rc=0
	why=$(kernel_lacks "$f") || rc=$?
	case $rc in
	1) return 0 ;;
	0) echo "KERNEL-LACKS: $f: $why"; exit 77 ;;
	*) echo "FAIL: $why"; exit 1 ;;
	esac
}
